// Gigabytes through the pipeline, on the real stack with a real worker process: a file of gigabytes and a folder
// of 10,000 files pass along a 3-node chain, every byte checked at the end by checksum, every node on its first
// attempt (Docker's own event log), while the worker's memory stays flat whatever the size.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import request from 'supertest';
import { dockerFromHost } from '../../src/docker/container-runner';
import { seedUser, seedWorkspace, startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { containerEvents, seedWorkflow } from '../support/engine';
import { sh, startRun, tasksOf, waitForRun } from '../support/runs';
import { stackEnv } from '../support/stack';
import { bundleFile, spawnWorker, stopWorker, workerEnv } from '../support/worker-process';

const SECRET_KEY = 'data-plane-test-secret-key-0123456789';
/** The big file's size; EMBOFLOW_DATA_PLANE_GIB lowers it on a machine without the disk for it. */
const BIG_GIB = Number(process.env.EMBOFLOW_DATA_PLANE_GIB ?? 4);
const MIB = 1024 * 1024;

let t: TestApp;
let worker: ChildProcess;
let docker: ReturnType<typeof dockerFromHost>;
let key: string;
let adminKey: string;
let scope: { workspaceId: string; projectId: string };

beforeAll(async () => {
  t = await startTestApp({ EMBOFLOW_SECRET_KEY: SECRET_KEY });
  worker = spawnWorker(
    workerEnv(t.config, { WORKFLOW_BUNDLE_PATH: await bundleFile(), EMBOFLOW_SECRET_KEY: SECRET_KEY }),
  );
  docker = dockerFromHost(t.config.DOCKER_HOST);
  scope = await seedWorkspace(t.db);
  key = (await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'editor' }])).apiKey;
  adminKey = (await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'admin' }])).apiKey;
}, 60_000);

afterAll(async () => {
  if (worker) await stopWorker(worker);
  await t?.close();
});

/** Peak resident memory of a process while `during` runs, sampled from /proc every 100 ms. */
async function peakRss<T>(
  pid: number,
  during: () => Promise<T>,
): Promise<{ result: T; peakBytes: number; samples: number }> {
  let peakBytes = 0;
  let samples = 0;
  const sample = () => {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (!m) return;
    samples++;
    peakBytes = Math.max(peakBytes, Number(m[1]) * 1024);
  };
  sample();
  const timer = setInterval(sample, 100);
  try {
    const result = await during();
    sample();
    return { result, peakBytes, samples };
  } finally {
    clearInterval(timer);
  }
}

const NODE = { memoryMb: 256, timeoutSeconds: 1800 };

/** a writes `mib` MiB of random bytes and their sha256, b passes both on, c checks every byte. */
async function bigFileChain(mib: number) {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh(
        'a',
        `head -c ${mib * MIB} /dev/urandom > /emboflow/outputs/big.bin && cd /emboflow/outputs && sha256sum big.bin > big.sha256`,
        {},
        NODE,
      ),
      sh('b', 'cp /emboflow/inputs/a/big.bin /emboflow/inputs/a/big.sha256 /emboflow/outputs/', {}, NODE),
      sh(
        'c',
        `cd /emboflow/inputs/b && sha256sum -c big.sha256 && echo '{"verified":true}' > /emboflow/outputs/result.json`,
        {},
        NODE,
      ),
    ],
    edges: [
      { source: 'a', target: 'b' },
      { source: 'b', target: 'c' },
    ],
  });
  const since = Math.floor(Date.now() / 1000) - 1;
  const started = Date.now();
  const {
    result: run,
    peakBytes,
    samples,
  } = await peakRss(worker.pid!, async () =>
    waitForRun(t.app, key, (await startRun(t.app, key, workflowId)).id, 30 * 60_000),
  );
  const seconds = (Date.now() - started) / 1000;
  return { run, peakBytes, samples, seconds, since };
}

async function expectFirstAttempts(runId: string, since: number, nodes: string[]) {
  const tasks = await tasksOf(t.app, key, runId);
  for (const n of nodes)
    expect({ node: n, status: tasks[n]!.status, attempt: tasks[n]!.attempt }).toEqual({
      node: n,
      status: 'success',
      attempt: 1,
    });
  expect((await containerEvents(docker, runId, since, 'start')).sort()).toEqual(nodes);
  return tasks;
}

test(
  `a ${BIG_GIB} GiB file passes a 3-node chain intact, in the worker's memory of a 256 MiB one`,
  async () => {
    const small = await bigFileChain(256);
    expect(small.run.status).toBe('success');
    await expectFirstAttempts(small.run.id, small.since, ['a', 'b', 'c']);

    const big = await bigFileChain(BIG_GIB * 1024);
    expect(big.run.status).toBe('success');
    const tasks = await expectFirstAttempts(big.run.id, big.since, ['a', 'b', 'c']);
    expect(tasks.c!.lastResultPreview).toEqual({ verified: true });

    // The checksum EmboFlow computed on the way up is the one the container computed itself.
    const artifacts = (
      await request(t.app).get(`/v1/runs/${big.run.id}/artifacts?nodeId=a`).set('Authorization', `Bearer ${key}`)
    ).body.items;
    const bin = artifacts.find((a: { path: string }) => a.path === 'big.bin');
    const sums = artifacts.find((a: { path: string }) => a.path === 'big.sha256');
    expect(bin.storageRef.size).toBe(BIG_GIB * 1024 * MIB);
    const own = (await t.store.getBuffer(sums.storageRef.key)).toString('utf8').split(/\s+/)[0];
    expect(bin.storageRef.checksum).toBe(`sha256:${own}`);

    const mb = (b: number) => Math.round(b / MIB);
    console.log(
      `data plane: 256 MiB chain ${small.seconds.toFixed(1)} s, worker peak RSS ${mb(small.peakBytes)} MiB (${small.samples} samples); ` +
        `${BIG_GIB} GiB chain ${big.seconds.toFixed(1)} s (${mb((3 * BIG_GIB * 1024 * MIB) / big.seconds)} MB/s through 3 hops), worker peak RSS ${mb(big.peakBytes)} MiB (${big.samples} samples)`,
    );
    expect(small.samples).toBeGreaterThan(10);
    expect(big.samples).toBeGreaterThan(10);
    expect(big.peakBytes).toBeLessThanOrEqual(small.peakBytes * 1.15);
  },
  45 * 60_000,
);

test(
  'a folder of 10,000 files passes a 3-node chain, every file checked by checksum at the end',
  async () => {
    const { workflowId } = await seedWorkflow(t.db, scope, {
      nodes: [
        sh(
          'a',
          'mkdir -p /emboflow/outputs/f && cd /emboflow/outputs && i=0; while [ $i -lt 10000 ]; do echo "episode $i" > f/$i.txt; i=$((i+1)); done; sha256sum f/* > sums.txt',
          {},
          NODE,
        ),
        sh('b', 'cp -r /emboflow/inputs/a/. /emboflow/outputs/', {}, NODE),
        sh(
          'c',
          `cd /emboflow/inputs/b && sha256sum -c sums.txt > /dev/null && [ "$(ls f | wc -l)" -eq 10000 ] && echo '{"files":10000}' > /emboflow/outputs/result.json`,
          {},
          NODE,
        ),
      ],
      edges: [
        { source: 'a', target: 'b' },
        { source: 'b', target: 'c' },
      ],
    });
    const since = Math.floor(Date.now() / 1000) - 1;
    const started = Date.now();
    const run = await waitForRun(t.app, key, (await startRun(t.app, key, workflowId)).id, 20 * 60_000);
    expect(run.status).toBe('success');
    const tasks = await expectFirstAttempts(run.id, since, ['a', 'b', 'c']);
    expect(tasks.c!.lastResultPreview).toEqual({ files: 10000 });
    // Too many to list in workflow history: a manifest carried them, and every one is an artifact.
    expect(tasks.a!.outputManifest).toMatchObject({ count: 10001 });
    expect(tasks.a!.outputArtifactIds).toHaveLength(10001);
    console.log(`data plane: 10,000 files through 3 nodes in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  },
  25 * 60_000,
);

test(
  'a 2 GiB asset uploaded through the API (streamed, never whole) is staged to a node that checks every byte',
  async () => {
    const size = 2 * 1024 * MIB;
    const server = t.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    const chunk = randomBytes(MIB);
    let left = size / MIB;
    const body = new Readable({
      read() {
        this.push(left-- > 0 ? chunk : null);
      },
    });
    const started = Date.now();
    const uploaded = await new Promise<{
      status: number;
      body: { id: string; storageRef: { checksum: string; size: number } };
    }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `/v1/projects/${scope.projectId}/assets/upload?displayName=episode.bin`,
          headers: {
            Authorization: `Bearer ${key}`,
            'Content-Type': 'application/octet-stream',
            'Content-Length': String(size),
          },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(parts).toString()) }));
        },
      );
      req.on('error', reject);
      pipeline(body, req).catch(reject);
    });
    server.close();
    const uploadSeconds = (Date.now() - started) / 1000;
    expect(uploaded.status).toBe(201);
    expect(uploaded.body.storageRef.size).toBe(size);
    const { workflowId } = await seedWorkflow(t.db, scope, {
      nodes: [
        sh('check', 'sha256sum /emboflow/assets/*/episode.bin | cut -d" " -f1 > /emboflow/outputs/sum.txt', {}, NODE),
      ],
      edges: [],
    });
    const run = await waitForRun(
      t.app,
      key,
      (await startRun(t.app, key, workflowId, { inputBindings: [{ kind: 'asset', id: uploaded.body.id }] })).id,
      20 * 60_000,
    );
    expect(run.status).toBe('success');
    const sum = (await request(t.app).get(`/v1/runs/${run.id}/artifacts`).set('Authorization', `Bearer ${key}`)).body
      .items[0];
    // The container's own hash of what it was given is the one the API computed while the bytes streamed in.
    expect(`sha256:${(await t.store.getBuffer(sum.storageRef.key)).toString('utf8').trim()}`).toBe(
      uploaded.body.storageRef.checksum,
    );
    console.log(
      `data plane: 2 GiB upload through the API in ${uploadSeconds.toFixed(1)} s, then staged and checked by a node`,
    );
  },
  30 * 60_000,
);

test('outputs over maxOutputBytes fail the node with the size, leaving no artifact and no object behind', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh(
        'big',
        // It prints a line, so that its log is stored: the listing below must find that and nothing else.
        `echo writing two files; head -c ${MIB} /dev/zero > /emboflow/outputs/a.bin && head -c ${MIB} /dev/zero > /emboflow/outputs/b.bin`,
        { retry: { maxAttempts: 2, initialIntervalMs: 100 } },
        { maxOutputBytes: MIB + 1 },
      ),
    ],
    edges: [],
  });
  const run = await waitForRun(t.app, key, (await startRun(t.app, key, workflowId)).id, 120_000);
  expect(run.status).toBe('failed');
  const tasks = await tasksOf(t.app, key, run.id);
  // Not retried: the same command would write the same bytes.
  expect(tasks.big).toMatchObject({ status: 'failed', attempt: 1 });
  expect(tasks.big!.errorMessage).toMatch(
    new RegExp(`^outputs exceed maxOutputBytes \\(${MIB + 1} bytes\\): (a|b)\\.bin brought them past it$`),
  );
  expect(
    (await request(t.app).get(`/v1/runs/${run.id}/artifacts`).set('Authorization', `Bearer ${key}`)).body.items,
  ).toEqual([]);
  const left: string[] = [];
  for await (const o of t.store.listObjects(`runs/${run.id}/big/`)) left.push(o.key);
  // Only the attempt's log is kept; the output written before the limit was taken back.
  expect(left.filter((k) => !k.endsWith('/log.txt'))).toEqual([]);
  expect(left.some((k) => k.endsWith('/log.txt'))).toBe(true);
});

describe("an asset in a workspace's own bucket, read through its storage connection", () => {
  const env = stackEnv();
  const tenant = {
    bucket: env.EMBOFLOW_TENANT_S3_BUCKET!,
    accessKeyId: env.EMBOFLOW_TENANT_S3_ACCESS_KEY_ID!,
    secretAccessKey: env.EMBOFLOW_TENANT_S3_SECRET_ACCESS_KEY!,
  };
  const content = `episode bytes ${Date.now()}\n`;
  const objectKey = `episodes/${Date.now()}/ep.bin`;

  beforeAll(async () => {
    // Written with the tenant's own credentials: the platform's never touch this bucket at run time.
    const s3 = new S3Client({
      endpoint: t.config.S3_ENDPOINT,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: tenant,
    });
    await s3.send(new CreateBucketCommand({ Bucket: tenant.bucket })).catch(() => undefined);
    await s3.send(new PutObjectCommand({ Bucket: tenant.bucket, Key: objectKey, Body: content }));
    s3.destroy();
  });

  async function runOnConnectionAsset(secret: string) {
    const connection = await request(t.app)
      .post(`/v1/workspaces/${scope.workspaceId}/storage-connections`)
      .set('Authorization', `Bearer ${adminKey}`)
      .send({
        type: 'object_storage',
        provider: 's3',
        name: `tenant ${Date.now()}`,
        config: { bucket: tenant.bucket },
        secret,
      });
    expect(connection.status).toBe(201);
    const asset = await request(t.app)
      .post(`/v1/projects/${scope.projectId}/assets`)
      .set('Authorization', `Bearer ${key}`)
      .send({
        type: 'raw_file',
        displayName: 'ep.bin',
        storageConnectionId: connection.body.id,
        storageRef: { bucket: tenant.bucket, key: objectKey, size: Buffer.byteLength(content) },
      });
    expect(asset.status).toBe(201);
    const { workflowId } = await seedWorkflow(t.db, scope, {
      nodes: [
        sh(
          'read',
          'cat /emboflow/assets/*/ep.bin > /emboflow/outputs/copy.bin && grep -c "\\"dir\\": \\"/emboflow/assets/" /emboflow/context.json',
        ),
      ],
      edges: [],
    });
    const run = await waitForRun(
      t.app,
      key,
      (await startRun(t.app, key, workflowId, { inputBindings: [{ kind: 'asset', id: asset.body.id }] })).id,
      120_000,
    );
    return { run, tasks: await tasksOf(t.app, key, run.id) };
  }

  test('with its credentials, the bytes reach the container read-only and context.json says where', async () => {
    const { run, tasks } = await runOnConnectionAsset(
      JSON.stringify({ accessKeyId: tenant.accessKeyId, secretAccessKey: tenant.secretAccessKey }),
    );
    expect(run.status).toBe('success');
    const copy = (await request(t.app).get(`/v1/runs/${run.id}/artifacts`).set('Authorization', `Bearer ${key}`)).body
      .items[0];
    expect((await t.store.getBuffer(copy.storageRef.key)).toString('utf8')).toBe(content);
    expect(tasks.read!.logLines).toEqual(['1']);
  });

  test('with wrong credentials, the task fails with the storage refusal and no artifact is recorded', async () => {
    const { run, tasks } = await runOnConnectionAsset(
      JSON.stringify({ accessKeyId: tenant.accessKeyId, secretAccessKey: 'wrong-secret' }),
    );
    expect(run.status).toBe('failed');
    expect(tasks.read!.errorMessage).toMatch(
      /^staging inputs: object storage refused the read \(SignatureDoesNotMatch\)/,
    );
    expect(tasks.read!.attempt).toBe(1);
    expect(
      (await request(t.app).get(`/v1/runs/${run.id}/artifacts`).set('Authorization', `Bearer ${key}`)).body.items,
    ).toEqual([]);
    // The secret never shows: not in the task, not in the run.
    expect(JSON.stringify(tasks)).not.toContain('wrong-secret');
  });
});
