// A full staging disk: a Docker engine of its own whose data root is a 128 MiB tmpfs. Inputs whose size is known
// and does not fit are refused before any container exists; inputs whose size is only found while they stream (a
// prefix asset) fail on the engine's own "no space left" — both with a clear task error, nothing half-recorded.
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import request from 'supertest';
import { dockerFromHost } from '../../src/docker/container-runner';
import { seedUser, seedWorkspace, startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { containerEvents, seedWorkflow } from '../support/engine';
import { sh, startRun, tasksOf, TOOLS_IMAGE, waitForRun } from '../support/runs';
import { bundleFile, spawnWorker, stopWorker, workerEnv } from '../support/worker-process';

const MIB = 1024 * 1024;
let dir: string;
let dockerd: ChildProcess;
let small: Docker;
let t: TestApp;
let worker: ChildProcess;
let key: string;
let scope: { workspaceId: string; projectId: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'emboflow-small-engine-'));
  execFileSync('mkdir', ['-p', join(dir, 'data'), join(dir, 'exec')]);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=128m', 'tmpfs', join(dir, 'data')]);
  const socket = join(dir, 'docker.sock');
  // No bridge and no iptables: this engine must not touch the host's network (its containers have none anyway).
  dockerd = spawn(
    'dockerd',
    [
      '--host',
      `unix://${socket}`,
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'pid'),
      '--bridge',
      'none',
      '--iptables=false',
      '--ip-masq=false',
    ],
    { stdio: 'ignore' },
  );
  small = new Docker({ socketPath: socket });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (
      await small.ping().then(
        () => true,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error('the small Docker engine did not answer within 30 s');
    await new Promise((r) => setTimeout(r, 250));
  }
  t = await startTestApp();
  // The node image, carried over from the stack's engine (no registry here).
  const image = (await dockerFromHost(t.config.DOCKER_HOST)
    .getImage(TOOLS_IMAGE)
    .get()) as unknown as NodeJS.ReadableStream;
  await new Promise<void>((resolve, reject) => {
    small.loadImage(image, {}, (err, out: NodeJS.ReadableStream | undefined) => {
      if (err || !out) return reject(err ?? new Error('docker load gave no answer'));
      out.on('data', () => undefined);
      out.on('end', () => resolve());
      out.on('error', reject);
    });
  });
  worker = spawnWorker(
    workerEnv(t.config, { WORKFLOW_BUNDLE_PATH: await bundleFile(), DOCKER_HOST: `unix://${socket}` }),
  );
  scope = await seedWorkspace(t.db);
  key = (await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'editor' }])).apiKey;
}, 120_000);

afterAll(async () => {
  if (worker) await stopWorker(worker);
  await t?.close();
  if (dockerd && dockerd.exitCode === null) {
    const exited = new Promise((r) => dockerd.once('exit', r));
    dockerd.kill('SIGTERM');
    await exited;
  }
  execFileSync('umount', ['-l', join(dir, 'data')]);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** N MiB of zeros, streamed. */
const zeros = (mib: number) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < mib; i++) yield Buffer.alloc(MIB);
    })(),
  );

async function runOn(assetBody: Record<string, unknown>) {
  const asset = await request(t.app)
    .post(`/v1/projects/${scope.projectId}/assets`)
    .set('Authorization', `Bearer ${key}`)
    .send(assetBody);
  expect(asset.status).toBe(201);
  const { workflowId } = await seedWorkflow(t.db, scope, { nodes: [sh('read', 'du -s /emboflow/assets')], edges: [] });
  const run = await waitForRun(
    t.app,
    key,
    (await startRun(t.app, key, workflowId, { inputBindings: [{ kind: 'asset', id: asset.body.id }] })).id,
    180_000,
  );
  return { run, tasks: await tasksOf(t.app, key, run.id) };
}

const leftOn = async (engine: Docker, runId: string) =>
  (await engine.listContainers({ all: true, filters: { label: [`io.emboflow.run=${runId}`] } })).length;

test('an asset of known size that cannot fit is refused before any container exists', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const objectKey = `workspaces/${scope.workspaceId}/big/${Date.now()}.bin`;
  const ref = await t.store.putStream(objectKey, zeros(200), 'application/octet-stream');
  const { run, tasks } = await runOn({
    type: 'raw_file',
    displayName: 'big.bin',
    storageRef: { bucket: ref.bucket, key: objectKey, size: ref.size, checksum: ref.checksum },
  });
  expect(run.status).toBe('failed');
  expect(tasks.read).toMatchObject({ status: 'failed', attempt: 1 });
  expect(tasks.read!.errorMessage).toMatch(
    /^staging inputs: 209715200 bytes would not fit: the Docker engine has \d+ bytes free for container volumes$/,
  );
  // No container was ever made (the engine's own event log; the next test shows the filter matches one).
  expect(await containerEvents(small, run.id, since, 'create')).toEqual([]);
  expect(await leftOn(small, run.id)).toBe(0);
});

test("a prefix asset found too large while it streams fails on the engine's full disk, and leaves nothing", async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const prefix = `workspaces/${scope.workspaceId}/episodes-${Date.now()}/`;
  for (let i = 0; i < 3; i++) await t.store.putStream(`${prefix}ep${i}.bin`, zeros(64), 'application/octet-stream');
  const { run, tasks } = await runOn({ type: 'object_storage_prefix', displayName: 'episodes', prefix });
  expect(run.status).toBe('failed');
  expect(tasks.read).toMatchObject({ status: 'failed', attempt: 1 });
  expect(tasks.read!.errorMessage).toMatch(
    /^staging inputs: the Docker engine has no space left for this node's inputs \(.*no space left on device/i,
  );
  expect(
    (await request(t.app).get(`/v1/runs/${run.id}/artifacts`).set('Authorization', `Bearer ${key}`)).body.items,
  ).toEqual([]);
  // Its container was made (and staged into until the disk filled): the filter below sees this run's containers.
  expect(await containerEvents(small, run.id, since, 'create')).toEqual(['read']);
  expect(await leftOn(small, run.id)).toBe(0);
});
