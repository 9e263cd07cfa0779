// Node settings beyond the hardened default, end to end on the real stack: shmMb and workingDir reach the container;
// root only where the workspace allows it (a 400 at version creation otherwise); a GPU node is refused before it
// starts while no worker offers GPUs, and runs on the GPU worker's `.gpu` queue once one does — where this machine's
// engine, which has no GPU runtime, fails it with a clear message (a real GPU check: scripts/gpu-check.sh).
import request from 'supertest';
import type { TestApp } from '../support/app';
import { engineFixture, startEngine } from '../support/engine';
import type { EngineFixture } from '../support/engine';
import { sh, tasksOf, waitForRun } from '../support/runs';

let fixture: EngineFixture;
let t: TestApp;
let key: string;
let scope: { workspaceId: string; projectId: string };

beforeAll(async () => {
  fixture = await engineFixture();
  ({ t, key, scope } = fixture);
}, 120_000);

afterAll(async () => {
  await fixture?.close();
});

const post = (path: string, body: object) => request(t.app).post(path).set('Authorization', `Bearer ${key}`).send(body);

async function publish(name: string, nodes: object[]): Promise<{ status: number; body: any; workflowId: string }> {
  const wf = await post(`/v1/projects/${scope.projectId}/workflows`, { name });
  const version = await post(`/v1/workflows/${wf.body.id}/versions`, { runtimeGraph: { nodes, edges: [] } });
  if (version.status === 201) await post(`/v1/workflows/${wf.body.id}/versions/1/publish`, {});
  return { status: version.status, body: version.body, workflowId: wf.body.id };
}

const REPORT =
  'echo "{\\"uid\\": $(id -u), \\"pwd\\": \\"$(pwd)\\", \\"shmKb\\": $(df -k /dev/shm | tail -1 | awk \'{print $2}\')}" > /emboflow/outputs/result.json';

test('shmMb and workingDir reach the container; root only where the workspace allows it', async () => {
  const plain = await publish('plain', [
    sh('n', REPORT, { cache: { enabled: false } }, { shmMb: 256, workingDir: '/tmp' }),
  ]);
  expect(plain.status).toBe(201);
  const run = await post(`/v1/workflows/${plain.workflowId}/runs`, {});
  expect((await waitForRun(t.app, key, run.body.id)).status).toBe('success');
  expect((await tasksOf(t.app, key, run.body.id)).n!.lastResultPreview).toEqual({
    uid: 65534,
    pwd: '/tmp',
    shmKb: 256 * 1024,
  });

  const rootNode = sh('n', REPORT, { cache: { enabled: false } }, { runAsRoot: true });
  const refused = await publish('root-refused', [rootNode]);
  expect(refused.status).toBe(400);
  expect(refused.body.error.details).toEqual([expect.objectContaining({ path: 'nodes.0.executorConfig.runAsRoot' })]);
  await t.db
    .collection('workspaces')
    .updateOne({ _id: scope.workspaceId as never }, { $set: { 'settings.allowRootContainers': true } });
  const allowed = await publish('root-allowed', [rootNode]);
  expect(allowed.status).toBe(201);
  const rootRun = await post(`/v1/workflows/${allowed.workflowId}/runs`, {});
  expect((await waitForRun(t.app, key, rootRun.body.id)).status).toBe('success');
  expect((await tasksOf(t.app, key, rootRun.body.id)).n!.lastResultPreview).toMatchObject({ uid: 0 });
}, 120_000);

test('a GPU node is refused while no worker offers GPUs, and runs on the GPU worker once one does', async () => {
  const gpu = await publish('gpu', [
    sh('train', 'nvidia-smi', { retry: { maxAttempts: 1 } }, { gpus: 1, taskQueue: 'accel' }),
  ]);
  expect(gpu.status).toBe(201);
  const refused = await post(`/v1/workflows/${gpu.workflowId}/runs`, {});
  expect(refused.status).toBe(409);
  expect(refused.body.error).toMatchObject({
    code: 'no_gpu_workers',
    details: { field: 'runtimeGraph.nodes.0.executorConfig.gpus' },
  });

  // A worker of the accel pool that declares one GPU: it polls accel and accel.gpu.
  const gpuWorker = await startEngine(t, ['accel'], { WORKER_GPUS: 1 });
  try {
    const run = await post(`/v1/workflows/${gpu.workflowId}/runs`, {});
    expect(run.status).toBe(202);
    const done = await waitForRun(t.app, key, run.body.id);
    const task = (await tasksOf(t.app, key, run.body.id)).train!;
    // This engine has no GPU runtime: the request for one reached it, and the task says so.
    expect(done.status).toBe('failed');
    // Only the GPU worker polls accel.gpu: the message comes from its attempt to create the container.
    expect(task.errorMessage).toMatch(/asks for GPUs but the Docker engine cannot provide them/);
  } finally {
    await gpuWorker.stop();
  }
}, 120_000);
