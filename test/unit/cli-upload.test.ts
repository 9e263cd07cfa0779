import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { painter, stripAnsi } from '../../src/cli/emboflow/format';
import type { Io } from '../../src/cli/emboflow/io';
import { main } from '../../src/cli/emboflow/main';
import {
  createTransferDisplay,
  formatBytes,
  LOG_EVERY_MS,
  renderTransferLine,
  renderTransferLog,
} from '../../src/cli/emboflow/transfer';
import { hashFile, partRange, uploadFile } from '../../src/cli/emboflow/upload';
import type { UploadEvents, UploadView } from '../../src/cli/emboflow/upload';
import { ApiClient } from '../../src/client/api-client';

const MiB = 1024 * 1024;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'emboflow-upload-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file of `size` bytes whose content depends on the position, so a misplaced slice shows. */
function file(name: string, size: number): { path: string; bytes: Buffer; checksum: string } {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) bytes.writeUInt32LE(i >>> 0, i);
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { path, bytes, checksum: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

interface Call {
  method: string;
  path: string;
  headers: Record<string, string>;
  json?: unknown;
  bytes?: Buffer;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** A client whose requests are answered by `answer`; every request (with its streamed body, read whole) is kept. */
function fakeApi(
  answer: (c: Call, i: number) => Response | Promise<Response>,
  client = new ApiClient('http://api.test', 'efk_x'),
) {
  const calls: Call[] = [];
  const spy = jest.spyOn(client, 'raw').mockImplementation(async (method, path, body, headers = {}) => {
    const call: Call = { method, path, headers };
    if (body instanceof Readable) {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      call.bytes = Buffer.concat(chunks);
    } else if (body !== undefined) call.json = body;
    calls.push(call);
    return answer(call, calls.length - 1);
  });
  return { client, calls, spy };
}

/** Records the stages, and the progress each one last reported. */
function events(): UploadEvents & { log: string[]; last: (label: string) => number | undefined } {
  const log: string[] = [];
  const done = new Map<string, number>();
  let current = '';
  return {
    log,
    last: (label) => done.get(label),
    phase: (label, total, from = 0) => {
      log.push(`${label} ${total} from ${from}`);
      current = label;
      done.set(label, from);
    },
    progress: (n) => void done.set(current, n),
    opened: (id) => void log.push(`opened ${id}`),
    sleep: async (ms) => void log.push(`sleep ${ms}`),
  };
}

const upload = (over: Partial<UploadView> = {}): UploadView => ({
  id: 'upl_1',
  status: 'uploading',
  sizeBytes: 11 * MiB,
  checksum: '',
  partSizeBytes: 5 * MiB,
  partCount: 3,
  partsDone: [],
  bytesDone: 0,
  ...over,
});

const asset = { id: 'ast_1', displayName: 'x', type: 'raw_file', sizeBytes: 1 };

describe('formatBytes and the progress lines', () => {
  test.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.50 KiB'],
    [64 * MiB, '64.0 MiB'],
    [200 * MiB, '200 MiB'],
    [2 * 1024 * MiB, '2.00 GiB'],
  ])('%i bytes read %s', (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });

  test('a terminal line: bar, percent, amounts, rate and time left, cut to the width', () => {
    const state = { label: 'uploading', done: 512 * MiB, total: 2048 * MiB, base: 0, elapsedMs: 4000 };
    const line = renderTransferLine(state, 120, painter(false));
    expect(line).toBe(`uploading  ${'█'.repeat(6)}${'░'.repeat(18)}   25%  512 MiB / 2.00 GiB  128 MiB/s  12.0s left`);
    expect(stripAnsi(renderTransferLine(state, 120, painter(true)))).toBe(line);
    expect([...renderTransferLine(state, 30, painter(true))].length).toBe(30);
  });

  test('a resumed upload measures its rate on the bytes moved since it started', () => {
    const state = { label: 'uploading', done: 600 * MiB, total: 1000 * MiB, base: 500 * MiB, elapsedMs: 1000 };
    expect(renderTransferLine(state, 200, painter(false))).toContain('100 MiB/s  4.0s left');
  });

  test('work of unknown size shows a moving block and the time it has taken', () => {
    const line = renderTransferLine(
      { label: 'verifying', done: 0, total: 0, base: 0, elapsedMs: 3200 },
      80,
      painter(false),
      2,
    );
    expect(line).toBe(`verifying  ░░█${'░'.repeat(21)}  3.2s`);
  });

  test('a log line has the time, the amounts and the rate', () => {
    const s = { label: 'hashing', done: 50 * MiB, total: 200 * MiB, base: 0, elapsedMs: 1000 };
    expect(renderTransferLog(s, new Date('2025-01-01T12:00:05Z'))).toBe(
      '12:00:05 hashing 50.0 MiB of 200 MiB (25%), 50.0 MiB/s',
    );
  });

  test('off a terminal: a line when a stage starts, every few seconds, and when it ends; nothing on stdout', () => {
    const stderr: string[] = [];
    const stdout: string[] = [];
    let now = Date.parse('2025-01-01T12:00:00Z');
    const io = {
      stdout: { write: (t: string) => stdout.push(t) },
      stderr: { write: (t: string) => stderr.push(t), isTTY: false },
      env: {},
    } as unknown as Io;
    const d = createTransferDisplay(io, { now: () => now });
    d.phase('uploading', 100 * MiB);
    for (let i = 1; i <= 100; i++) {
      now += 200;
      d.update(i * MiB);
    }
    d.phase('verifying', 0);
    now += 1500;
    d.stop();
    expect(stdout).toEqual([]);
    // 20 s of uploading: the start, one line per LOG_EVERY_MS, the end; then verifying starts (and is not redrawn).
    expect(stderr.length).toBe(2 + (100 * 200) / LOG_EVERY_MS);
    expect(stderr[0]).toBe('12:00:00 uploading 0 B of 100 MiB (0%)\n');
    expect(stderr.at(-2)).toBe('12:00:20 uploading 100 MiB of 100 MiB (100%), 5.00 MiB/s\n');
    expect(stderr.at(-1)).toBe('12:00:20 verifying for 0ms\n');
  });

  test('on a terminal: one line redrawn in place per stage, and the cursor left on a fresh line', () => {
    const stderr: string[] = [];
    const io = {
      stdout: { write: () => undefined },
      stderr: { write: (t: string) => stderr.push(t), isTTY: true, columns: 100 },
      env: { NO_COLOR: '1' },
    } as unknown as Io;
    const d = createTransferDisplay(io);
    d.phase('hashing', 10);
    d.update(10);
    d.phase('uploading', 10);
    d.stop();
    const text = stderr.join('');
    expect(text.startsWith('\r\x1b[2Khashing')).toBe(true);
    expect(text).toContain('100%  10 B / 10 B\n\r\x1b[2Kuploading');
    expect(text.endsWith('\n')).toBe(true);
  });
});

describe('reading the file', () => {
  test('parts: each the part size, the last what is left; end inclusive', () => {
    expect(partRange(11 * MiB, 5 * MiB, 1)).toEqual({ start: 0, end: 5 * MiB - 1, length: 5 * MiB });
    expect(partRange(11 * MiB, 5 * MiB, 3)).toEqual({ start: 10 * MiB, end: 11 * MiB - 1, length: MiB });
    expect(partRange(10 * MiB, 5 * MiB, 2)).toEqual({ start: 5 * MiB, end: 10 * MiB - 1, length: 5 * MiB });
  });

  test('the sha256 of a file, with progress as it is read', async () => {
    const f = file('hash.bin', 3 * MiB + 7);
    const seen: number[] = [];
    expect(await hashFile(f.path, (n) => seen.push(n))).toBe(f.checksum);
    expect(seen.at(-1)).toBe(3 * MiB + 7);
    expect(seen.length).toBeGreaterThan(1);
  });
});

describe('uploadFile', () => {
  test('a file of up to one part goes in one request, with its length and checksum', async () => {
    const f = file('small.h5', 5 * MiB);
    const api = fakeApi(() => json(201, asset));
    const ev = events();
    const request = { file: f.path, displayName: 'small.h5', type: 'hdf5_dataset', projectId: 'prj_1', parallel: 3 };
    await uploadFile(api.client, { ...request, partSizeBytes: 5 * MiB }, ev);
    expect(api.calls).toHaveLength(1);
    expect(api.calls[0]).toMatchObject({
      method: 'POST',
      path: '/v1/projects/prj_1/assets/upload?displayName=small.h5&type=hdf5_dataset',
      headers: { 'Content-Length': String(5 * MiB), 'X-Checksum': f.checksum },
    });
    expect(api.calls[0]!.bytes!.equals(f.bytes)).toBe(true);
    expect(ev.log).toEqual([`hashing ${5 * MiB} from 0`, `uploading ${5 * MiB} from 0`]);
    expect(ev.last('uploading')).toBe(5 * MiB);
  });

  test('a bigger file: create, every part with its slice of the file, complete', async () => {
    const f = file('big.bin', 11 * MiB);
    const api = fakeApi((c) => {
      if (c.path.endsWith('/asset-uploads')) return json(201, upload({ checksum: f.checksum }));
      if (c.method === 'PUT') return json(200, {});
      return json(201, asset);
    });
    const ev = events();
    const got = await uploadFile(
      api.client,
      {
        file: f.path,
        displayName: 'big.bin',
        type: 'raw_file',
        projectId: 'prj_1',
        partSizeBytes: 5 * MiB,
        parallel: 2,
      },
      ev,
    );
    expect(got.id).toBe('ast_1');
    expect(api.calls[0]).toMatchObject({
      method: 'POST',
      path: '/v1/projects/prj_1/asset-uploads',
      json: {
        displayName: 'big.bin',
        type: 'raw_file',
        sizeBytes: 11 * MiB,
        checksum: f.checksum,
        partSizeBytes: 5 * MiB,
      },
    });
    const parts = api.calls.filter((c) => c.method === 'PUT').sort((a, b) => a.path.localeCompare(b.path));
    expect(parts.map((p) => p.path)).toEqual([1, 2, 3].map((n) => `/v1/asset-uploads/upl_1/parts/${n}`));
    for (const [i, p] of parts.entries()) {
      const { length } = partRange(11 * MiB, 5 * MiB, i + 1);
      expect(p.headers['Content-Length']).toBe(String(length));
      expect(p.bytes!.equals(f.bytes.subarray(i * 5 * MiB, i * 5 * MiB + length))).toBe(true);
    }
    expect(api.calls.at(-1)).toMatchObject({ method: 'POST', path: '/v1/asset-uploads/upl_1/complete' });
    expect(ev.log).toEqual([
      `hashing ${11 * MiB} from 0`,
      'opened upl_1',
      `uploading ${11 * MiB} from 0`,
      'verifying 0 from 0',
    ]);
  });

  test('resuming sends only the parts the API lacks, and counts the others as done', async () => {
    const f = file('resume.bin', 11 * MiB);
    const api = fakeApi((c) => {
      if (c.method === 'GET') return json(200, upload({ checksum: f.checksum, partsDone: [1, 3], bytesDone: 6 * MiB }));
      if (c.method === 'PUT') return json(200, {});
      return json(201, asset);
    });
    const ev = events();
    await uploadFile(
      api.client,
      {
        file: f.path,
        displayName: 'resume.bin',
        type: 'raw_file',
        partSizeBytes: 64 * MiB,
        parallel: 3,
        resumeId: 'upl_1',
      },
      ev,
    );
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'GET /v1/asset-uploads/upl_1',
      'PUT /v1/asset-uploads/upl_1/parts/2',
      'POST /v1/asset-uploads/upl_1/complete',
    ]);
    expect(api.calls[1]!.bytes!.equals(f.bytes.subarray(5 * MiB, 10 * MiB))).toBe(true);
    expect(ev.log).toContain(`uploading ${11 * MiB} from ${6 * MiB}`);
  });

  test('resuming with another file, or an upload that is over, is refused before any byte is sent', async () => {
    const f = file('other.bin', 11 * MiB);
    const base = {
      file: f.path,
      displayName: 'o',
      type: 'raw_file',
      partSizeBytes: 5 * MiB,
      parallel: 1,
      resumeId: 'upl_1',
    };
    const other = fakeApi(() => json(200, upload({ checksum: `sha256:${'0'.repeat(64)}` })));
    await expect(uploadFile(other.client, base, events())).rejects.toMatchObject({ exitCode: 2 });
    const over = fakeApi(() => json(200, upload({ checksum: f.checksum, status: 'completed' })));
    await expect(uploadFile(over.client, base, events())).rejects.toMatchObject({ exitCode: 6 });
    expect([...other.calls, ...over.calls].every((c) => c.method === 'GET')).toBe(true);
  });

  test('a part the API could not take (503) is sent again; a refused one (400) is not', async () => {
    const f = file('retry.bin', 6 * MiB);
    let failures = 1;
    const flaky = fakeApi((c) => {
      if (c.path.endsWith('/asset-uploads')) return json(201, upload({ checksum: f.checksum, partCount: 2 }));
      if (c.path.endsWith('/parts/2') && failures-- > 0)
        return json(503, { error: { code: 'unavailable', message: 'busy' } });
      if (c.method === 'PUT') return json(200, {});
      return json(201, asset);
    });
    const ev = events();
    const request = {
      file: f.path,
      displayName: 'r',
      type: 'raw_file',
      projectId: 'prj_1',
      partSizeBytes: 5 * MiB,
      parallel: 1,
    };
    await uploadFile(flaky.client, request, ev);
    expect(flaky.calls.filter((c) => c.path.endsWith('/parts/2'))).toHaveLength(2);
    expect(ev.log).toContain('sleep 1000');
    // The failed attempt's bytes were taken back off the progress: it ends at the file's size, not beyond.
    expect(ev.last('uploading')).toBe(6 * MiB);

    const refused = fakeApi((c) => {
      if (c.path.endsWith('/asset-uploads')) return json(201, upload({ checksum: f.checksum, partCount: 2 }));
      return json(400, { error: { code: 'validation_failed', message: 'content-length: wrong' } });
    });
    await expect(uploadFile(refused.client, request, events())).rejects.toMatchObject({ status: 400 });
    expect(refused.calls.filter((c) => c.method === 'PUT')).toHaveLength(1);
  });
});

describe('emboflow assets upload', () => {
  function io(env: Record<string, string> = {}) {
    const out = { stdout: '', stderr: '' };
    const value: Io = {
      stdout: { write: (t: string) => (out.stdout += t) },
      stderr: { write: (t: string) => (out.stderr += t) },
      env: { EMBOFLOW_API_URL: 'http://api.test', EMBOFLOW_API_KEY: 'efk_test', ...env },
      homeDir: dir,
      readStdin: async () => '',
      onInterrupt: () => () => undefined,
    };
    return { io: value, out };
  }

  afterEach(() => jest.restoreAllMocks());

  test('prints the asset; progress goes to stderr', async () => {
    const f = file('cmd.bin', 1000);
    jest.spyOn(ApiClient.prototype, 'raw').mockImplementation(async (_method, _path, body) => {
      for await (const _chunk of body as Readable);
      return json(201, { ...asset, sizeBytes: 1000, storageRef: { checksum: f.checksum } });
    });
    const { io: cli, out } = io();
    expect(await main(['assets', 'upload', f.path, '--project', 'prj_1', '--name', 'episode.bin'], cli)).toBe(0);
    expect(out.stdout).toContain('asset:     ast_1');
    expect(out.stdout).toContain(`checksum:  ${f.checksum}`);
    expect(out.stderr).toMatch(/uploading 1000 B of 1000 B \(100%\)/);
  });

  test('a transfer that breaks off after the upload opened says how to resume it', async () => {
    const f = file('cut.bin', 6 * MiB);
    jest.spyOn(ApiClient.prototype, 'raw').mockImplementation(async (method, path) => {
      if (path.endsWith('/asset-uploads'))
        return json(201, upload({ id: 'upl_9', checksum: f.checksum, partCount: 2 }));
      throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET', message: 'socket hang up' } });
    });
    const { io: cli, out } = io();
    const code = await main(
      ['assets', 'upload', f.path, '--project', 'prj_1', '--part-size', '5', '--parallel', '1'],
      cli,
    );
    expect(code).toBe(7);
    expect(out.stderr).toContain(`resume with: emboflow assets upload ${f.path} --resume upl_9 --project prj_1`);
  });

  test('usage: a project or an upload to resume is needed, and parts are 5 MiB to 5 GiB', async () => {
    const { io: cli, out } = io();
    expect(await main(['assets', 'upload', 'x.bin'], cli)).toBe(2);
    expect(await main(['assets', 'upload', 'x.bin', '--project', 'p', '--part-size', '4'], cli)).toBe(2);
    expect(await main(['assets', 'upload', 'x.bin', '--project', 'p', '--part-size', '5121'], cli)).toBe(2);
    expect(out.stderr).toContain('--project is required');
  });
});
