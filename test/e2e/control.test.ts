// Run control: cancel, retry run, retry task with subtree reset, and result caching — with container-start
// counts taken from Docker's event log.
import request from 'supertest';
import { retryTaskUpdate } from '../../workflows/messages';
import { seedUser, seedWorkspace, startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { containerStarts, seedWorkflow, startEngine } from '../support/engine';
import type { Engine } from '../support/engine';
import { sh, startRun, tasksOf, until, waitForRun } from '../support/runs';

let t: TestApp;
let engine: Engine;
let key: string;
let scope: { workspaceId: string; projectId: string };
const auth = () => ({ Authorization: `Bearer ${key}` });
const now = () => Math.floor(Date.now() / 1000) - 1;

beforeAll(async () => {
  t = await startTestApp();
  engine = await startEngine(t);
  scope = await seedWorkspace(t.db);
  key = (await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'editor' }])).apiKey;
});
afterAll(async () => {
  await engine?.stop();
  await t?.close();
});

/** Fails on its first attempt, succeeds after: reads its attempt number from context.json. */
const failsFirst = (id: string, marker: string) =>
  sh(
    id,
    `grep -q '"attempt": 1,' /emboflow/context.json && { echo "first attempt fails" >&2; exit 4; }; echo "${marker}" > /emboflow/outputs/${id}.txt`,
  );

test('cancel stops the running container within the heartbeat timeout and no downstream node starts', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [sh('long', 'sleep 120'), sh('after', 'echo never')],
    edges: [{ source: 'long', target: 'after' }],
  });
  const run = await startRun(t.app, key, workflowId);
  await until('the container to run', async () =>
    (await engine.runner.listManaged({ run: run.id })).some((c) => c.State === 'running'),
  );

  const cancelledAt = Date.now();
  const res = await request(t.app).post(`/v1/runs/${run.id}/cancel`).set(auth());
  expect(res.status).toBe(202);
  await until(
    'the container to be gone',
    async () => (await engine.runner.listManaged({ run: run.id })).length === 0,
    30_000,
  );
  const goneAfterMs = Date.now() - cancelledAt;
  // Bound: heartbeat timeout (10 s; the SDK delivers cancellation within 80% of it) + stop timeout (0 s: SIGKILL).
  console.log(`cancel: container gone ${goneAfterMs} ms after the request`);
  expect(goneAfterMs).toBeLessThan(10_000 + 2_000);

  const done = await waitForRun(t.app, key, run.id);
  expect(done.status).toBe('cancelled');
  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.long!.status).toBe('cancelled');
  expect(tasks.after!.status).toBe('cancelled');
  expect(tasks.after!.startedAt).toBeUndefined();
  expect((await t.temporal.workflow.getHandle(run.temporalWorkflowId).describe()).status.name).toBe('CANCELLED');

  const again = await request(t.app).post(`/v1/runs/${run.id}/cancel`).set(auth());
  expect(again.status).toBe(409);
  expect(again.body.error.code).toBe('run_finished');
});

test('retry task on a failed run re-runs only the node and its subtree; everything else keeps its result', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh('a', `echo a-${Date.now()} > /emboflow/outputs/a.txt`),
      failsFirst('b', 'b-ok'),
      sh('c', 'cat /emboflow/inputs/b/b.txt > /emboflow/outputs/c.txt'),
      sh('d', `echo d-${Date.now()} > /emboflow/outputs/d.txt`),
    ],
    edges: [
      { source: 'a', target: 'b' },
      { source: 'b', target: 'c' },
      { source: 'a', target: 'd' },
    ],
  });
  const since = now();
  const first = await waitForRun(t.app, key, (await startRun(t.app, key, workflowId)).id);
  expect(first.status).toBe('failed');
  const before = await tasksOf(t.app, key, first.id);
  expect(before.c!.status).toBe('skipped');
  expect((await containerStarts(engine, first.id, since)).sort()).toEqual(['a', 'b', 'd']);

  const retriedAt = now();
  const res = await request(t.app).post(`/v1/runs/${first.id}/tasks/b/retry`).set(auth());
  expect(res.status).toBe(202);
  expect(res.body.resetNodeIds).toEqual(['b', 'c']);
  const after = await waitForRun(t.app, key, first.id);
  expect(after.status).toBe('success');
  expect((await containerStarts(engine, first.id, retriedAt)).sort()).toEqual(['b', 'c']);

  const tasks = await tasksOf(t.app, key, first.id);
  for (const kept of ['a', 'd']) {
    expect(tasks[kept]!.outputArtifactIds).toEqual(before[kept]!.outputArtifactIds);
    expect(tasks[kept]!.finishedAt).toEqual(before[kept]!.finishedAt);
    expect(tasks[kept]!.attempt).toBe(1);
  }
  expect(tasks.b!.attempt).toBe(2);
  expect(tasks.b!.generation).toBe(1);
  expect(tasks.b!.errorMessage).toBeUndefined();
  const arts = await request(t.app).get(`/v1/runs/${first.id}/artifacts?nodeId=c`).set(auth());
  const content = await request(t.app).get(`/v1/artifacts/${arts.body.items[0].id}/content`).set(auth());
  expect(content.text).toBe('b-ok\n');
  expect(after.summary.failedTaskIds).toEqual([]);
});

test('retry task on a run still executing other branches resumes the same execution', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [failsFirst('x', 'x-ok'), sh('y', 'sleep 8; echo y > /emboflow/outputs/y.txt', {}, { timeoutSeconds: 60 })],
  });
  const run = await startRun(t.app, key, workflowId);
  await until('x to fail', async () => (await tasksOf(t.app, key, run.id)).x!.status === 'failed');
  expect((await tasksOf(t.app, key, run.id)).y!.status).toBe('running');
  const describeBefore = await t.temporal.workflow.getHandle(run.temporalWorkflowId).describe();

  const res = await request(t.app).post(`/v1/runs/${run.id}/tasks/x/retry`).set(auth());
  expect(res.status).toBe(202);
  const done = await waitForRun(t.app, key, run.id);
  expect(done.status).toBe('success');
  const describeAfter = await t.temporal.workflow.getHandle(run.temporalWorkflowId).describe();
  expect(describeAfter.runId).toBe(describeBefore.runId);
  expect((await tasksOf(t.app, key, run.id)).x!.attempt).toBe(2);
});

test('retry task is refused while a node of its subtree is still running', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [sh('p', `echo p-${Date.now()} > /emboflow/outputs/p.txt`), sh('q', 'sleep 30', {}, { timeoutSeconds: 60 })],
    edges: [{ source: 'p', target: 'q' }],
  });
  const run = await startRun(t.app, key, workflowId);
  await until('q to run', async () => (await tasksOf(t.app, key, run.id)).q!.status === 'running');
  const res = await request(t.app).post(`/v1/runs/${run.id}/tasks/p/retry`).set(auth());
  expect(res.status).toBe(409);
  expect(res.body.error.message).toBe('cannot retry p while q is not finished');
  // The workflow refuses it too, on its own state (the API's check is only the first line).
  await expect(
    t.temporal.workflow.getHandle(run.temporalWorkflowId).executeUpdate(retryTaskUpdate, { args: [{ nodeId: 'p' }] }),
  ).rejects.toMatchObject({ cause: { message: 'cannot retry p while q is not finished' } });
  expect((await request(t.app).post(`/v1/runs/${run.id}/tasks/nope/retry`).set(auth())).status).toBe(404);
  await request(t.app).post(`/v1/runs/${run.id}/cancel`).set(auth());
  await waitForRun(t.app, key, run.id);
});

test('retry run makes a new run of the same version and inputs; an identical run starts no container', async () => {
  const stamp = Date.now();
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh('one', `echo one-${stamp} > /emboflow/outputs/one.txt`),
      sh('two', 'cp /emboflow/inputs/one/one.txt /emboflow/outputs/two.txt'),
      sh('fresh', `echo fresh-${stamp} > /emboflow/outputs/fresh.txt`, { cache: { enabled: false } }),
    ],
    edges: [{ source: 'one', target: 'two' }],
  });
  const first = await waitForRun(t.app, key, (await startRun(t.app, key, workflowId)).id);
  expect(first.status).toBe('success');

  const since = now();
  const res = await request(t.app).post(`/v1/runs/${first.id}/retry`).set(auth());
  expect(res.status).toBe(202);
  expect(res.body.id).not.toBe(first.id);
  expect(res.body.retryOfRunId).toBe(first.id);
  const second = await waitForRun(t.app, key, res.body.id);
  expect(second.status).toBe('success');
  // Only the node that opted out of caching started a container.
  expect(await containerStarts(engine, second.id, since)).toEqual(['fresh']);
  const [a, b] = [await tasksOf(t.app, key, first.id), await tasksOf(t.app, key, second.id)];
  expect(b.one!.cacheHit).toBe(true);
  expect(b.two!.cacheHit).toBe(true);
  expect(b.fresh!.cacheHit).toBe(false);
  expect(b.two!.cacheKey).toBe(a.two!.cacheKey);
  expect(b.two!.outputArtifactIds).toEqual(a.two!.outputArtifactIds);
  const arts = await request(t.app).get(`/v1/runs/${second.id}/artifacts`).set(auth());
  expect(arts.body.items.map((x: { path: string }) => x.path).sort()).toEqual(['fresh.txt', 'one.txt', 'two.txt']);

  // A changed input changes the key: new params reach context.json, so every node runs again.
  const third = await waitForRun(t.app, key, (await startRun(t.app, key, workflowId, { params: { threshold: 2 } })).id);
  const c = await tasksOf(t.app, key, third.id);
  expect(c.one!.cacheHit).toBe(false);
  expect(c.one!.cacheKey).not.toBe(a.one!.cacheKey);

  // Retrying a run that has not finished is refused.
  const running = await startRun(
    t.app,
    key,
    (await seedWorkflow(t.db, scope, { nodes: [sh('s', 'sleep 20', {}, { timeoutSeconds: 60 })] })).workflowId,
  );
  expect((await request(t.app).post(`/v1/runs/${running.id}/retry`).set(auth())).status).toBe(409);
  await request(t.app).post(`/v1/runs/${running.id}/cancel`).set(auth());
  await waitForRun(t.app, key, running.id);
});

test("a workspace's container limit holds across parallel nodes, and a run's priority reaches Temporal", async () => {
  const limited = await seedWorkspace(t.db, 'limited');
  await t.db
    .collection('workspaces')
    .updateOne({ _id: limited.workspaceId as never }, { $set: { 'settings.maxRunningContainers': 1 } });
  const k = (await seedUser(t.db, [{ workspaceId: limited.workspaceId, role: 'editor' }])).apiKey;
  const stamp = Date.now();
  const { workflowId } = await seedWorkflow(t.db, limited, {
    nodes: ['p1', 'p2', 'p3'].map((id) => sh(id, `sleep 1; echo ${id}-${stamp} > /emboflow/outputs/${id}.txt`)),
    settings: { maxParallelism: 3, failFast: false },
  });
  let maxRunning = 0;
  const monitor = setInterval(() => {
    engine.runner
      .listManaged({ workspace: limited.workspaceId })
      .then((list) => (maxRunning = Math.max(maxRunning, list.filter((c) => c.State === 'running').length)))
      .catch(() => undefined);
  }, 100);
  const started = Date.now();
  const run = await startRun(t.app, k, workflowId, { priority: 1 });
  const done = await waitForRun(t.app, k, run.id);
  clearInterval(monitor);
  expect(done.status).toBe('success');
  expect(maxRunning).toBe(1);
  expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
  expect(await t.db.collection('container_leases').countDocuments({ workspaceId: limited.workspaceId })).toBe(0);
  const described = await t.temporal.workflow.getHandle(run.temporalWorkflowId).describe();
  expect(described.raw.workflowExecutionInfo?.priority?.priorityKey).toBe(1);
});
