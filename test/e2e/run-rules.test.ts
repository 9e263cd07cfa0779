// Trigger rules, exit nodes and run-level control end to end, on the real stack: a failure handler that runs only
// after a failure; exit nodes that run once the rest of the run has ended — after a failure, under failFast, after a
// cancel and after a timeout — and read how it ended; a run-level timeout; pause and resume.
import request from 'supertest';
import type { TestApp } from '../support/app';
import { engineFixture, seedWorkflow } from '../support/engine';
import type { Engine, EngineFixture } from '../support/engine';
import { sh, startRun, tasksOf, until, waitForRun } from '../support/runs';

let fixture: EngineFixture;
let t: TestApp;
let engine: Engine;
let key: string;
let scope: { workspaceId: string; projectId: string };

beforeAll(async () => {
  fixture = await engineFixture();
  ({ t, engine, key, scope } = fixture);
});

afterAll(async () => {
  await fixture?.close();
});

/** An exit node that writes the outcome it was given as its result. */
const cleanup = (id = 'cleanup') =>
  sh(
    id,
    `o=$(grep -o '"runOutcome": "[a-z_]*"' /emboflow/context.json | cut -d'"' -f4); echo "{\\"outcome\\": \\"$o\\"}" > /emboflow/outputs/result.json`,
    { onExit: true, cache: { enabled: false } },
  );

test('a failure handler runs only after a failure; the exit node runs last and sees the run failed', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh('a', 'exit 3'),
      sh('ok', 'true'),
      sh('handler', 'echo handled > /emboflow/outputs/h.txt', { runWhen: 'one_failed' }),
      sh('quiet', 'true', { runWhen: 'one_failed' }),
      sh('after', 'true'),
      cleanup(),
      sh('notify', 'true', { onExit: true }),
    ],
    edges: [
      { source: 'a', target: 'handler' },
      { source: 'ok', target: 'quiet' },
      { source: 'a', target: 'after' },
      { source: 'cleanup', target: 'notify' },
    ],
  });
  const run = await startRun(t.app, key, workflowId);
  expect((await waitForRun(t.app, key, run.id)).status).toBe('failed');
  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.handler!.status).toBe('success');
  expect(tasks.quiet).toMatchObject({ status: 'skipped', skipReason: 'trigger_rule' });
  expect(tasks.after).toMatchObject({ status: 'skipped', skipReason: 'upstream_failed' });
  expect(tasks.cleanup).toMatchObject({ status: 'success', lastResultPreview: { outcome: 'failed' } });
  expect(tasks.notify!.status).toBe('success');
  // The exit nodes started after every other node had ended.
  const lastOther = Math.max(...['a', 'ok', 'handler'].map((n) => Date.parse(tasks[n]!.finishedAt as string)));
  expect(Date.parse(tasks.cleanup!.startedAt as string)).toBeGreaterThanOrEqual(lastOther);
});

test('with failFast, the exit node still runs once the failure has drained', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [sh('a', 'exit 3'), sh('slow', 'sleep 3'), sh('next', 'true'), cleanup()],
    edges: [{ source: 'slow', target: 'next' }],
    settings: { maxParallelism: 4, failFast: true },
  });
  const run = await startRun(t.app, key, workflowId);
  expect((await waitForRun(t.app, key, run.id)).status).toBe('failed');
  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.next!.status).toBe('cancelled');
  expect(tasks.cleanup).toMatchObject({ status: 'success', lastResultPreview: { outcome: 'failed' } });
});

test('after a cancel, the exit node runs and sees the run cancelled; no container is left', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [sh('long', 'sleep 120'), sh('never', 'true'), cleanup()],
    edges: [{ source: 'long', target: 'never' }],
  });
  const run = await startRun(t.app, key, workflowId);
  await until('the container to run', async () =>
    (await engine.runner.listManaged({ run: run.id })).some((c) => c.State === 'running'),
  );
  const res = await request(t.app).post(`/v1/runs/${run.id}/cancel`).set('Authorization', `Bearer ${key}`);
  expect(res.status).toBe(202);
  expect((await waitForRun(t.app, key, run.id)).status).toBe('cancelled');
  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.long!.status).toBe('cancelled');
  expect(tasks.never!.status).toBe('cancelled');
  expect(tasks.cleanup).toMatchObject({ status: 'success', lastResultPreview: { outcome: 'cancelled' } });
  await until('no container left', async () => (await engine.runner.listManaged({ run: run.id })).length === 0, 30_000);
});

test('a version whose exit node has an edge with another node is a 400 naming the edge', async () => {
  const def = await request(t.app)
    .post(`/v1/projects/${scope.projectId}/workflows`)
    .set('Authorization', `Bearer ${key}`)
    .send({ name: 'exits' });
  const res = await request(t.app)
    .post(`/v1/workflows/${def.body.id}/versions`)
    .set('Authorization', `Bearer ${key}`)
    .send({ runtimeGraph: { nodes: [sh('a', 'true'), cleanup()], edges: [{ source: 'a', target: 'cleanup' }] } });
  expect(res.status).toBe(400);
  expect(JSON.stringify(res.body)).toContain('edges.0');
  const bad = await request(t.app)
    .post(`/v1/workflows/${def.body.id}/versions`)
    .set('Authorization', `Bearer ${key}`)
    .send({ runtimeGraph: { nodes: [sh('a', 'true', { runWhen: 'sometimes' })] } });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(bad.body)).toContain('nodes.0.runWhen');
});

test('a run past settings.timeoutSeconds ends timed_out with its reason: running nodes stopped, the rest cancelled, exit nodes run', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [sh('quick', 'true'), sh('long', 'sleep 120'), sh('after', 'true'), cleanup()],
    edges: [
      { source: 'quick', target: 'long' },
      { source: 'long', target: 'after' },
    ],
    settings: { maxParallelism: 4, failFast: false, timeoutSeconds: 4 },
  });
  const started = Date.now();
  const run = await startRun(t.app, key, workflowId);
  const done = await waitForRun(t.app, key, run.id, 60_000);
  expect(done.status).toBe('timed_out');
  expect(done.errorMessage).toBe('the run timed out after 4 s (settings.timeoutSeconds)');
  // Bound: the timeout, the container's stop (heartbeat cancellation within 10 s), the exit node's container.
  expect(Date.now() - started).toBeLessThan(4_000 + 10_000 + 15_000);
  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.quick!.status).toBe('success');
  expect(tasks.long!.status).toBe('cancelled');
  expect(tasks.after!.status).toBe('cancelled');
  expect(tasks.cleanup).toMatchObject({ status: 'success', lastResultPreview: { outcome: 'timed_out' } });
  await until('no container left', async () => (await engine.runner.listManaged({ run: run.id })).length === 0, 30_000);
  // Temporal's record agrees: the execution completed, saying timed_out.
  const result = await t.temporal.workflow.getHandle(run.temporalWorkflowId).result();
  expect(result.status).toBe('timed_out');
});

test('a paused run holds: no node starts for 10 s while running ones finish; after resume it completes', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [sh('first', 'sleep 2'), sh('second', 'true'), sh('third', 'true')],
    edges: [
      { source: 'first', target: 'second' },
      { source: 'second', target: 'third' },
    ],
  });
  const auth = { Authorization: `Bearer ${key}` };
  const run = await startRun(t.app, key, workflowId);
  await until('the first container to run', async () =>
    (await engine.runner.listManaged({ run: run.id })).some((c) => c.State === 'running'),
  );
  const paused = await request(t.app).post(`/v1/runs/${run.id}/pause`).set(auth);
  expect(paused.status).toBe(200);
  expect(paused.body).toEqual({ runId: run.id, paused: true, changed: true });
  expect((await request(t.app).get(`/v1/runs/${run.id}`).set(auth)).body.paused).toMatchObject({
    by: expect.any(String),
  });
  // The running node finishes; nothing else starts while paused.
  await until('the first node to finish', async () => (await tasksOf(t.app, key, run.id)).first!.status === 'success');
  await new Promise((r) => setTimeout(r, 10_000));
  const held = await tasksOf(t.app, key, run.id);
  expect(held.second!.status).toBe('pending');
  expect((await request(t.app).get(`/v1/runs/${run.id}`).set(auth)).body.status).toBe('running');
  // The pause is durable: workers restarted meanwhile rebuild it from the run's history and hold the run still.
  await fixture.stopWorkers();
  engine = await fixture.startWorkers();
  await new Promise((r) => setTimeout(r, 4000));
  expect((await tasksOf(t.app, key, run.id)).second!.status).toBe('pending');

  const resumed = await request(t.app).post(`/v1/runs/${run.id}/resume`).set(auth);
  expect(resumed.body).toEqual({ runId: run.id, paused: false, changed: true });
  const done = await waitForRun(t.app, key, run.id);
  expect(done.status).toBe('success');
  expect((done as unknown as { paused?: unknown }).paused).toBeUndefined();
  const again = await request(t.app).post(`/v1/runs/${run.id}/pause`).set(auth);
  expect(again.status).toBe(409);
  expect(again.body.error.code).toBe('run_finished');
  const audit = await t.db
    .collection('audit_logs')
    .find({ resourceId: run.id, action: { $in: ['pause', 'resume'] } })
    .toArray();
  expect(audit.map((a) => a.action).sort()).toEqual(['pause', 'resume']);
});

test('retry-failed retries every failed task of a run in one reset, their downstream too; none failed is a 409', async () => {
  const flaky = (id: string) =>
    sh(id, `grep -q '"attempt": 1,' /emboflow/context.json && exit 4; echo ${id} > /emboflow/outputs/${id}.txt`);
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [flaky('a'), flaky('b'), sh('ok', 'true'), sh('join', 'ls /emboflow/inputs')],
    edges: [
      { source: 'a', target: 'join' },
      { source: 'b', target: 'join' },
      { source: 'ok', target: 'join' },
    ],
  });
  const auth = { Authorization: `Bearer ${key}` };
  const run = await startRun(t.app, key, workflowId);
  expect((await waitForRun(t.app, key, run.id)).status).toBe('failed');
  const res = await request(t.app).post(`/v1/runs/${run.id}/retry-failed`).set(auth);
  expect(res.status).toBe(202);
  expect(res.body).toEqual({ runId: run.id, nodeIds: ['a', 'b'], resetNodeIds: ['a', 'b', 'join'] });
  await until('the run to finish again', async () => {
    const r = await request(t.app).get(`/v1/runs/${run.id}`).set(auth);
    return r.body.status === 'success' && r.body;
  });
  const tasks = await tasksOf(t.app, key, run.id);
  expect([tasks.a!.attempt, tasks.b!.attempt, tasks.ok!.attempt, tasks.join!.status]).toEqual([2, 2, 1, 'success']);
  const none = await request(t.app).post(`/v1/runs/${run.id}/retry-failed`).set(auth);
  expect(none.status).toBe(409);
  expect(none.body.error.code).toBe('nothing_to_retry');
});
