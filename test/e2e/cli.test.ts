// The emboflow CLI driven as a person would: `node bin/emboflow.js ...` processes against the real API, Temporal
// workers and containers, with exit codes asserted; the live display is read off a real terminal (tmux).
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedUser, seedWorkspace, startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { startEngine } from '../support/engine';
import type { Engine } from '../support/engine';
import { TOOLS_IMAGE } from '../support/runs';

const BIN = join(__dirname, '..', '..', 'bin', 'emboflow.js');

let t: TestApp;
let engine: Engine;
let server: Server;
let apiUrl: string;
let apiKey: string;
let userId: string;
let scope: { workspaceId: string; projectId: string };
let home: string;
const configDir = () => join(home, 'emboflow-config');

beforeAll(async () => {
  t = await startTestApp();
  engine = await startEngine(t);
  scope = await seedWorkspace(t.db);
  ({ apiKey, userId } = await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'editor' }]));
  server = createServer(t.app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  home = mkdtempSync(join(tmpdir(), 'emboflow-cli-e2e-'));
});
afterAll(async () => {
  server?.closeAllConnections();
  server?.close();
  await engine?.stop();
  await t?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment a person's shell would give the CLI: no API settings unless a test adds them. */
function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, EMBOFLOW_CONFIG_DIR: configDir(), NO_COLOR: '1', ...extra };
}

/** Starts `emboflow args...`; `output()` reads what it printed so far. */
function start(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: home, env: cliEnv(opts.env) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(opts.stdin ?? '');
  const done = new Promise<Result>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { done, output: () => stdout };
}

const cli = (args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}) => start(args, opts).done;

/** The CLI's --json answer, failing the test with its stderr when it did not exit 0. */
async function cliJson<T = any>(args: string[]): Promise<T> {
  const r = await cli([...args, '--json']);
  if (r.code !== 0) throw new Error(`emboflow ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

async function until<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
  detail: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${detail() ? `; so far:\n${detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Writes a workflow file the way a person would, and answers its path. */
function workflowFile(name: string, body: string): string {
  const file = join(home, name);
  writeFileSync(file, body);
  return file;
}

const node = (id: string, script: string) => `    - id: ${id}
      executorType: docker
      cache: {enabled: false}
      executorConfig:
        image: ${TOOLS_IMAGE}
        memoryMb: 64
        command: [sh, -c, '${script}']
`;

let pipelineId: string | undefined;

function pipelineFile(): string {
  return workflowFile(
    'pipeline.yaml',
    `# Three containers in a row, written by hand.
name: CLI pipeline
slug: cli-pipeline
description: fetch, double, report
project: ${scope.projectId}
runtimeGraph:
  nodes:
${node('fetch', 'echo fetching; sleep 1; echo 21 > /emboflow/outputs/n.txt')}${node('double', 'n=$(cat /emboflow/inputs/fetch/n.txt); echo "doubling $n"; sleep 3; echo $((n * 2)) > /emboflow/outputs/n.txt')}    - id: report
      executorType: docker
      cache: {enabled: false}
      executorConfig:
        image: ${TOOLS_IMAGE}
        memoryMb: 64
        command:
          - sh
          - -c
          - |
            echo "result: $(cat /emboflow/inputs/double/n.txt)"
            echo "done" >&2
  edges:
    - {source: fetch, target: double}
    - source: double
      target: report
`,
  );
}

/** A test run alone (jest -t) logs in and applies the pipeline first; in a full run the earlier tests did. */
async function loggedIn(): Promise<void> {
  if (existsSync(join(configDir(), 'config.json'))) return;
  const r = await cli(['login', '--api-url', apiUrl, '--api-key', apiKey]);
  if (r.code !== 0) throw new Error(`login exited ${r.code}: ${r.stderr}`);
}

async function pipeline(): Promise<string> {
  await loggedIn();
  if (!pipelineId)
    pipelineId = (await cliJson<{ workflow: { id: string } }>(['apply', '-f', pipelineFile(), '--publish'])).workflow
      .id;
  return pipelineId;
}

test('login checks the key and stores it 0600; whoami answers; a bad key exits 5, an unreachable API 7', async () => {
  const bad = await cli([
    'login',
    '--api-url',
    apiUrl,
    '--api-key',
    'efk_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
  ]);
  expect(bad.code).toBe(5);
  expect(bad.stderr).toMatch(/^error: /);

  const closed = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => closed.once('listening', r));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const unreachable = await cli(['login', '--api-url', `http://127.0.0.1:${closedPort}`, '--api-key', apiKey]);
  expect(unreachable.code).toBe(7);
  expect(unreachable.stderr).toContain(`error: cannot reach the API at http://127.0.0.1:${closedPort}`);

  const login = await cli(['login', '--api-url', apiUrl, '--api-key', '-'], { stdin: `${apiKey}\n` });
  expect(login).toMatchObject({ code: 0, stderr: '' });
  expect(login.stdout).toContain(`logged in to ${apiUrl} as`);
  const file = join(configDir(), 'config.json');
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ apiUrl, apiKey });

  const whoami = await cli(['whoami']);
  expect(whoami.code).toBe(0);
  expect(whoami.stdout).toContain(userId);
  expect(whoami.stdout).toMatch(new RegExp(`${scope.workspaceId}\\s+\\*\\s+editor`));
  expect((await cliJson(['whoami'])).user.id).toBe(userId);
});

test('apply creates the workflow from YAML and adds a version on each apply; an invalid graph lists every problem', async () => {
  await loggedIn();
  const file = pipelineFile();
  const first = await cli(['apply', '-f', file, '--publish']);
  expect(first).toMatchObject({ code: 0, stderr: '' });
  const match = /^workflow:\s+(wfd_\S+) \(cli-pipeline, created\)$/m.exec(first.stdout);
  expect(match).not.toBeNull();
  pipelineId = match![1]!;
  expect(first.stdout).toMatch(/^version:\s+1 \(published\)$/m);

  const second = await cliJson(['apply', '-f', file, '--publish']);
  expect(second).toMatchObject({
    created: false,
    published: true,
    workflow: { id: pipelineId },
    version: { versionNumber: 2 },
  });

  const invalid = workflowFile(
    'invalid.yaml',
    `name: Broken
project: ${scope.projectId}
runtimeGraph:
  nodes:
    - id: a
      executorType: docker
      executorConfig: {command: [sh, -c, 'true']}
    - id: b
      executorType: teleport
  edges:
    - {source: a, target: ghost}
`,
  );
  const rejected = await cli(['apply', '-f', invalid]);
  expect(rejected.code).toBe(2);
  const [headline, ...problems] = rejected.stderr.trimEnd().split('\n');
  expect(headline).toMatch(/^error: the workflow graph was rejected: \d+ problem\(s\)$/);
  expect(problems.length).toBeGreaterThanOrEqual(3);
  for (const p of problems) expect(p).toMatch(/^ {2}- \S/);
  expect(problems.join('\n')).toMatch(/node a: nodes\.0\.executorConfig/);
  expect(problems.join('\n')).toMatch(/node b: nodes\.1/);
  expect(problems.join('\n')).toContain('ghost');

  const notYaml = await cli(['apply', '-f', workflowFile('bad.yaml', 'name: x\nruntimeGraph:\n  nodes: [a\n')]);
  expect(notYaml.code).toBe(2);
  expect(notYaml.stderr).toMatch(/bad\.yaml: not valid YAML: line 3: unclosed \[/);
});

test('run start --watch prints each change and exits 0; list, get and logs show the finished run', async () => {
  const pipelineId = await pipeline();
  const watched = await cli([
    'run',
    'start',
    pipelineId,
    '--watch',
    '--idempotency-key',
    'cli-e2e-1',
    '--param',
    'n:=21',
  ]);
  expect(watched.stderr).toBe('');
  expect(watched.code).toBe(0);
  const runId = /^run:\s+(run_\S+) started$/m.exec(watched.stdout)![1]!;
  expect(watched.stdout).toMatch(/^temporal:\s+http:\/\/\S+emboflow-run-run_/m);
  const order = ['fetch +running', 'fetch +success', 'double +running', 'double +success', 'report +success'].map((p) =>
    watched.stdout.search(new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${p}`, 'm')),
  );
  expect(order.every((i) => i >= 0)).toBe(true);
  expect([...order].sort((a, b) => a - b)).toEqual(order);
  expect(watched.stdout.trimEnd().split('\n').pop()).toMatch(new RegExp(`^run ${runId} success in \\S+: 3 success$`));

  const again = await cliJson(['run', 'start', pipelineId, '--idempotency-key', 'cli-e2e-1']);
  expect(again.id).toBe(runId);

  const list = await cli(['run', 'list', '--project', scope.projectId]);
  expect(list.code).toBe(0);
  expect(list.stdout.split('\n')[0]).toMatch(/^RUN\s+STATUS\s+WORKFLOW\s+VERSION\s+TASKS\s+CREATED\s+DURATION$/);
  expect(list.stdout).toMatch(new RegExp(`^${runId}\\s+success\\s+${pipelineId}\\s+\\d+\\s+3/3\\s`, 'm'));
  const page = await cliJson([
    'run',
    'list',
    '--project',
    scope.projectId,
    '--status',
    'success',
    '--workflow',
    pipelineId,
    '--limit',
    '1',
  ]);
  expect(page.items.map((r: { id: string }) => r.id)).toEqual([runId]);

  const get = await cli(['run', 'get', runId]);
  expect(get.code).toBe(0);
  expect(get.stdout).toMatch(/^status:\s+success$/m);
  expect(get.stdout).toMatch(/^double\s+success\s+1\s+\d/m);

  const tail = await cli(['logs', runId, 'report']);
  expect(tail.code).toBe(0);
  // The stored tail holds both streams; Docker does not order a stdout line against a stderr line.
  expect(tail.stdout.split('\n').sort()).toEqual(['', 'done', 'result: 42']);
  const full = await cli(['logs', runId, 'double', '--full']);
  expect(full).toMatchObject({ code: 0, stdout: 'doubling 21\n' });
  const followedFinished = await cli(['logs', runId, 'fetch', '-f']);
  expect(followedFinished).toMatchObject({ code: 0, stdout: 'fetching\n' });

  expect((await cli(['logs', runId, 'nope'])).code).toBe(4);
  const missing = await cli(['run', 'get', 'run_doesnotexist']);
  expect(missing).toMatchObject({ code: 4, stderr: 'error: run not found\n' });
});

/** The node lines of a tmux pane: node id → the row it is on and the status it shows. */
function nodeRows(pane: string, nodeIds: string[]): Record<string, Array<{ row: number; status: string }>> {
  const rows = pane.split('\n');
  return Object.fromEntries(
    nodeIds.map((id) => [
      id,
      rows.flatMap((line, row) => {
        const m = new RegExp(`^ {2}\\S ${id} .*?(pending|queued|running|success|failed|cancelled|skipped)`).exec(line);
        return m ? [{ row, status: m[1]! }] : [];
      }),
    ]),
  );
}

/**
 * Replays what a program wrote to a terminal onto rows of text, one screen after each line: enough of a terminal
 * for the sequences the live display uses (cursor up, erase line, erase below; colours and cursor visibility ignored).
 */
function screens(raw: string): string[] {
  const rows: string[] = [''];
  const shots: string[] = [];
  let row = 0;
  let col = 0;
  // eslint-disable-next-line no-control-regex
  for (const m of raw.matchAll(/\x1b\[\??(\d*)([A-Za-z])|\r|\n|[^\x1b\r\n]+/g)) {
    const [token, count, command] = m;
    if (token === '\r') col = 0;
    else if (token === '\n') {
      row++;
      col = 0;
      rows[row] ??= '';
      shots.push(rows.join('\n'));
    } else if (command === 'A') row = Math.max(0, row - Number(count || 1));
    else if (command === 'K') rows[row] = '';
    else if (command === 'J') rows.splice(row + 1);
    else if (!command) {
      const line = rows[row] ?? '';
      rows[row] = line.slice(0, col).padEnd(col) + token + line.slice(col + token.length);
      col += token.length;
    }
  }
  return shots;
}

/** Runs `command` on a 100 x 20 terminal and answers what the screen showed over time: tmux, else script(1). */
async function onTerminal(command: string): Promise<string[]> {
  const hasTmux = (() => {
    try {
      execFileSync('tmux', ['-V']);
      return true;
    } catch {
      return false;
    }
  })();
  if (!hasTmux) {
    const r = await new Promise<Result>((resolve, reject) => {
      const child = spawn('script', ['-qfec', `stty cols 100 rows 20; ${command}; echo EXIT=$?`, '/dev/null'], {
        env: cliEnv(),
      });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr: '' }));
    });
    return screens(r.stdout);
  }
  const socket = `emboflow-cli-e2e-${process.pid}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  tmux('new-session', '-d', '-s', 'watch', '-x', '100', '-y', '20', `${command}; echo EXIT=$?; sleep 600`);
  const panes: string[] = [];
  try {
    await until(
      'the command to exit',
      () => {
        const pane = tmux('capture-pane', '-p', '-t', 'watch');
        panes.push(pane);
        return pane.includes('EXIT=');
      },
      90_000,
      () => panes[panes.length - 1] ?? '',
    );
  } finally {
    tmux('kill-server');
  }
  return panes;
}

test('run watch on a terminal redraws every node on its own row until the run ends, then exits 0', async () => {
  const run = await cliJson(['run', 'start', await pipeline()]);
  const q = (s: string) => `'${s}'`;
  const env = Object.entries(cliEnv())
    .map(([k, v]) => `${k}=${q(String(v))}`)
    .join(' ');
  const panes = await onTerminal(`env -i TERM=screen ${env} ${q(process.execPath)} ${q(BIN)} run watch ${run.id}`);
  const last = panes[panes.length - 1]!;
  expect(last).toMatch(/^EXIT=0\s*$/m);
  expect(last).toContain(`run ${run.id} success in`);

  const ids = ['fetch', 'double', 'report'];
  const frames = panes.map((p) => nodeRows(p, ids)).filter((f) => ids.every((id) => f[id]!.length > 0));
  expect(frames.length).toBeGreaterThan(5);
  // Redrawn in place: each node is on exactly one row, and always the same one.
  for (const f of frames) for (const id of ids) expect(f[id]).toHaveLength(1);
  for (const id of ids) expect(new Set(frames.map((f) => f[id]![0]!.row)).size).toBe(1);
  const statuses = frames.map((f) => f.double![0]!.status);
  const running = statuses.indexOf('running');
  expect(running).toBeGreaterThanOrEqual(0);
  expect(statuses.indexOf('success', running)).toBeGreaterThan(running);
  expect(frames[0]!.fetch![0]!.row).toBeLessThan(frames[0]!.double![0]!.row);
});

test('cancel stops a long run: logs -f streams it live until it stops, watch exits 3, cancelling again exits 6', async () => {
  await loggedIn();
  const file = workflowFile(
    'long.yaml',
    `name: CLI long
project: ${scope.projectId}
runtimeGraph:
  nodes:
${node('long', 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 1; done')}`,
  );
  const applied = await cliJson(['apply', '-f', file, '--publish']);
  const run = await cliJson(['run', 'start', applied.workflow.id]);
  await until('the node to run', async () => /^long\s+running/m.test((await cli(['run', 'get', run.id])).stdout));

  const follow = start(['logs', run.id, 'long', '-f']);
  const watch = start(['run', 'watch', run.id]);
  await until('live log lines', () => follow.output().includes('tick 2'), 30_000, follow.output);

  const cancel = await cli(['run', 'cancel', run.id]);
  expect(cancel).toMatchObject({ code: 0, stdout: `run ${run.id} cancelling\n` });
  const watched = await watch.done;
  expect(watched.code).toBe(3);
  expect(watched.stdout).toMatch(/^\d\d:\d\d:\d\d long +cancelled/m);
  const followed = await follow.done;
  expect(followed.code).toBe(0);
  expect(followed.stdout).toMatch(/^tick 1\ntick 2\n/);

  const again = await cli(['run', 'cancel', run.id]);
  expect(again.code).toBe(6);
  expect(again.stderr).toMatch(/^error: run .* has already finished \(cancelled\)/);
});

test('retry-task re-runs a failed node and its subtree in the same run; retry starts a new run', async () => {
  await loggedIn();
  // b fails on its first attempt only: it reads its attempt number from context.json.
  const file = workflowFile(
    'flaky.yaml',
    `name: CLI flaky
project: ${scope.projectId}
runtimeGraph:
  nodes:
${node('a', 'echo a')}${node('b', `grep -q "\\"attempt\\": 1," /emboflow/context.json && { echo first attempt fails >&2; exit 4; }; echo b`)}${node('c', 'echo c')}  edges:
    - {source: a, target: b}
    - {source: b, target: c}
`,
  );
  const applied = await cliJson(['apply', '-f', file, '--publish']);
  const failed = await cli(['run', 'start', applied.workflow.id, '--watch']);
  expect(failed.code).toBe(1);
  expect(failed.stdout).toMatch(
    /^\d\d:\d\d:\d\d b +failed \(attempt 1\) in \S+ — container exited with code 4; last stderr: first attempt fails$/m,
  );
  expect(failed.stdout).toMatch(/^\d\d:\d\d:\d\d c +skipped/m);
  const runId = /^run:\s+(run_\S+) started$/m.exec(failed.stdout)![1]!;

  const retried = await cli(['run', 'retry-task', runId, 'b']);
  expect(retried).toMatchObject({ code: 0, stdout: `run ${runId}: b, c reset and running again\n` });
  const watched = await cli(['run', 'watch', runId]);
  expect(watched.code).toBe(0);
  expect(watched.stdout).toMatch(/^\d\d:\d\d:\d\d b +success \(attempt 2\)/m);

  const busy = await cli(['run', 'retry-task', runId, 'nope']);
  expect(busy.code).toBe(4);

  const rerun = await cli(['run', 'retry', runId, '--watch']);
  expect(rerun.code).toBe(1); // a new run: b is on its first attempt again
  expect(rerun.stdout).toMatch(new RegExp(`^run:\\s+run_\\S+ started \\(retry of ${runId}\\)$`, 'm'));
  expect(rerun.stdout).not.toContain(`run: ${runId}`);
});

test('an approval waits for a person: watch says how to decide it, approve lets the run finish', async () => {
  await loggedIn();
  const file = workflowFile(
    'review.json',
    JSON.stringify({
      name: 'CLI review',
      project: scope.projectId,
      runtimeGraph: {
        nodes: [
          {
            id: 'prepare',
            executorType: 'docker',
            cache: { enabled: false },
            executorConfig: { image: TOOLS_IMAGE, command: ['sh', '-c', 'echo ok'] },
          },
          { id: 'review', executorType: 'approval', executorConfig: {} },
          {
            id: 'publish',
            executorType: 'docker',
            cache: { enabled: false },
            executorConfig: { image: TOOLS_IMAGE, command: ['sh', '-c', 'echo published'] },
          },
        ],
        edges: [
          { source: 'prepare', target: 'review' },
          { source: 'review', target: 'publish' },
        ],
      },
    }),
  );
  const applied = await cliJson(['apply', '-f', file, '--publish']);
  const run = await cliJson(['run', 'start', applied.workflow.id]);
  const watch = start(['run', 'watch', run.id]);
  await until(
    'the approval to wait',
    () => watch.output().includes(`waiting for approval: emboflow run approve ${run.id} review --approve|--reject`),
    60_000,
    watch.output,
  );

  expect((await cli(['run', 'approve', run.id, 'review'])).code).toBe(2);
  const approved = await cli(['run', 'approve', run.id, 'review', '--approve', '--comment', 'looks good']);
  expect(approved).toMatchObject({ code: 0, stdout: 'review approved\n' });
  const watched = await watch.done;
  expect(watched.code).toBe(0);
  expect(watched.stdout).toMatch(/^\d\d:\d\d:\d\d publish +success/m);

  const twice = await cli(['run', 'approve', run.id, 'review', '--reject']);
  expect(twice.code).toBe(6);
});

const MiB = 1024 * 1024;

/** A file of `size` pseudo-random bytes, written a MiB at a time; its path and sha256. */
async function dataFile(name: string, size: number): Promise<{ path: string; checksum: string }> {
  const path = join(home, name);
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const block = randomBytes(MiB);
  for (let done = 0, i = 0; done < size; done += MiB, i++) {
    const chunk = Buffer.from(block.subarray(0, Math.min(MiB, size - done)));
    chunk.writeUInt32LE(i, 0);
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { path, checksum: `sha256:${hash.digest('hex')}` };
}

test('assets upload: a small file in one request, a big one in parts, with progress; a node reads it back', async () => {
  await loggedIn();
  const small = await dataFile('small.bin', 1000);
  const one = await cli(['assets', 'upload', small.path, '--project', scope.projectId, '--json']);
  expect(one.code).toBe(0);
  expect(JSON.parse(one.stdout)).toMatchObject({
    displayName: 'small.bin',
    sizeBytes: 1000,
    storageRef: { checksum: small.checksum },
  });
  expect(one.stderr).toMatch(/^\d\d:\d\d:\d\d uploading 1000 B of 1000 B \(100%\)/m);

  // 70 MiB: two parts of the default 64 MiB.
  const big = await dataFile('episode.bin', 70 * MiB);
  const parts = await cli(['assets', 'upload', big.path, '--project', scope.projectId, '--name', 'episode 1.bin']);
  expect(parts.code).toBe(0);
  const assetId = /^asset:\s+(ast_\S+)$/m.exec(parts.stdout)![1]!;
  expect(parts.stdout).toMatch(/^name:\s+episode 1\.bin$/m);
  expect(parts.stdout).toMatch(/^size:\s+70\.0 MiB$/m);
  expect(parts.stdout).toMatch(new RegExp(`^checksum:\\s+${big.checksum}$`, 'm'));
  for (const stage of [
    /hashing 70\.0 MiB of 70\.0 MiB \(100%\)/,
    /uploading 70\.0 MiB of 70\.0 MiB \(100%\)/,
    /verifying for/,
  ])
    expect(parts.stderr).toMatch(stage);
  expect(await t.db.collection('asset_uploads').findOne({ assetId })).toMatchObject({
    status: 'completed',
    partCount: 2,
  });

  // What a node sees of the asset is the file the CLI read.
  const file = workflowFile(
    'checksum.yaml',
    `name: Checksum\nslug: checksum\nproject: ${scope.projectId}\nruntimeGraph:\n  nodes:\n${node('sum', 'sha256sum /emboflow/assets/*/*')}`,
  );
  const workflowId = (await cliJson<{ workflow: { id: string } }>(['apply', '-f', file, '--publish'])).workflow.id;
  const run = await cli(['run', 'start', workflowId, '--asset', assetId, '--watch']);
  expect(run.code).toBe(0);
  const runId = /^run:\s+(run_\S+) started$/m.exec(run.stdout)![1]!;
  expect((await cli(['logs', runId, 'sum'])).stdout).toContain(big.checksum.slice('sha256:'.length));
});

test('assets upload interrupted: Ctrl-C says how to resume, and --resume sends only what is missing', async () => {
  await loggedIn();
  const f = await dataFile('interrupted.bin', 70 * MiB);
  const args = ['assets', 'upload', f.path, '--project', scope.projectId, '--part-size', '5', '--parallel', '1'];
  const child = spawn(process.execPath, [BIN, ...args], { cwd: home, env: cliEnv() });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('close', r));
  const upload = await until(
    'the upload to open',
    async () =>
      (await t.db
        .collection('asset_uploads')
        .findOne({ displayName: 'interrupted.bin', projectId: scope.projectId })) ?? undefined,
    60_000,
    () => stderr,
  );
  // Some parts in, most still to go (14 of 5 MiB, one at a time).
  await until('a part to be stored', async () => (await t.store.listParts(upload.key, upload.s3UploadId)).length > 0);
  child.kill('SIGINT');
  expect(await exited).toBe(130);
  expect(stderr).toContain(`interrupted; resume with: emboflow assets upload ${f.path} --resume ${upload._id}`);

  const resumed = await cli(['assets', 'upload', f.path, '--resume', String(upload._id)]);
  expect(resumed.code).toBe(0);
  expect(resumed.stdout).toMatch(new RegExp(`^checksum:\\s+${f.checksum}$`, 'm'));
  // It starts where the first attempt stopped: its first uploading line is not at 0 bytes.
  expect(/uploading (\S+ \S+) of 70\.0 MiB/.exec(resumed.stderr)![1]).not.toBe('0 B');
  const again = await cli(['assets', 'upload', f.path, '--resume', String(upload._id)]);
  expect(again.code).toBe(6);
  expect(again.stderr).toContain(`upload ${upload._id} is completed`);
});

test('the environment overrides the stored key; logout forgets it and commands then exit 5', async () => {
  await loggedIn();
  const envKey = await cli(['whoami', '--json'], {
    env: { EMBOFLOW_API_URL: apiUrl, EMBOFLOW_API_KEY: 'efk_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' },
  });
  expect(envKey.code).toBe(5);

  const logout = await cli(['logout']);
  expect(logout).toMatchObject({ code: 0, stdout: `logged out: removed ${join(configDir(), 'config.json')}\n` });
  const after = await cli(['run', 'list', '--project', scope.projectId]);
  expect(after.code).toBe(5);
  expect(after.stderr).toMatch(/^error: not logged in/);

  const viaEnv = await cli(['whoami'], { env: { EMBOFLOW_API_URL: apiUrl, EMBOFLOW_API_KEY: apiKey } });
  expect(viaEnv.code).toBe(0);
  expect(viaEnv.stdout).toContain(userId);
});

test('schedule: create a cron in a time zone, update it to an interval, list, run now, delete; a bad cron exits 2', async () => {
  await loggedIn();
  const { seedWorkflow } = await import('../support/engine');
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [{ id: 'a', executorType: 'docker', executorConfig: { image: TOOLS_IMAGE, command: ['true'] } }],
    edges: [],
  });
  const created = await cliJson([
    'schedule',
    'create',
    workflowId,
    '--cron',
    '30 3 * * *',
    '--tz',
    'Europe/Berlin',
    '--paused',
    '--name',
    'nightly',
  ]);
  try {
    expect(created).toMatchObject({
      kind: 'schedule',
      schedule: { cron: '30 3 * * *', timeZone: 'Europe/Berlin', overlap: 'skip' },
      temporal: { paused: true },
    });
    const updated = await cliJson(['schedule', 'update', created.id, '--every', '3600', '--overlap', 'buffer_one']);
    expect(updated.schedule).toEqual({
      intervalSeconds: 3600,
      timeZone: 'Europe/Berlin',
      jitterSeconds: 0,
      overlap: 'buffer_one',
    });

    const list = await cli(['schedule', 'list', workflowId]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${created.id}\\s+every 3600 s\\s+buffer_one\\s+paused`));

    expect((await cli(['schedule', 'run-now', created.id])).code).toBe(0);
    const run = await until('the run-now run', async () => {
      const runs = await cliJson<{ items: Array<{ triggeredBy: string; status: string }> }>([
        'run',
        'list',
        '--project',
        scope.projectId,
      ]);
      return runs.items.find((r) => r.triggeredBy === `schedule:${created.id}`);
    });
    expect(run).toBeDefined();

    const bad = await cli(['schedule', 'update', created.id, '--cron', '61 * * * *']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('schedule.cron');
  } finally {
    expect((await cli(['schedule', 'delete', created.id])).code).toBe(0);
  }
  expect((await cli(['schedule', 'get', created.id])).code).toBe(4);
});
