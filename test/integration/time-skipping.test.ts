// Timers and approval deadlines of days, under Temporal's time-skipping test server: the run workflow with stub
// activities, so what is tested is the workflow's own handling of durable time.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type {
  ActivityContract,
  PlanNode,
  RunPlan,
  TaskUpdate,
  TriggeredRun,
  TriggeredRunRequest,
} from '../../src/engine/contract';
import searchAttributes from '../../src/temporal/search-attributes.json';
import { runWorkflow } from '../../workflows/run';
import { triggeredRunWorkflow } from '../../workflows/triggered-run';
import { workflowBundle } from '../support/engine';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const launcher = execFileSync('bash', [join(__dirname, '..', '..', 'scripts', 'test-server.sh')], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .pop()!;
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: launcher } },
  });
  // The workflow sets EmboFlow's search attributes; this server has to know them, as the dev server does.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      Object.keys(searchAttributes).map((k) => [k, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
}, 120_000);
afterAll(async () => env?.teardown());

const DAY = 86_400;

function stubActivities(plan: RunPlan, updates: TaskUpdate[], finished: string[]): ActivityContract {
  return {
    loadRunPlan: async () => plan,
    markRunStarted: async () => undefined,
    markTasks: async (_runId, batch) => {
      updates.push(...batch);
    },
    finishRun: async (_runId, outcome) => {
      finished.push(outcome);
    },
    resetTasks: async () => [],
    executeDockerNode: async () => ({ artifacts: [], assetIds: [], cacheHit: false }),
    executeBuiltinNode: async () => ({ artifacts: [], assetIds: [], cacheHit: false }),
    buildNodeImage: async () => ({ image: 'x', built: false }),
  };
}

const node = (id: string, executorType: PlanNode['executorType'], extra: Partial<PlanNode> = {}): PlanNode => ({
  id,
  executorType,
  taskQueue: 'time-skipping',
  timeoutSeconds: 60,
  generation: 0,
  attemptBase: 0,
  ...extra,
});

async function runPlan(plan: RunPlan) {
  const updates: TaskUpdate[] = [];
  const finished: string[] = [];
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: 'time-skipping',
    workflowBundle: await workflowBundle(),
    activities: stubActivities(plan, updates, finished),
  });
  const startedAt = await env.currentTimeMs();
  const realStart = Date.now();
  const result = await worker.runUntil(
    env.client.workflow.execute(runWorkflow, {
      taskQueue: 'time-skipping',
      workflowId: `ts-${plan.runId}`,
      args: [{ runId: plan.runId }],
    }),
  );
  return {
    result,
    updates,
    finished,
    skippedMs: (await env.currentTimeMs()) - startedAt,
    realMs: Date.now() - realStart,
  };
}

test('a three-day timer completes durably without waiting three days', async () => {
  const plan: RunPlan = {
    runId: 'timer',
    nodes: [node('wait', 'timer', { timerSeconds: 3 * DAY }), node('after', 'builtin')],
    edges: [{ source: 'wait', target: 'after' }],
    maxParallelism: 4,
    failFast: false,
    assetIds: [],
    defaultTaskQueue: 'time-skipping',
  };
  const { result, updates, skippedMs, realMs } = await runPlan(plan);
  expect(result).toEqual({ runId: 'timer', status: 'success', failedNodeIds: [] });
  expect(skippedMs).toBeGreaterThanOrEqual(3 * DAY * 1000);
  expect(realMs).toBeLessThan(60_000);
  expect(updates.filter((u) => u.nodeId === 'wait').map((u) => u.status)).toEqual(['queued', 'success']);
});

test('an approval deadline of two days applies its default outcome', async () => {
  const plan: RunPlan = {
    runId: 'deadline-default',
    nodes: [
      node('review', 'approval', {
        approval: { timeoutSeconds: 2 * DAY, defaultOutcome: 'rejected', routesRejection: true },
      }),
      node('rework', 'builtin'),
    ],
    edges: [{ source: 'review', target: 'rework', condition: 'result.approved == false' }],
    maxParallelism: 4,
    failFast: false,
    assetIds: [],
    defaultTaskQueue: 'time-skipping',
  };
  const { result, updates, skippedMs } = await runPlan(plan);
  expect(result.status).toBe('success');
  expect(skippedMs).toBeGreaterThanOrEqual(2 * DAY * 1000);
  const decided = updates.find((u) => u.nodeId === 'review' && u.status === 'success');
  expect(decided?.result).toMatchObject({ approved: false, decidedBy: 'system:deadline' });
});

test('an approval deadline with no default outcome fails the node and skips its downstream', async () => {
  const plan: RunPlan = {
    runId: 'deadline-none',
    nodes: [
      node('review', 'approval', { approval: { timeoutSeconds: 7 * DAY, routesRejection: false } }),
      node('publish', 'builtin'),
    ],
    edges: [{ source: 'review', target: 'publish' }],
    maxParallelism: 4,
    failFast: false,
    assetIds: [],
    defaultTaskQueue: 'time-skipping',
  };
  const { result, updates, finished } = await runPlan(plan);
  expect(result).toEqual({ runId: 'deadline-none', status: 'failed', failedNodeIds: ['review'] });
  expect(updates.find((u) => u.nodeId === 'review' && u.status === 'failed')?.errorMessage).toMatch(
    /^no decision by the deadline/,
  );
  expect(updates.find((u) => u.nodeId === 'publish')).toMatchObject({
    status: 'skipped',
    skipReason: 'upstream_failed',
  });
  expect(finished).toEqual(['failed']);
});

test('a run-level timeout of two days ends a three-day run timed_out, and its exit node still runs', async () => {
  const plan: RunPlan = {
    runId: 'run-timeout',
    nodes: [
      node('wait', 'timer', { timerSeconds: 3 * DAY }),
      node('cleanup', 'timer', { onExit: true, timerSeconds: 60 }),
    ],
    edges: [],
    maxParallelism: 4,
    failFast: false,
    assetIds: [],
    defaultTaskQueue: 'time-skipping',
    timeoutSeconds: 2 * DAY,
  };
  const { result, updates, finished, skippedMs } = await runPlan(plan);
  expect(result.status).toBe('timed_out');
  expect(skippedMs).toBeGreaterThanOrEqual(2 * DAY * 1000);
  // The timeout came first: the three-day timer never finished.
  expect(updates.filter((u) => u.nodeId === 'wait').map((u) => u.status)).not.toContain('success');
  expect(updates.filter((u) => u.nodeId === 'cleanup').map((u) => u.status)).toContain('success');
  expect(finished).toEqual(['timed_out']);
});

test("a schedule's launcher inserts its run for the scheduled time and runs it as its child, through a day-long timer", async () => {
  const plan: RunPlan = {
    runId: 'launched',
    nodes: [node('wait', 'timer', { timerSeconds: DAY })],
    edges: [],
    maxParallelism: 4,
    failFast: false,
    assetIds: [],
    defaultTaskQueue: 'time-skipping',
  };
  const requests: TriggeredRunRequest[] = [];
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: 'time-skipping',
    workflowBundle: await workflowBundle(),
    activities: {
      ...stubActivities(plan, [], []),
      createTriggeredRun: async (request: TriggeredRunRequest): Promise<TriggeredRun> => {
        requests.push(request);
        return { runId: 'launched', workflowId: 'wfl_1', projectId: 'prj_1', workspaceId: 'wsp_1', summary: 'test' };
      },
    },
  });
  // A schedule's action names its workflow by the id it was given plus the scheduled time.
  const launcherId = 'emboflow-trigger-trg_1-2026-12-01T03:30:00Z';
  const startedAt = await env.currentTimeMs();
  const result = await worker.runUntil(
    env.client.workflow.execute(triggeredRunWorkflow, {
      taskQueue: 'time-skipping',
      workflowId: launcherId,
      args: [{ triggerId: 'trg_1' }],
    }),
  );
  expect(result).toEqual({ runId: 'launched', status: 'success' });
  expect(requests[0]).toEqual({ triggerId: 'trg_1', launcherId, scheduledAt: Date.parse('2026-12-01T03:30:00Z') });
  expect((await env.currentTimeMs()) - startedAt).toBeGreaterThanOrEqual(DAY * 1000);
  // The run is the launcher's child, under the run's own workflow id.
  const child = await env.client.workflow.getHandle('emboflow-run-launched').describe();
  expect(child.parentExecution?.workflowId).toBe(launcherId);
  expect(child.status.name).toBe('COMPLETED');
});
