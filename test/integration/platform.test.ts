// Each real server of the stack, exercised directly: no mocks.
import request from 'supertest';
import { ContainerRunner, dockerFromHost } from '../../src/docker/container-runner';
import { startTestApp, seedUser, seedWorkspace } from '../support/app';
import type { TestApp } from '../support/app';
import { seedWorkflow, startEngine } from '../support/engine';
import type { Engine } from '../support/engine';
import { startRun } from '../support/runs';
import { TOOLS_IMAGE } from '../support/runs';

let t: TestApp;
let engine: Engine;

beforeAll(async () => {
  t = await startTestApp();
  engine = await startEngine(t);
});
afterAll(async () => {
  await engine?.stop();
  await t?.close();
});

test('Temporal executes a run workflow to completion', async () => {
  const scope = await seedWorkspace(t.db);
  const { apiKey } = await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'editor' }]);
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [{ id: 'only', executorType: 'builtin', executorConfig: { op: 'noop' } }],
  });
  const run = await startRun(t.app, apiKey, workflowId);
  const result = await t.temporal.workflow.getHandle(run.temporalWorkflowId).result();
  expect(result).toEqual({ runId: run.id, status: 'success', failedNodeIds: [] });
  const described = await t.temporal.workflow.getHandle(run.temporalWorkflowId).describe();
  expect(described.status.name).toBe('COMPLETED');
});

test('MongoDB writes and reads back through a unique compound index', async () => {
  const tasks = t.db.collection('run_tasks');
  const indexes = await tasks.listIndexes().toArray();
  expect(indexes.find((i) => i.name === 'workflowRunId_nodeId')).toMatchObject({
    key: { workflowRunId: 1, nodeId: 1 },
    unique: true,
  });
  await tasks.insertOne({ _id: 'r1.n1' as never, workflowRunId: 'r1', nodeId: 'n1', status: 'pending' });
  const found = await tasks.find({ workflowRunId: 'r1', nodeId: 'n1' }).hint('workflowRunId_nodeId').toArray();
  expect(found).toHaveLength(1);
  // The unique index is enforced by the server, not by us.
  await expect(tasks.insertOne({ _id: 'other' as never, workflowRunId: 'r1', nodeId: 'n1' })).rejects.toMatchObject({
    code: 11000,
  });
});

test('a container runs under the memory limit it was given', async () => {
  const runner = new ContainerRunner(dockerFromHost(t.config.DOCKER_HOST));
  const c = await runner.create({
    name: `platform-test-${Date.now()}`,
    image: TOOLS_IMAGE,
    command: [
      'sh',
      '-c',
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max',
    ],
    env: {},
    cpu: 0.5,
    memoryMb: 64,
    pidsLimit: 32,
    network: false,
    labels: {},
  });
  try {
    await c.start();
    const exit = await runner.waitForExit(c, { timeoutMs: 30_000, tickMs: 1000, onTick: async () => undefined });
    expect(exit).toEqual({ exitCode: 0, oomKilled: false, timedOut: false });
    const out = (await runner.logs(c))
      .map((f) => f.data.toString())
      .join('')
      .trim();
    expect(out).toBe(String(64 * 1024 * 1024));
  } finally {
    await runner.remove(c);
  }
});

test('S3 stores, returns and presigns an object, with its checksum', async () => {
  const body = Buffer.from(`emboflow ${Date.now()}`);
  const ref = await t.store.putBuffer(`tests/${Date.now()}.txt`, body, 'text/plain');
  expect(ref.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(ref.size).toBe(body.length);
  expect((await t.store.getBuffer(ref.key)).equals(body)).toBe(true);
  const res = await fetch(await t.store.presignGet(ref.key));
  expect(res.status).toBe(200);
  expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);
});

test('/healthz answers while /readyz names the dependency that does not answer', async () => {
  expect((await request(t.app).get('/healthz')).body).toEqual({ status: 'ok' });
  const ready = await request(t.app).get('/readyz');
  expect(ready.status).toBe(200);
  expect(ready.body.status).toBe('ready');

  const broken = await startTestApp({ S3_ENDPOINT: 'http://127.0.0.1:9' });
  try {
    const res = await request(broken.app).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body.notReady).toEqual(['s3']);
  } finally {
    await broken.close();
  }
});
