// OpenTelemetry tracing, on: the API (in-process) and a real worker process both export to an OTLP/HTTP collector
// on loopback, and one run is one trace — the API's workflow start, the run workflow and each node's activity.
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seedUser, seedWorkspace, startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { seedWorkflow } from '../support/engine';
import { sh, startRun, until, waitForRun } from '../support/runs';
import { bundleFile, spawnWorker, stopWorker, workerEnv } from '../support/worker-process';

interface ReceivedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

let collector: Server;
let endpoint: string;
const spans: ReceivedSpan[] = [];
let t: TestApp;
let worker: ChildProcess | undefined;

/** A minimal OTLP/HTTP (JSON) trace receiver: keeps every span it is sent. */
function startCollector(): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') return void res.writeHead(404).end();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const rs of body.resourceSpans ?? []) {
        const service =
          rs.resource?.attributes?.find((a: { key: string }) => a.key === 'service.name')?.value?.stringValue ?? '';
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? [])
            spans.push({
              service,
              name: s.name,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId || undefined,
            });
        }
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  collector = await startCollector();
  endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  t = await startTestApp({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
});
afterAll(async () => {
  if (worker) await stopWorker(worker, 'SIGKILL');
  await t?.close();
  collector?.close();
});

test('a run is one trace: the API start, the run workflow and every node activity, across processes', async () => {
  const scope = await seedWorkspace(t.db);
  const key = (await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'editor' }])).apiKey;
  worker = spawnWorker(
    // No reconciliation passes: their traces would be counted with the run's (they have their own, every 10 s).
    workerEnv(t.config, {
      WORKFLOW_BUNDLE_PATH: await bundleFile(),
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      RECONCILE_INTERVAL_SECONDS: '0',
    }),
  );
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [{ id: 'prep', executorType: 'builtin', executorConfig: { op: 'noop' } }, sh('work', 'echo traced')],
    edges: [{ source: 'prep', target: 'work' }],
  });
  const run = await waitForRun(t.app, key, (await startRun(t.app, key, workflowId)).id);
  expect(run.status).toBe('success');

  const start = await until(
    'the API to export its StartWorkflow span',
    async () => spans.find((s) => s.name === 'StartWorkflow:runWorkflow'),
    30_000,
  );
  expect(start.service).toBe('emboflow-api');
  const inTrace = () => spans.filter((s) => s.traceId === start.traceId);
  // The worker's batch processor exports about every second; the workflow's own span when the run has closed.
  const expected = [
    'RunWorkflow:runWorkflow',
    'RunActivity:executeBuiltinNode',
    'RunActivity:executeDockerNode',
    'RunActivity:finishRun',
  ];
  await until(
    "the worker to export the run's spans",
    async () => expected.every((name) => inTrace().some((s) => s.name === name)),
    30_000,
  );
  const trace = inTrace();
  const workflowSpan = trace.find((s) => s.name === 'RunWorkflow:runWorkflow');
  expect(workflowSpan).toMatchObject({ service: 'emboflow-worker', parentSpanId: start.spanId });
  expect(trace.filter((s) => s.name === 'StartActivity:executeBuiltinNode')).toHaveLength(1);
  expect(trace.filter((s) => s.name === 'StartActivity:executeDockerNode')).toHaveLength(1);
  const activities = trace.filter((s) => s.name.startsWith('RunActivity:')).map((s) => s.name);
  expect(activities.filter((n) => /execute\w+Node$/.test(n)).sort()).toEqual([
    'RunActivity:executeBuiltinNode',
    'RunActivity:executeDockerNode',
  ]);
  // The mirror's control writes (local activities) are in the same trace.
  expect(activities).toEqual(
    expect.arrayContaining(['RunActivity:loadRunPlan', 'RunActivity:markTasks', 'RunActivity:finishRun']),
  );
  // Every worker span hangs off the API's span, directly or through the workflow's.
  const ids = new Set(trace.map((s) => s.spanId));
  for (const s of trace) if (s !== start) expect(ids.has(s.parentSpanId!)).toBe(true);
});

test('with tracing off (no endpoint), nothing is exported and runs are unaffected', async () => {
  const plain = await startTestApp();
  try {
    const before = spans.length;
    const scope = await seedWorkspace(plain.db);
    const key = (await seedUser(plain.db, [{ workspaceId: scope.workspaceId, role: 'editor' }])).apiKey;
    const w = spawnWorker(
      workerEnv(plain.config, { WORKFLOW_BUNDLE_PATH: await bundleFile(), RECONCILE_INTERVAL_SECONDS: '0' }),
    );
    try {
      const { workflowId } = await seedWorkflow(plain.db, scope, {
        nodes: [{ id: 'n', executorType: 'builtin', executorConfig: { op: 'noop' } }],
      });
      const run = await waitForRun(plain.app, key, (await startRun(plain.app, key, workflowId)).id);
      expect(run.status).toBe('success');
      await new Promise((r) => setTimeout(r, 2500));
      expect(spans.slice(before).filter((s) => s.service === 'emboflow-worker')).toEqual([]);
    } finally {
      await stopWorker(w);
    }
  } finally {
    await plain.close();
  }
});
