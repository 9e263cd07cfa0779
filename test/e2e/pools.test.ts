// Worker pools as separate processes: routing by task queue, losing a worker mid-run, and the metrics endpoints.
import type { ChildProcess } from 'node:child_process';
import request from 'supertest';
import { seedUser, seedWorkspace, startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { seedWorkflow } from '../support/engine';
import { sh, startRun, tasksOf, waitForRun } from '../support/runs';
import { bundleFile, spawnWorker, stopWorker, workerEnv } from '../support/worker-process';

let t: TestApp;
let key: string;
let scope: { workspaceId: string; projectId: string };
let bundle: string;
const workers: ChildProcess[] = [];
const port = () => String(30_000 + Math.floor(Math.random() * 20_000));

beforeAll(async () => {
  t = await startTestApp();
  scope = await seedWorkspace(t.db);
  key = (await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'editor' }])).apiKey;
  bundle = await bundleFile();
});
afterAll(async () => {
  for (const w of workers) await stopWorker(w, 'SIGKILL');
  await t?.close();
});

function start(id: string, queues: string, metricsPort = '0'): ChildProcess {
  const w = spawnWorker(
    workerEnv(t.config, {
      WORKER_ID: id,
      WORKER_TASK_QUEUES: queues,
      WORKFLOW_BUNDLE_PATH: bundle,
      WORKER_METRICS_PORT: metricsPort,
      WORKER_SDK_METRICS_PORT: port(),
    }),
  );
  workers.push(w);
  return w;
}

async function metricsText(p: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`http://127.0.0.1:${p}/metrics`).catch(() => undefined);
    if (res?.ok) return res.text();
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no metrics on port ${p}`);
}

test('each node runs on the worker pool its task queue names, and the metrics show real series', async () => {
  const metricsPort = port();
  start('pool-default', 'emboflow-runs,default', metricsPort);
  start('pool-gpu', 'gpu');
  const stamp = Date.now();
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh('prepare', `echo ${stamp} > /emboflow/outputs/in.txt`),
      sh('train', `cat /emboflow/inputs/prepare/in.txt > /emboflow/outputs/model.txt`, {}, { taskQueue: 'gpu' }),
      { id: 'index', executorType: 'builtin', executorConfig: { op: 'noop', taskQueue: 'gpu' } },
      sh('report', 'cat /emboflow/inputs/train/model.txt'),
    ],
    edges: [
      { source: 'prepare', target: 'train' },
      { source: 'train', target: 'index' },
      { source: 'index', target: 'report' },
      { source: 'train', target: 'report' },
    ],
  });
  const run = await waitForRun(t.app, key, (await startRun(t.app, key, workflowId)).id);
  const tasks = await tasksOf(t.app, key, run.id);
  expect(run.status).toBe('success');
  expect(tasks.prepare!.summary).toMatchObject({
    worker: 'pool-default',
    taskQueue: `${t.config.TASK_QUEUE_PREFIX}default`,
  });
  expect(tasks.train!.summary).toMatchObject({ worker: 'pool-gpu', taskQueue: `${t.config.TASK_QUEUE_PREFIX}gpu` });
  expect(tasks.index!.summary).toMatchObject({ worker: 'pool-gpu' });
  expect(tasks.report!.summary).toMatchObject({ worker: 'pool-default' });

  const text = await metricsText(metricsPort);
  // One sample by name and labels, whatever order the labels are printed in.
  const value = (name: string, labels: Record<string, string>) => {
    for (const line of text.split('\n')) {
      const m = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const have = Object.fromEntries(
        m[2]!.split(',').map((kv) => kv.split('=').map((x) => x.replace(/"/g, '')) as [string, string]),
      );
      if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
    }
    return NaN;
  };
  expect(value('emboflow_runs_finished_total', { status: 'success' })).toBeGreaterThanOrEqual(1);
  expect(
    value('emboflow_task_duration_seconds_count', { executor: 'docker', outcome: 'success' }),
  ).toBeGreaterThanOrEqual(2);
  expect(value('emboflow_task_duration_seconds_sum', { executor: 'docker', outcome: 'success' })).toBeGreaterThan(0);
  expect(value('emboflow_container_start_seconds_count', {})).toBeGreaterThanOrEqual(2);
  expect(value('emboflow_cache_lookups_total', { result: 'miss' })).toBeGreaterThanOrEqual(2);
  expect(
    value('emboflow_task_schedule_to_start_seconds_count', { task_queue: `${t.config.TASK_QUEUE_PREFIX}default` }),
  ).toBeGreaterThanOrEqual(2);
  expect(value('emboflow_mirror_write_seconds_count', { op: 'transition' })).toBeGreaterThanOrEqual(4);
  // The Temporal SDK's own metrics, from the same endpoint.
  expect(text).toMatch(/^temporal_\w+/m);

  const api = await request(t.app).get('/metrics');
  expect(api.text).toMatch(/^emboflow_runs_started_total\{component="api"\} [1-9]/m);
  for (const w of workers.splice(0)) await stopWorker(w);
});

test('killing one of two workers mid-run loses no run', async () => {
  const a = start('twin-a', 'emboflow-runs,default');
  start('twin-b', 'emboflow-runs,default');
  const stamp = Date.now();
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'].map((id) =>
      sh(id, `sleep 2; echo ${id}-${stamp} > /emboflow/outputs/${id}.txt`),
    ),
    edges: [
      { source: 'n1', target: 'n3' },
      { source: 'n2', target: 'n4' },
      { source: 'n3', target: 'n5' },
      { source: 'n4', target: 'n6' },
    ],
  });
  const runs = [
    await startRun(t.app, key, workflowId),
    await startRun(t.app, key, workflowId, { params: { copy: 2 } }),
  ];
  await new Promise((r) => setTimeout(r, 3500));
  await stopWorker(a, 'SIGKILL');
  for (const r of runs) expect((await waitForRun(t.app, key, r.id, 180_000)).status).toBe('success');
  for (const w of workers.splice(0)) await stopWorker(w);
});
