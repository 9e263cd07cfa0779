// A map over a 10,000-element list, on the real stack with a worker process of its own: every element planned as
// part of an item (batches of 25: 400 item containers), the map's child workflow continuing as new between pages
// so no execution's history grows long, and the worker's peak memory measured. Alone with the other heavy suites.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { seedUser, seedWorkspace, startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { seedWorkflow } from '../support/engine';
import { sh, startRun, tasksOf, waitForRun } from '../support/runs';
import { bundleFile, spawnWorker, stopWorker, workerEnv } from '../support/worker-process';

const ELEMENTS = 10_000;
const BATCH = 25;

let t: TestApp;
let worker: ChildProcess | undefined;
let key: string;
let scope: { workspaceId: string; projectId: string };

beforeAll(async () => {
  t = await startTestApp();
  // Short histories: the run and the map continue as new past 1,000 events (the default is 8,000 for maps).
  worker = spawnWorker(
    workerEnv(t.config, { WORKFLOW_BUNDLE_PATH: await bundleFile(), CONTINUE_AS_NEW_AFTER_EVENTS: '1000' }),
  );
  scope = await seedWorkspace(t.db);
  key = (await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'editor' }])).apiKey;
}, 60_000);

afterAll(async () => {
  if (worker) await stopWorker(worker);
  await t?.close();
});

test(`a map over a ${ELEMENTS}-element list completes within Temporal's limits`, async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh(
        'gen',
        `awk 'BEGIN { printf "{\\"items\\": ["; for (i = 0; i < ${ELEMENTS}; i++) printf "%s%d", (i ? "," : ""), i; print "]}" }' > /emboflow/outputs/result.json`,
      ),
      sh(
        'each',
        // Each container sums its batch's values from context.json.
        `tr -d ' \\n' < /emboflow/context.json | grep -o '"value":\\[[0-9,]*\\]' | grep -o '[0-9][0-9]*' | awk '{ s += $1; n++ } END { printf "{\\"n\\": %d, \\"sum\\": %d}", n, s }' > /emboflow/outputs/result.json`,
        { map: { over: 'inputs.gen.items', batchSize: BATCH, maxParallel: 8 } },
        { memoryMb: 32 },
      ),
      sh(
        'total',
        `cat /emboflow/inputs/each/*/result.json | grep -o '"sum": [0-9]*' | awk '{ s += $2; n++ } END { printf "{\\"batches\\": %d, \\"sum\\": %d}", n, s }' > /emboflow/outputs/result.json`,
      ),
    ],
    edges: [
      { source: 'gen', target: 'each' },
      { source: 'each', target: 'total' },
    ],
    settings: { maxParallelism: 8, failFast: false },
  });
  const started = Date.now();
  const run = await startRun(t.app, key, workflowId);
  const done = await waitForRun(t.app, key, run.id, 30 * 60_000);
  const wallMs = Date.now() - started;
  expect(done.status).toBe('success');

  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.each!.summary.items).toMatchObject({ total: ELEMENTS / BATCH, succeeded: ELEMENTS / BATCH, failed: 0 });
  // Every element reached exactly one container: the batches' sums add up to 0 + 1 + ... + 9,999.
  expect(tasks.total!.lastResultPreview).toEqual({ batches: ELEMENTS / BATCH, sum: (ELEMENTS * (ELEMENTS - 1)) / 2 });
  const failed = await request(t.app)
    .get(`/v1/runs/${run.id}/tasks/each/items?status=failed`)
    .set('Authorization', `Bearer ${key}`);
  expect(failed.body).toMatchObject({ items: [], counts: { total: ELEMENTS / BATCH, success: ELEMENTS / BATCH } });

  // Temporal's own record: the map's child workflow continued as new, and no execution's history grew long.
  const executions: Array<{ workflowId: string; events: number }> = [];
  for await (const w of t.temporal.workflow.list({ query: `WorkflowId STARTS_WITH "${run.temporalWorkflowId}"` })) {
    const history = await t.temporal.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
    executions.push({ workflowId: w.workflowId, events: history.events?.length ?? 0 });
  }
  const mapExecutions = executions.filter((e) => e.workflowId.includes('.map.each.'));
  expect(mapExecutions.length).toBeGreaterThanOrEqual(2);
  const largest = Math.max(...executions.map((e) => e.events));
  expect(largest).toBeLessThan(10_000);
  const peak = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${worker!.pid}/status`, 'utf8'));
  expect(peak).not.toBeNull();
  console.log(
    `map over ${ELEMENTS} elements (${ELEMENTS / BATCH} items of ${BATCH}): ${(wallMs / 1000).toFixed(1)} s wall, ` +
      `${executions.length} executions (map: ${mapExecutions.length}), largest history ${largest} events, ` +
      `worker peak RSS ${Math.round(Number(peak![1]) / 1024)} MiB`,
  );
});
