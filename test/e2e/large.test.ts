// Large graphs stay under Temporal's history limits by continuing as new; here with a low threshold so a few
// hundred nodes exercise several continuations (the 10,000-node run is in the bench suite).
import { seedUser, seedWorkspace, startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { seedWorkflow, startEngine } from '../support/engine';
import type { Engine } from '../support/engine';
import { startRun, tasksOf, waitForRun } from '../support/runs';

let t: TestApp;
let engine: Engine;

beforeAll(async () => {
  t = await startTestApp({ CONTINUE_AS_NEW_AFTER_EVENTS: '400' });
  engine = await startEngine(t);
});
afterAll(async () => {
  await engine?.stop();
  await t?.close();
});

test('a 300-node layered DAG completes across several executions, each history under the threshold', async () => {
  const scope = await seedWorkspace(t.db);
  const { apiKey } = await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'editor' }]);
  const layers = 30;
  const width = 10;
  const id = (l: number, i: number) => `l${l}n${i}`;
  const nodes = [];
  const edges = [];
  for (let l = 0; l < layers; l++) {
    for (let i = 0; i < width; i++) {
      nodes.push({ id: id(l, i), executorType: 'builtin' as const, executorConfig: { op: 'noop' as const } });
      if (l > 0) {
        edges.push({ source: id(l - 1, i), target: id(l, i) });
        edges.push({ source: id(l - 1, (i + 1) % width), target: id(l, i) });
      }
    }
  }
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes,
    edges,
    settings: { maxParallelism: 50, failFast: false },
  });
  const run = await startRun(t.app, apiKey, workflowId);
  const done = await waitForRun(t.app, apiKey, run.id, 300_000);
  expect(done.status).toBe('success');
  expect(done.summary.taskCounts.success).toBe(300);

  const executions: Array<{ runId: string; events: number }> = [];
  for await (const w of t.temporal.workflow.list({ query: `WorkflowId = "${run.temporalWorkflowId}"` })) {
    const history = await t.temporal.workflow.getHandle(run.temporalWorkflowId, w.runId).fetchHistory();
    executions.push({ runId: w.runId, events: history.events?.length ?? 0 });
  }
  console.log(`300 nodes: ${executions.length} executions, events ${executions.map((e) => e.events).join(', ')}`);
  expect(executions.length).toBeGreaterThanOrEqual(3);
  // Each execution stops starting nodes past the threshold and drains what runs (at most maxParallelism nodes).
  for (const e of executions) expect(e.events).toBeLessThan(400 + 50 * 4 + 50);
  // Every node ran in exactly one execution: nothing finished was reset or run again by a continuation.
  const tasks = await tasksOf(t.app, apiKey, run.id);
  expect(Object.values(tasks).filter((x) => x.status !== 'success' || x.generation !== 0)).toEqual([]);
  const executionsOf = new Map<string, number>();
  for (const x of Object.values(tasks))
    executionsOf.set(x.summary.executor, (executionsOf.get(x.summary.executor) ?? 0) + 1);
  expect(executionsOf.get('builtin')).toBe(300);
  // A builtin task is written once, when it ends, with every timestamp of its life in order.
  for (const x of Object.values(tasks)) {
    const [queued, started, finished] = [x.queuedAt, x.startedAt, x.finishedAt].map((d) => new Date(d).getTime());
    expect(queued! <= started! && started! <= finished!).toBe(true);
  }
}, 600_000);
