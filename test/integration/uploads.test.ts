// Uploads of any size, on the real stack: the simple upload streams (the API's memory does not grow with the file),
// a checksum that does not match leaves nothing behind, and resumable uploads take parts in any order, again if need
// be, complete once into one asset whose bytes are the declared ones, and stay within their tenant.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { connectDatabase } from '../../src/db/mongo';
import type { Database } from '../../src/db/mongo';
import { sweepAbandonedUploads } from '../../src/services/asset-uploads';
import { PART_BYTES } from '../../src/storage/object-store';
import { seedUser, seedWorkspace } from '../support/app';
import { testConfig } from '../support/stack';
import { workerEnv } from '../support/worker-process';
import { seedTenant, startPlatformApp } from './helpers/platform';
import type { PlatformApp, Tenant } from './helpers/platform';

const MiB = 1024 * 1024;
const REPO = join(__dirname, '..', '..');

let t: PlatformApp;
let A: Tenant;
let B: Tenant;

beforeAll(async () => {
  t = await startPlatformApp();
  A = await seedTenant(t, 'alpha');
  B = await seedTenant(t, 'beta');
});

afterAll(async () => {
  await t?.close();
});

// ---- bytes of any size, without holding them: an AES-CTR keystream, readable from any 16-byte-aligned offset ----

/** `length` pseudo-random bytes starting at `start` of the stream named `seed`, generated a MiB at a time. */
function bytesAt(seed: number, start: number, length: number): Readable {
  const key = createHash('sha256').update(`seed-${seed}`).digest().subarray(0, 16);
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(start / 16), 8);
  const cipher = createCipheriv('aes-128-ctr', key, iv);
  const zeros = Buffer.alloc(MiB);
  return Readable.from(
    (function* () {
      for (let sent = 0; sent < length; sent += MiB)
        yield cipher.update(zeros.subarray(0, Math.min(MiB, length - sent)));
    })(),
  );
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

const checksumOf = (seed: number, size: number) => sha256Of(bytesAt(seed, 0, size));

interface Answer {
  status: number;
  body: any;
}

/** One request through node:http, its body streamed (never buffered here either). */
function send(
  url: string,
  apiKey: string,
  method: string,
  path: string,
  opts: { body?: Readable | Buffer; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), {
      method,
      headers: { Authorization: `Bearer ${apiKey}`, ...opts.headers },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined });
      });
    });
    if (opts.body instanceof Readable) pipeline(opts.body, req).catch(reject);
    else req.end(opts.body);
  });
}

const OCTETS = { 'Content-Type': 'application/octet-stream' };

function uploadSimple(
  url: string,
  apiKey: string,
  projectId: string,
  name: string,
  body: Readable | Buffer,
  headers: Record<string, string>,
) {
  return send(url, apiKey, 'POST', `/v1/projects/${projectId}/assets/upload?displayName=${name}`, {
    body,
    headers: { ...OCTETS, ...headers },
  });
}

const putPart = (
  tenant: Tenant,
  uploadId: string,
  n: number | string,
  body: Readable | Buffer,
  length: number,
  role: 'editor' | 'viewer' = 'editor',
) =>
  send(t.url, tenant.as[role].apiKey, 'PUT', `/v1/asset-uploads/${uploadId}/parts/${n}`, {
    body,
    headers: { ...OCTETS, 'Content-Length': String(length) },
  });

const createUpload = (tenant: Tenant, body: Record<string, unknown>) =>
  tenant.as.editor.post(`/v1/projects/${tenant.projectId}/asset-uploads`, body);

/** Every object under the project's asset prefix. */
async function storedUnder(tenant: Tenant): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of t.store.listObjects(`workspaces/${tenant.workspaceId}/projects/${tenant.projectId}/assets/`))
    keys.push(o.key);
  return keys;
}

const assetsNamed = (name: string) => t.db.collection('assets').countDocuments({ displayName: name });

// ---- the simple upload -------------------------------------------------------------------------------------------

describe('the simple upload streams', () => {
  let api: ChildProcess | undefined;
  let database: Database | undefined;

  afterAll(async () => {
    if (api && api.exitCode === null) {
      const exited = new Promise((r) => api!.once('exit', r));
      api.kill('SIGTERM');
      await exited;
    }
    await database?.db.dropDatabase().catch(() => undefined);
    await database?.close();
  });

  async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await new Promise((r) => server.close(r));
    return port;
  }

  /** The API's resident memory, as the kernel counts it. */
  const rss = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

  it('200 MiB through a real API process, whose memory grows by a fraction of that', async () => {
    // The API as it runs in production (src/cli/api.ts), alone in its process so its RSS is the upload's cost.
    const config = testConfig();
    database = await connectDatabase(config);
    const scope = await seedWorkspace(database.db, 'rss');
    const { apiKey } = await seedUser(database.db, [{ workspaceId: scope.workspaceId, role: 'editor' }]);
    const port = await freePort();
    api = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src', 'cli', 'api.ts')], {
      cwd: REPO,
      env: workerEnv(config, { PORT: String(port), EMBOFLOW_TOOLS_IMAGE: config.EMBOFLOW_TOOLS_IMAGE }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    api.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const up = await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (i > 150 || api.exitCode !== null) throw new Error(`the API did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }

    const idle = rss(api.pid!);
    // Warm up the paths an upload takes (S3 client, multipart), so the baseline holds the code, not the bytes.
    const warm = await uploadSimple(url, apiKey, scope.projectId, 'warm.bin', bytesAt(9, 0, 40 * MiB), {
      'Content-Length': String(40 * MiB),
    });
    expect(warm.status).toBe(201);
    await new Promise((r) => setTimeout(r, 1000));
    const baseline = rss(api.pid!);

    const size = 200 * MiB;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rss(api!.pid!));
    }, 20);
    const started = Date.now();
    const res = await uploadSimple(url, apiKey, scope.projectId, 'big.bin', bytesAt(1, 0, size), {
      'Content-Length': String(size),
    });
    const took = Date.now() - started;
    clearInterval(sampler);
    const growth = peak - baseline;
    const mib = (n: number) => `${(n / MiB).toFixed(0)} MiB`;
    console.log(
      `simple upload of ${mib(size)} in ${(took / 1000).toFixed(1)}s: API RSS ${mib(idle)} idle, ${mib(baseline)} after a 40 MiB warm-up, peak ${mib(peak)} during; growth ${mib(growth)} over the warm baseline, ${mib(peak - idle)} over idle`,
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ sourceType: 'upload', sizeBytes: size, storageRef: { size } });
    expect(res.body.storageRef.checksum).toBe(await checksumOf(1, size));
    // putStream holds a part in flight while the next fills, and joins the filling one into a copy: three 16 MiB
    // parts, whatever the file's size. (From idle, the first upload also loads the S3 code paths, and freed buffers
    // stay resident: that is what the warm-up takes out of the figure.)
    expect(growth).toBeLessThan(4 * PART_BYTES);
    expect(await sha256Of((await t.store.getStream(res.body.storageRef.key)).body)).toBe(res.body.storageRef.checksum);
  });

  it('keeps the bytes and records the asset when X-Checksum matches', async () => {
    const size = 3 * MiB + 5;
    const checksum = await checksumOf(2, size);
    const res = await uploadSimple(t.url, A.as.editor.apiKey, A.projectId, 'ok.bin', bytesAt(2, 0, size), {
      'Content-Length': String(size),
      'X-Checksum': checksum,
    });
    expect(res.status).toBe(201);
    expect(res.body.storageRef).toMatchObject({ checksum, size });
  });

  it.each([
    ['one request to storage', 3 * MiB],
    ['a multipart upload to storage', 40 * MiB],
  ])('a body that does not match X-Checksum (%s) is a 400 naming it, and leaves nothing', async (_what, size) => {
    const before = await storedUnder(A);
    const name = `mismatch-${size}.bin`;
    const res = await uploadSimple(t.url, A.as.editor.apiKey, A.projectId, name, bytesAt(3, 0, size), {
      'Content-Length': String(size),
      'X-Checksum': await checksumOf(4, size),
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([expect.objectContaining({ field: 'x-checksum' })]);
    expect(await assetsNamed(name)).toBe(0);
    expect(await storedUnder(A)).toEqual(before);
  });

  it('refuses a malformed X-Checksum, an empty body and a declared length over the limit, before storing anything', async () => {
    const before = await storedUnder(A);
    const bad = await uploadSimple(t.url, A.as.editor.apiKey, A.projectId, 'x.bin', Buffer.from('abc'), {
      'X-Checksum': 'md5:abc',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].field).toBe('headers.x-checksum');
    const empty = await uploadSimple(t.url, A.as.editor.apiKey, A.projectId, 'x.bin', Buffer.alloc(0), {});
    expect(empty.status).toBe(400);
    // A claimed 200 GiB: answered from the headers alone; the test never sends a byte of it.
    const huge = await new Promise<Answer>((resolve, reject) => {
      const req = request(new URL(`/v1/projects/${A.projectId}/assets/upload?displayName=huge.bin`, t.url), {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${A.as.editor.apiKey}`,
          ...OCTETS,
          'Content-Length': String(200 * 1024 * MiB),
        },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode!, body: JSON.parse(text) });
        });
      });
      req.flushHeaders();
    });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('payload_too_large');
    expect(await storedUnder(A)).toEqual(before);
  });
});

// ---- resumable uploads -------------------------------------------------------------------------------------------

describe('resumable uploads', () => {
  const PART = 5 * MiB;
  const SIZE = 2 * PART + 2 * MiB + 123;

  it('takes parts in any order and again, shows which are done, and completes once into the declared file', async () => {
    const checksum = await checksumOf(10, SIZE);
    const created = await createUpload(A, {
      displayName: 'episode.mcap',
      type: 'raw_file',
      sizeBytes: SIZE,
      checksum,
      partSizeBytes: PART,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      status: 'uploading',
      partSizeBytes: PART,
      partCount: 3,
      partsDone: [],
      sizeBytes: SIZE,
    });
    expect(new Date(created.body.expiresAt).getTime()).toBeGreaterThan(Date.now() + 6 * 24 * 3600 * 1000);
    expect(created.body.s3UploadId).toBeUndefined();
    const id = created.body.id as string;

    const last = SIZE - 2 * PART;
    expect((await putPart(A, id, 3, bytesAt(10, 2 * PART, last), last)).body).toEqual({
      partNumber: 3,
      sizeBytes: last,
    });
    // Part 1 first with the wrong bytes (another file's), then again with the right ones: the second replaces it.
    expect((await putPart(A, id, 1, bytesAt(11, 0, PART), PART)).status).toBe(200);
    const midway = await A.as.viewer.get(`/v1/asset-uploads/${id}`);
    expect(midway.status).toBe(200);
    expect(midway.body).toMatchObject({ status: 'uploading', partsDone: [1, 3], bytesDone: PART + last });
    expect((await putPart(A, id, 1, bytesAt(10, 0, PART), PART)).status).toBe(200);
    expect((await putPart(A, id, 2, bytesAt(10, PART, PART), PART)).status).toBe(200);

    const done = await A.as.editor.post(`/v1/asset-uploads/${id}/complete`);
    expect(done.status).toBe(201);
    expect(done.body).toMatchObject({
      type: 'raw_file',
      sourceType: 'upload',
      displayName: 'episode.mcap',
      sizeBytes: SIZE,
      detectedFormats: ['mcap'],
      storageRef: { kind: 'object', checksum, size: SIZE },
    });
    expect(await sha256Of((await t.store.getStream(done.body.storageRef.key)).body)).toBe(checksum);

    const again = await A.as.editor.post(`/v1/asset-uploads/${id}/complete`);
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(done.body.id);
    expect(await t.db.collection('assets').countDocuments({ _id: done.body.id })).toBe(1);
    expect(await t.db.collection('audit_logs').countDocuments({ resourceId: done.body.id, action: 'upload' })).toBe(1);
    expect((await A.as.viewer.get(`/v1/asset-uploads/${id}`)).body).toMatchObject({
      status: 'completed',
      assetId: done.body.id,
    });
    // Over: no more parts, and no abort of bytes that are an asset now.
    expect((await putPart(A, id, 1, bytesAt(10, 0, PART), PART)).status).toBe(409);
    expect((await A.as.editor.delete(`/v1/asset-uploads/${id}`)).status).toBe(409);
  });

  it('a file that does not hash to the declared checksum is a 400 naming checksum; nothing recorded or kept', async () => {
    const size = PART + 10;
    const created = await createUpload(A, {
      displayName: 'liar.bin',
      sizeBytes: size,
      checksum: await checksumOf(21, size),
      partSizeBytes: PART,
    });
    const id = created.body.id as string;
    await putPart(A, id, 1, bytesAt(20, 0, PART), PART);
    await putPart(A, id, 2, bytesAt(20, PART, 10), 10);
    const before = await storedUnder(A);
    const res = await A.as.editor.post(`/v1/asset-uploads/${id}/complete`);
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([expect.objectContaining({ field: 'checksum' })]);
    expect(await assetsNamed('liar.bin')).toBe(0);
    expect(await storedUnder(A)).toEqual(before);
    const upload = await t.db.collection('asset_uploads').findOne({ _id: id as never });
    expect(upload).toMatchObject({ status: 'failed' });
    expect(await t.store.stat(upload!.key)).toBeUndefined();
    expect((await A.as.editor.post(`/v1/asset-uploads/${id}/complete`)).status).toBe(409);
  });

  it('refuses parts of the wrong size or number, naming the header or field, and incomplete uploads', async () => {
    const created = await createUpload(A, {
      displayName: 'sizes.bin',
      sizeBytes: SIZE,
      checksum: await checksumOf(30, SIZE),
      partSizeBytes: PART,
    });
    const id = created.body.id as string;
    const short = await putPart(A, id, 1, bytesAt(30, 0, PART - 1), PART - 1);
    expect(short.status).toBe(400);
    expect(short.body.error.details[0].field).toBe('content-length');
    const lastTooBig = await putPart(A, id, 3, bytesAt(30, 0, PART), PART);
    expect(lastTooBig.body.error.details[0].field).toBe('content-length');
    const beyond = await putPart(A, id, 4, Buffer.from('x'), 1);
    expect(beyond.status).toBe(400);
    expect(beyond.body.error.details[0].field).toBe('partNumber');
    for (const n of ['0', '10001', 'x']) {
      const res = await putPart(A, id, n, Buffer.from('x'), 1);
      expect({ n, status: res.status, field: res.body.error.details[0].field }).toEqual({
        n,
        status: 400,
        field: 'params.partNumber',
      });
    }
    // Chunked, so no Content-Length: S3 must know a part's size before its bytes.
    const chunked = await send(t.url, A.as.editor.apiKey, 'PUT', `/v1/asset-uploads/${id}/parts/1`, {
      body: bytesAt(30, 0, PART),
      headers: OCTETS,
    });
    expect(chunked.status).toBe(400);
    expect(chunked.body.error.details[0].field).toBe('headers.content-length');
    const json = await A.as.editor
      .call('put', `/v1/asset-uploads/${id}/parts/1`)
      .set('Content-Type', 'application/json')
      .send('{}');
    expect(json.status).toBe(415);
    expect((await A.as.viewer.get(`/v1/asset-uploads/${id}`)).body.partsDone).toEqual([]);

    await putPart(A, id, 2, bytesAt(30, PART, PART), PART);
    const incomplete = await A.as.editor.post(`/v1/asset-uploads/${id}/complete`);
    expect(incomplete.status).toBe(409);
    expect(incomplete.body.error.message).toContain('2 of 3 part(s) are not uploaded: 1, 3');
  });

  it.each([
    [{ partSizeBytes: 5 * MiB - 1 }, 'body.partSizeBytes'],
    [{ partSizeBytes: 5 * 1024 * MiB + 1 }, 'body.partSizeBytes'],
    [{ sizeBytes: 10_001 * 5 * MiB, partSizeBytes: 5 * MiB }, 'body.partSizeBytes'],
    [{ sizeBytes: 0 }, 'body.sizeBytes'],
    [{ checksum: 'sha256:XYZ' }, 'body.checksum'],
    [{ type: 'folder' }, 'body.type'],
  ])('refuses a create with %j, naming %s, and writes nothing', async (change, field) => {
    const before = await t.db.collection('asset_uploads').countDocuments();
    const res = await createUpload(A, {
      displayName: 'bad.bin',
      sizeBytes: 10,
      checksum: `sha256:${'a'.repeat(64)}`,
      ...change,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(await t.db.collection('asset_uploads').countDocuments()).toBe(before);
  });

  it("is another tenant's 404 and a viewer's read-only", async () => {
    const created = await createUpload(A, {
      displayName: 'private.bin',
      sizeBytes: 10,
      checksum: await checksumOf(40, 10),
    });
    expect(created.body).toMatchObject({ partCount: 1, partSizeBytes: 64 * MiB });
    const id = created.body.id as string;
    const theirs = B.as.owner;
    expect((await theirs.get(`/v1/asset-uploads/${id}`)).status).toBe(404);
    expect((await putPart(B, id, 1, Buffer.alloc(10), 10)).status).toBe(404);
    expect((await theirs.post(`/v1/asset-uploads/${id}/complete`)).status).toBe(404);
    expect((await theirs.delete(`/v1/asset-uploads/${id}`)).status).toBe(404);
    const valid = { displayName: 'planted.bin', sizeBytes: 10, checksum: await checksumOf(40, 10) };
    expect((await theirs.post(`/v1/projects/${A.projectId}/asset-uploads`, valid)).status).toBe(404);

    expect((await putPart(A, id, 1, Buffer.alloc(10), 10, 'viewer')).status).toBe(403);
    expect((await A.as.viewer.post(`/v1/asset-uploads/${id}/complete`)).status).toBe(403);
    expect((await A.as.viewer.delete(`/v1/asset-uploads/${id}`)).status).toBe(403);
    expect((await A.as.viewer.post(`/v1/projects/${A.projectId}/asset-uploads`, valid)).status).toBe(403);
    expect((await A.as.viewer.get(`/v1/asset-uploads/${id}`)).body.partsDone).toEqual([]);
  });

  it('aborting drops the parts and ends the upload; aborting again answers the same', async () => {
    const created = await createUpload(A, {
      displayName: 'gone.bin',
      sizeBytes: SIZE,
      checksum: await checksumOf(50, SIZE),
      partSizeBytes: PART,
    });
    const id = created.body.id as string;
    await putPart(A, id, 1, bytesAt(50, 0, PART), PART);
    const upload = (await t.db.collection('asset_uploads').findOne({ _id: id as never }))!;
    expect(await t.store.listParts(upload.key, upload.s3UploadId)).toHaveLength(1);
    const aborted = await A.as.editor.delete(`/v1/asset-uploads/${id}`);
    expect(aborted.status).toBe(200);
    expect(aborted.body).toMatchObject({ id, status: 'aborted' });
    await expect(t.store.listParts(upload.key, upload.s3UploadId)).rejects.toThrow(/no multipart upload/);
    expect((await A.as.editor.delete(`/v1/asset-uploads/${id}`)).body.status).toBe('aborted');
    expect((await putPart(A, id, 2, bytesAt(50, PART, PART), PART)).status).toBe(409);
    expect((await A.as.editor.post(`/v1/asset-uploads/${id}/complete`)).status).toBe(409);
  });

  it('the worker sweep ends uploads abandoned past their expiry and drops their parts', async () => {
    const created = await createUpload(A, {
      displayName: 'left.bin',
      sizeBytes: SIZE,
      checksum: await checksumOf(60, SIZE),
      partSizeBytes: PART,
    });
    const id = created.body.id as string;
    await putPart(A, id, 1, bytesAt(60, 0, PART), PART);
    const upload = (await t.db.collection('asset_uploads').findOne({ _id: id as never }))!;
    expect(await sweepAbandonedUploads(t.db, t.store, new Date())).toBe(0);
    const later = new Date(upload.expiresAt.getTime() + 1000);
    expect(await sweepAbandonedUploads(t.db, t.store, later)).toBeGreaterThanOrEqual(1);
    expect((await A.as.viewer.get(`/v1/asset-uploads/${id}`)).body.status).toBe('expired');
    await expect(t.store.listParts(upload.key, upload.s3UploadId)).rejects.toThrow(/no multipart upload/);
    expect((await putPart(A, id, 2, bytesAt(60, PART, PART), PART)).status).toBe(409);
  });

  it('the OpenAPI document describes every upload route with its headers, sizes and patterns', async () => {
    const { paths } = (await A.as.viewer.get('/openapi.json')).body;
    expect(Object.keys(paths['/v1/asset-uploads/{uploadId}']).sort()).toEqual(['delete', 'get']);
    expect(Object.keys(paths['/v1/asset-uploads/{uploadId}/complete'])).toEqual(['post']);
    const create = paths['/v1/projects/{projectId}/asset-uploads'].post.requestBody.content['application/json'].schema;
    expect(create.properties.partSizeBytes).toMatchObject({
      minimum: 5 * MiB,
      maximum: 5 * 1024 * MiB,
      default: 64 * MiB,
    });
    expect(create.properties.checksum.pattern).toBe('^sha256:[0-9a-f]{64}$');
    expect(create.required).toEqual(expect.arrayContaining(['displayName', 'sizeBytes', 'checksum']));
    const put = paths['/v1/asset-uploads/{uploadId}/parts/{partNumber}'].put;
    expect(put.requestBody.content['application/octet-stream'].schema).toEqual({ type: 'string', format: 'binary' });
    expect(put.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: 'partNumber',
          in: 'path',
          schema: expect.objectContaining({ pattern: expect.any(String) }),
        }),
        expect.objectContaining({ name: 'content-length', in: 'header', required: true }),
      ]),
    );
    const simple = paths['/v1/projects/{projectId}/assets/upload'].post;
    expect(simple.requestBody.content['application/octet-stream']).toBeDefined();
    expect(simple.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: 'x-checksum',
          in: 'header',
          required: false,
          schema: expect.objectContaining({ pattern: '^sha256:[0-9a-f]{64}$' }),
        }),
      ]),
    );
  });
});

// ---- 2 GiB ---------------------------------------------------------------------------------------------------------

describe('a 2 GiB file', () => {
  it('goes up as 32 parts of 64 MiB, two at a time, and becomes an asset with its size and checksum', async () => {
    const size = 2 * 1024 * MiB;
    const part = 64 * MiB;
    const hashStarted = Date.now();
    const checksum = await checksumOf(70, size);
    const hashMs = Date.now() - hashStarted;
    // This process runs the API in-process (and the client): its RSS bounds what the parts cost the API.
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 50);
    const started = Date.now();
    const created = await createUpload(A, { displayName: 'two-gib.bin', sizeBytes: size, checksum });
    expect(created.body).toMatchObject({ partCount: 32, partSizeBytes: part });
    const id = created.body.id as string;
    let next = 1;
    await Promise.all(
      [0, 1].map(async () => {
        while (next <= 32) {
          const n = next++;
          const res = await putPart(A, id, n, bytesAt(70, (n - 1) * part, part), part);
          if (res.status !== 200) throw new Error(`part ${n}: ${res.status} ${JSON.stringify(res.body)}`);
        }
      }),
    );
    const partsMs = Date.now() - started;
    const done = await A.as.editor.post(`/v1/asset-uploads/${id}/complete`);
    const totalMs = Date.now() - started;
    clearInterval(sampler);
    console.log(
      `2 GiB resumable upload: parts in ${(partsMs / 1000).toFixed(1)}s, complete (join + verify) in ${((totalMs - partsMs) / 1000).toFixed(1)}s, total ${(totalMs / 1000).toFixed(1)}s (local hashing of the source ${(hashMs / 1000).toFixed(1)}s); test process (API and client) RSS grew ${((rssPeak - rssBefore) / MiB).toFixed(0)} MiB at peak`,
    );
    expect(done.status).toBe(201);
    expect(done.body).toMatchObject({ sizeBytes: size, storageRef: { checksum, size } });
    expect((await t.store.stat(done.body.storageRef.key))?.size).toBe(size);
    // Parts stream from the request to storage: two parts in flight cost far less than one part each.
    expect(rssPeak - rssBefore).toBeLessThan(2 * part);
  }, 600_000);
});
