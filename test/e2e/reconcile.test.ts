// Temporal is the truth: whatever ends or restarts a run's execution outside the run workflow's own code — a
// terminate, a workflow timeout, a reset — the mirror follows within 30 s (the reconciler, at its default 10 s
// interval), and a run workflow that fails outside node logic finishes its mirror before it fails.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { temporal as proto } from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import request from 'supertest';
import { createControlActivities } from '../../activities/control';
import { RunStore } from '../../src/db/runs';
import { pendingTask } from '../../src/domain/run';
import type { WorkflowRunDoc } from '../../src/domain/run';
import { RuntimeGraphSchema } from '../../src/domain/runtime-graph';
import type { RuntimeGraphInput } from '../../src/domain/runtime-graph';
import type { ActivityContract } from '../../src/engine/contract';
import { newId } from '../../src/ids';
import { runWorkflowId, SearchAttr } from '../../src/temporal/names';
import { reconcileScheduleId } from '../../src/temporal/reconcile-schedule';
import { reconcileRuns, runWorkflow } from '../../workflows';
import { seedUser, seedWorkspace, startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { containerStarts, seedWorkflow, startEngine, workflowBundle } from '../support/engine';
import type { Engine } from '../support/engine';
import { sh, startRun, tasksOf, until, waitForRun } from '../support/runs';
import type { RunBody } from '../support/runs';

let t: TestApp;
let engine: Engine;
let key: string;
let scope: { workspaceId: string; projectId: string };
const auth = () => ({ Authorization: `Bearer ${key}` });
const CONVERGE_MS = 30_000;

beforeAll(async () => {
  // The default interval (10 s): the latencies measured here are the ones a deployment gets.
  t = await startTestApp();
  engine = await startEngine(t);
  scope = await seedWorkspace(t.db);
  key = (await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'editor' }])).apiKey;
});
afterAll(async () => {
  await engine?.stop();
  await t?.close();
});

type Run = RunBody & { finishedAt?: string; finishedByExecution?: string };

async function runOf(runId: string): Promise<Run> {
  const res = await request(t.app).get(`/v1/runs/${runId}`).set(auth());
  if (res.status !== 200) throw new Error(`get run: ${res.status}`);
  return res.body as Run;
}

/** Polls the mirror until the run is finished (bounded by timeoutMs). */
const untilFinished = (runId: string, timeoutMs = CONVERGE_MS) =>
  until(
    `run ${runId} to finish in the mirror`,
    async () => {
      const r = await runOf(runId);
      return ['success', 'failed', 'cancelled'].includes(r.status) && r;
    },
    timeoutMs,
  );
const liveContainers = async (runId: string) => (await engine.runner.listManaged({ run: runId })).length;

/** A run inserted the way the API inserts one, for tests that start its workflow themselves. */
async function insertRun(graph: RuntimeGraphInput): Promise<string> {
  const { workflowId, versionId } = await seedWorkflow(t.db, scope, graph);
  const runtime = RuntimeGraphSchema.parse(graph);
  const runId = newId('run');
  const now = new Date();
  const run: WorkflowRunDoc = {
    _id: runId,
    ...scope,
    workflowDefinitionId: workflowId,
    workflowVersionId: versionId,
    versionNumber: 1,
    temporalWorkflowId: runWorkflowId(runId),
    inputBindings: [],
    assetIds: [],
    datasetIds: [],
    params: {},
    triggeredBy: 'test',
    status: 'pending',
    runtimeSnapshot: runtime,
    summary: {
      taskCounts: {
        pending: runtime.nodes.length,
        queued: 0,
        running: 0,
        success: 0,
        failed: 0,
        cancelled: 0,
        skipped: 0,
      },
      completedTaskCount: 0,
      artifactCount: 0,
      stdoutLines: 0,
      stderrLines: 0,
      failedTaskIds: [],
    },
    createdAt: now,
    updatedAt: now,
  };
  const upstream = (id: string) => runtime.edges.filter((e) => e.target === id).map((e) => e.source);
  await new RunStore(t.db).insertRun(
    run,
    runtime.nodes.map((n) => pendingTask(run, n, upstream(n.id), now)),
  );
  return runId;
}

const searchAttributes = (runId: string) => [
  { key: SearchAttr.runId, value: runId },
  { key: SearchAttr.projectId, value: scope.projectId },
  { key: SearchAttr.workspaceId, value: scope.workspaceId },
  { key: SearchAttr.status, value: 'pending' },
];

/** Temporal's reset to a workflow task, as the Web UI and `temporal workflow reset` do it; answers the new run id. */
async function resetTo(workflowId: string, which: 'first' | 'last'): Promise<string> {
  const history = await t.temporal.workflow.getHandle(workflowId).fetchHistory();
  const completed = history.events!.filter(
    (e) => e.eventType === proto.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
  );
  const event = which === 'first' ? completed[0]! : completed.at(-1)!;
  const { runId } = await t.temporal.workflowService.resetWorkflowExecution({
    namespace: t.config.TEMPORAL_NAMESPACE,
    workflowExecution: { workflowId },
    reason: `test: reset to the ${which} workflow task`,
    workflowTaskFinishEventId: event.eventId,
    requestId: randomUUID(),
  });
  return runId!;
}

test('the worker creates the reconciler schedule: one pass at a time, every RECONCILE_INTERVAL_SECONDS', async () => {
  const schedule = await t.temporal.schedule.getHandle(reconcileScheduleId(t.config)).describe();
  expect(schedule.spec.intervals).toMatchObject([{ every: 10_000 }]);
  expect(schedule.policies.overlap).toBe('SKIP');
  expect(schedule.state.paused).toBe(false);
  expect(schedule.action).toMatchObject({
    workflowType: reconcileRuns.name,
    taskQueue: `${t.config.TASK_QUEUE_PREFIX}emboflow-runs`,
  });
});

test('a run terminated in Temporal mid-container is cancelled in the mirror with who and why, tasks closed, containers gone', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [sh('long', 'sleep 120', {}, { timeoutSeconds: 300 }), sh('after', 'echo never')],
    edges: [{ source: 'long', target: 'after' }],
  });
  const run = await startRun(t.app, key, workflowId);
  await until('the container to run', async () =>
    (await engine.runner.listManaged({ run: run.id })).some((c) => c.State === 'running'),
  );

  const handle = t.temporal.workflow.getHandle(run.temporalWorkflowId);
  const terminatedAt = Date.now();
  await handle.terminate('operator says stop');
  const done = await untilFinished(run.id, CONVERGE_MS);
  const mirrorMs = Date.now() - terminatedAt;
  await until('no container of the run', async () => (await liveContainers(run.id)) === 0, CONVERGE_MS);
  const containersMs = Date.now() - terminatedAt;
  console.log(`terminate: mirror converged after ${mirrorMs} ms, containers gone after ${containersMs} ms`);

  expect(done.status).toBe('cancelled');
  expect(done.errorMessage).toMatch(/^terminated in Temporal: operator says stop \(by .+\)$/);
  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.long).toMatchObject({ status: 'cancelled', errorMessage: done.errorMessage });
  expect(tasks.after).toMatchObject({ status: 'cancelled', errorMessage: done.errorMessage });
  expect(tasks.after!.startedAt).toBeUndefined();
  expect(done.summary.taskCounts).toMatchObject({ cancelled: 2, running: 0, pending: 0, queued: 0 });
  expect(containersMs).toBeLessThan(CONVERGE_MS);

  const desc = await handle.describe();
  expect(desc.status.name).toBe('TERMINATED');
  expect(done.finishedByExecution).toBe(desc.runId);
  // Temporal lets no one change a closed execution's search attributes: the Web UI shows the execution's own status
  // (TERMINATED) beside the EmboflowStatus the workflow last set.
  expect(desc.typedSearchAttributes.get(SearchAttr.status)).toBe('running');
});

test('a run whose workflow execution timeout passes fails in the mirror, saying which timeout', async () => {
  const runId = await insertRun({ nodes: [sh('long', 'sleep 120', {}, { timeoutSeconds: 300 })] });
  const handle = await t.temporal.workflow.start(runWorkflow, {
    taskQueue: t.config.TASK_QUEUE_PREFIX + t.config.RUN_TASK_QUEUE,
    workflowId: runWorkflowId(runId),
    args: [{ runId }],
    workflowExecutionTimeout: '8s',
    typedSearchAttributes: searchAttributes(runId),
  });
  const closedAt = await until(
    'the execution to time out',
    async () => {
      const d = await handle.describe();
      return d.status.name === 'TIMED_OUT' && d.closeTime!.getTime();
    },
    30_000,
  );
  const done = await untilFinished(runId, CONVERGE_MS);
  const mirrorMs = Date.now() - closedAt;
  await until('no container of the run', async () => (await liveContainers(runId)) === 0, CONVERGE_MS);
  console.log(`timeout: mirror converged ${mirrorMs} ms after the execution timed out`);

  expect(done.status).toBe('failed');
  expect(done.errorMessage).toBe('timed out in Temporal: the workflow execution timeout (8s) passed');
  expect((await tasksOf(t.app, key, runId)).long).toMatchObject({
    status: 'cancelled',
    errorMessage: done.errorMessage,
  });
  expect(mirrorMs).toBeLessThan(CONVERGE_MS);
});

test('a reset of a finished run to its first workflow task reopens the mirror, which then shows the new execution', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh('a', `echo a-${Date.now()} > /emboflow/outputs/a.txt`),
      { id: 'wait', executorType: 'timer', executorConfig: { seconds: 6 } },
    ],
    edges: [{ source: 'a', target: 'wait' }],
  });
  const run = await startRun(t.app, key, workflowId);
  const first = (await waitForRun(t.app, key, run.id)) as Run;
  expect(first.status).toBe('success');

  const resetAt = Date.now();
  const since = Math.floor(resetAt / 1000) - 1;
  const execution = await resetTo(run.temporalWorkflowId, 'first');
  await until('the mirror to reopen', async () => (await runOf(run.id)).status === 'running', CONVERGE_MS);
  const reopenMs = Date.now() - resetAt;
  const done = await untilFinished(run.id, CONVERGE_MS);
  const convergeMs = Date.now() - resetAt;
  console.log(
    `reset to the first workflow task: mirror reopened after ${reopenMs} ms, finished again after ${convergeMs} ms`,
  );

  expect(done.status).toBe('success');
  expect(done.finishedByExecution).toBe(execution);
  expect(new Date(done.finishedAt!).getTime()).toBeGreaterThan(resetAt);
  expect(done.errorMessage).toBeUndefined();
  // The new execution collected the node that had succeeded instead of running its container again.
  expect(await containerStarts(engine, run.id, since)).toEqual([]);
  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.a!.status).toBe('success');
  expect(tasks.wait!.status).toBe('success');
});

test('a terminated run reset to its last workflow task reopens, resumes the interrupted node and finishes', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh('long', 'sleep 12; echo done > /emboflow/outputs/long.txt', {}, { timeoutSeconds: 120 }),
      sh('after', 'echo after > /emboflow/outputs/after.txt'),
    ],
    edges: [{ source: 'long', target: 'after' }],
  });
  const run = await startRun(t.app, key, workflowId);
  await until('the container to run', async () =>
    (await engine.runner.listManaged({ run: run.id })).some((c) => c.State === 'running'),
  );
  await t.temporal.workflow.getHandle(run.temporalWorkflowId).terminate('stop for now');
  const stopped = await untilFinished(run.id, CONVERGE_MS);
  expect(stopped.status).toBe('cancelled');

  const resetAt = Date.now();
  const execution = await resetTo(run.temporalWorkflowId, 'last');
  await until('the mirror to reopen', async () => (await runOf(run.id)).status === 'running', CONVERGE_MS);
  const reopenMs = Date.now() - resetAt;
  const done = await untilFinished(run.id, 60_000);
  const convergeMs = Date.now() - resetAt;
  console.log(
    `terminate, then reset to the last workflow task: mirror reopened after ${reopenMs} ms, finished after ${convergeMs} ms`,
  );

  expect(done.status).toBe('success');
  expect(done.finishedByExecution).toBe(execution);
  expect(done.errorMessage).toBeUndefined();
  const tasks = await tasksOf(t.app, key, run.id);
  for (const id of ['long', 'after']) {
    expect(tasks[id]).toMatchObject({ status: 'success' });
    expect(tasks[id]!.errorMessage).toBeUndefined();
    expect(tasks[id]!.interruptedAt).toBeUndefined();
  }
  expect(done.summary.taskCounts).toMatchObject({ success: 2, cancelled: 0 });
});

test('a run terminated during a durable timer and reset to its last workflow task is reopened by the reconciler', async () => {
  // The timer starts in the run's second workflow task: a reset to it does not run loadRunPlan again.
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh('first', `echo first-${Date.now()} > /emboflow/outputs/first.txt`),
      { id: 'wait', executorType: 'timer', executorConfig: { seconds: 30 } },
      sh('after', 'echo after > /emboflow/outputs/after.txt'),
    ],
    edges: [
      { source: 'first', target: 'wait' },
      { source: 'wait', target: 'after' },
    ],
  });
  const run = await startRun(t.app, key, workflowId);
  await until('the timer to be queued', async () => (await tasksOf(t.app, key, run.id)).wait!.status === 'queued');
  await t.temporal.workflow.getHandle(run.temporalWorkflowId).terminate('pause the pipeline');
  expect((await untilFinished(run.id)).status).toBe('cancelled');

  // Nothing in the new execution writes until the timer fires: only the reconciler can see the run is back.
  const resetAt = Date.now();
  const execution = await resetTo(run.temporalWorkflowId, 'last');
  await until('the mirror to reopen', async () => (await runOf(run.id)).status === 'running', CONVERGE_MS);
  const reopenMs = Date.now() - resetAt;
  expect(['pending', 'queued']).toContain((await tasksOf(t.app, key, run.id)).wait!.status);
  const done = await untilFinished(run.id, 60_000);
  console.log(
    `terminate in a timer, then reset to the last workflow task: the reconciler reopened the run after ${reopenMs} ms`,
  );

  expect(reopenMs).toBeLessThan(CONVERGE_MS);
  expect(done.status).toBe('success');
  expect(done.finishedByExecution).toBe(execution);
  const tasks = await tasksOf(t.app, key, run.id);
  for (const id of ['first', 'wait', 'after']) expect(tasks[id]!.status).toBe('success');
});

test('a run workflow failing outside node logic marks the run failed with the reason before the workflow fails', async () => {
  const runId = await insertRun({ nodes: [sh('one', 'echo one')] });
  // Its own queues: the docker node's executorConfig.taskQueue ('default') under a prefix of its own.
  const taskQueuePrefix = `${t.config.TASK_QUEUE_PREFIX}broken-`;
  const taskQueue = `${taskQueuePrefix}default`;
  const control = createControlActivities(t.db, new RunStore(t.db), { defaultTaskQueue: 'default', taskQueuePrefix });
  // The mirror refuses the workflow's task writes: a failure of the run workflow that is no node's.
  const activities: ActivityContract = {
    ...control,
    markTasks: async () => {
      throw ApplicationFailure.nonRetryable('mirror write refused', 'MirrorWriteError');
    },
    executeDockerNode: async () => ({ artifacts: [], assetIds: [], cacheHit: false }),
    executeBuiltinNode: async () => ({ artifacts: [], assetIds: [], cacheHit: false }),
    buildNodeImage: async () => ({ image: 'x', built: false }),
  };
  const connection = await NativeConnection.connect({ address: t.config.TEMPORAL_ADDRESS });
  try {
    const worker = await Worker.create({ connection, taskQueue, workflowBundle: await workflowBundle(), activities });
    const handle = await t.temporal.workflow.start(runWorkflow, {
      taskQueue,
      workflowId: runWorkflowId(runId),
      args: [{ runId }],
      typedSearchAttributes: searchAttributes(runId),
    });
    const outcome = await worker.runUntil(
      handle.result().then(
        () => 'completed',
        (err: Error) => err.name,
      ),
    );
    expect(outcome).toBe('WorkflowFailedError');

    const desc = await handle.describe();
    const run = await runOf(runId);
    expect(run.status).toBe('failed');
    expect(run.errorMessage).toBe('the run workflow failed: MirrorWriteError: mirror write refused');
    expect(run.finishedByExecution).toBe(desc.runId);
    expect(new Date(run.finishedAt!).getTime()).toBeLessThanOrEqual(desc.closeTime!.getTime());
    expect((await tasksOf(t.app, key, runId)).one).toMatchObject({
      status: 'cancelled',
      errorMessage: run.errorMessage,
    });
    expect(desc.typedSearchAttributes.get(SearchAttr.status)).toBe('failed');
  } finally {
    await connection.close();
  }
});
