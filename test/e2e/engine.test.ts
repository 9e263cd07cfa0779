// REST → Temporal → real containers → MongoDB → S3, end to end.
import request from 'supertest';
import { seedUser, seedWorkspace, startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { seedWorkflow, startEngine } from '../support/engine';
import type { Engine } from '../support/engine';
import { sh, startRun, tasksOf, waitForRun } from '../support/runs';

let t: TestApp;
let engine: Engine;
let key: string;
let scope: { workspaceId: string; projectId: string };

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

test('a diamond DAG passes files along every edge and the final artifact names its inputs', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh('a', 'echo -n A > /emboflow/outputs/a.txt'),
      sh('b', 'echo -n "B($(cat /emboflow/inputs/a/a.txt))" > /emboflow/outputs/b.txt'),
      sh('c', 'echo -n "C($(cat /emboflow/inputs/a/a.txt))" > /emboflow/outputs/c.txt'),
      sh(
        'd',
        'v="D[$(cat /emboflow/inputs/b/b.txt)+$(cat /emboflow/inputs/c/c.txt)]"; echo -n "$v" > /emboflow/outputs/final.txt; echo "{\\"value\\":\\"$v\\"}" > /emboflow/outputs/result.json',
        { artifactType: 'delivery_package' },
      ),
    ],
    edges: [
      { source: 'a', target: 'b' },
      { source: 'a', target: 'c' },
      { source: 'b', target: 'd' },
      { source: 'c', target: 'd' },
    ],
  });
  const started = await startRun(t.app, key, workflowId);
  expect(started.temporalUiUrl).toContain(encodeURIComponent(started.temporalWorkflowId));
  const run = await waitForRun(t.app, key, started.id);
  expect(run.status).toBe('success');
  expect(run.summary.taskCounts.success).toBe(4);

  const arts = await request(t.app).get(`/v1/runs/${run.id}/artifacts`).set('Authorization', `Bearer ${key}`);
  const final = arts.body.items.find((a: { path: string }) => a.path === 'final.txt');
  const content = await request(t.app)
    .get(`/v1/artifacts/${final.id}/content`)
    .set('Authorization', `Bearer ${key}`)
    .buffer(true);
  expect(content.text ?? content.body.toString()).toBe('D[B(A)+C(A)]');

  const byPath = Object.fromEntries(arts.body.items.map((a: { path: string; id: string }) => [a.path, a.id]));
  expect(final.lineage.inputArtifactIds.sort()).toEqual([byPath['b.txt'], byPath['c.txt']].sort());
  expect(final.storageRef.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(final.type).toBe('delivery_package');

  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.d!.lastResultPreview).toEqual({ value: 'D[B(A)+C(A)]' });
});

test('a node that exits non-zero is retried per its policy, then fails the run and skips its downstream', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh(
        'flaky',
        'echo "attempt $(cat /emboflow/context.json | grep -o "\\"attempt\\": [0-9]*")"; echo "disk quota exceeded" >&2; exit 3',
        {
          retry: { maxAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 1 },
        },
      ),
      sh('after', 'echo never'),
      sh('independent', 'echo fine > /emboflow/outputs/ok.txt'),
    ],
    edges: [{ source: 'flaky', target: 'after' }],
  });
  const run = await waitForRun(t.app, key, (await startRun(t.app, key, workflowId)).id);
  expect(run.status).toBe('failed');
  expect(run.summary.failedTaskIds).toEqual(['flaky']);

  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.flaky!.status).toBe('failed');
  expect(tasks.flaky!.attempt).toBe(3);
  expect(Object.keys(tasks.flaky!.attempts).sort()).toEqual(['1', '2', '3']);
  for (const a of Object.values(tasks.flaky!.attempts) as Array<{ status: string; exitCode: number }>) {
    expect(a).toMatchObject({ status: 'failed', exitCode: 3 });
  }
  expect(tasks.flaky!.errorMessage).toBe('container exited with code 3; last stderr: disk quota exceeded');
  expect(tasks.flaky!.logLines).toContain('attempt "attempt": 3');
  expect(tasks.after!.status).toBe('skipped');
  expect(tasks.after!.skipReason).toBe('upstream_failed');
  expect(tasks.independent!.status).toBe('success');
});

test('a node over its memory limit or its timeout fails only its own task, with the reason', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh('hog', 'a=x; while true; do a="$a$a"; done', {}, { memoryMb: 16 }),
      sh('sleepy', 'sleep 30', {}, { timeoutSeconds: 2 }),
      sh('fine', 'echo ok > /emboflow/outputs/ok.txt'),
    ],
    edges: [],
  });
  const run = await waitForRun(t.app, key, (await startRun(t.app, key, workflowId)).id);
  expect(run.status).toBe('failed');
  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.hog!.errorMessage).toMatch(/^out of memory: exceeded the 16 MiB memory limit/);
  expect(tasks.hog!.resources.oomKilled).toBe(true);
  expect(tasks.sleepy!.errorMessage).toBe('timed out after 2s (container killed)');
  expect(tasks.fine!.status).toBe('success');
  expect(run.summary.failedTaskIds).toEqual(['hog', 'sleepy']);
});

test('the network, the root filesystem and the pids limit are closed to a node, and the worker survives', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      // Any interface beyond loopback would mean a network; `none` leaves only lo.
      sh(
        'net',
        'ls /sys/class/net; test "$(ls /sys/class/net)" = "lo" && ! nc -w 2 127.0.0.1 7233 </dev/null && exit 9',
      ),
      sh('rootfs', 'echo x > /etc/owned || exit 7'),
      sh('forkbomb', 'i=0; while [ $i -lt 200 ]; do sleep 5 & i=$((i+1)); done; wait', {}, { pidsLimit: 16 }),
      sh(
        'capabilities',
        'grep CapEff /proc/self/status; grep -q "CapEff:\\s*0000000000000000" /proc/self/status && id -u | grep -qx 65534 && exit 5',
      ),
    ],
    edges: [],
  });
  const run = await waitForRun(t.app, key, (await startRun(t.app, key, workflowId)).id);
  const tasks = await tasksOf(t.app, key, run.id);
  // Each script exits with its own code only when the sandbox held.
  expect(tasks.net!.errorMessage).toMatch(/^container exited with code 9/);
  expect(tasks.rootfs!.errorMessage).toMatch(/^container exited with code 7; last stderr: .*Read-only file system/);
  expect(tasks.forkbomb!.status).toBe('failed');
  expect(tasks.forkbomb!.logLines.join('\n') + tasks.forkbomb!.errorMessage).toMatch(
    /Resource temporarily unavailable|can't fork/,
  );
  expect(tasks.capabilities!.errorMessage).toMatch(/^container exited with code 5/);

  // The same worker still runs the next run.
  const { workflowId: next } = await seedWorkflow(t.db, scope, { nodes: [sh('after', 'echo alive')], edges: [] });
  expect((await waitForRun(t.app, key, (await startRun(t.app, key, next)).id)).status).toBe('success');
  expect(await engine.runner.listManaged({ run: run.id })).toEqual([]);
});

test('the run is found by its EmboFlow run id through a search-attribute query, and its history stays lean', async () => {
  const marker = 'LOG-MARKER-7f3a';
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh('big', `echo ${marker}; head -c 200000 /dev/zero | tr '\\0' 'x' > /emboflow/outputs/blob.bin`),
      sh('next', 'wc -c /emboflow/inputs/big/blob.bin > /emboflow/outputs/size.txt'),
    ],
    edges: [{ source: 'big', target: 'next' }],
  });
  const run = await waitForRun(t.app, key, (await startRun(t.app, key, workflowId)).id);
  expect(run.status).toBe('success');

  let found: string[] = [];
  for (let i = 0; i < 40 && !found.length; i++) {
    found = [];
    for await (const w of t.temporal.workflow.list({ query: `EmboflowRunId = "${run.id}"` })) found.push(w.workflowId);
    if (!found.length) await new Promise((r) => setTimeout(r, 250));
  }
  expect(found).toEqual([run.temporalWorkflowId]);

  const history = await t.temporal.workflow.getHandle(run.temporalWorkflowId).fetchHistory();
  const events = history.events ?? [];
  const payloads: string[] = [];
  const collect = (v: unknown): void => {
    if (!v || typeof v !== 'object') return;
    if ('metadata' in v && 'data' in v && (v as { data: unknown }).data instanceof Uint8Array) {
      payloads.push(Buffer.from((v as { data: Uint8Array }).data).toString('utf8'));
      return;
    }
    for (const x of Object.values(v)) collect(x);
  };
  collect(events);
  const text = payloads.join('\n');
  expect(text).not.toContain(marker);
  expect(text).not.toContain('xxxxxxxxxxxxxxxx');
  const eventsPerNode = events.length / 2;
  console.log(
    `history: ${events.length} events for 2 nodes (${eventsPerNode} per node), largest payload ${Math.max(...payloads.map((p) => p.length))} bytes`,
  );
  expect(payloads.length).toBeGreaterThan(4);
  expect(Math.max(...payloads.map((p) => p.length))).toBeLessThan(8 * 1024);
});

test('run params the database cannot store are a 400 naming the field, and write nothing', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, { nodes: [sh('n', 'true')] });
  const before = await t.db.collection('run_tasks').countDocuments();
  for (const params of [{ 'a.b': 1 }, { x: [[1]] }, { n: Number.MAX_VALUE * 10 }, { $where: 'x' }]) {
    const res = await request(t.app)
      .post(`/v1/workflows/${workflowId}/runs`)
      .set('Authorization', `Bearer ${key}`)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ params }).replace('null', '1e400'));
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.error)).toMatch(/params|\$where/);
  }
  expect(await t.db.collection('run_tasks').countDocuments()).toBe(before);
  expect(await t.db.collection('workflow_runs').countDocuments({ workflowDefinitionId: workflowId })).toBe(0);
});

test('an Idempotency-Key makes a repeated start answer with the same run', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [{ id: 'n', executorType: 'builtin', executorConfig: { op: 'noop' } }],
  });
  const post = () =>
    request(t.app)
      .post(`/v1/workflows/${workflowId}/runs`)
      .set('Authorization', `Bearer ${key}`)
      .set('Idempotency-Key', 'same-request-1')
      .send({});
  const [a, b] = [await post(), await post()];
  expect(a.status).toBe(202);
  expect(b.status).toBe(202);
  expect(b.body.id).toBe(a.body.id);
  expect(await t.db.collection('workflow_runs').countDocuments({ workflowDefinitionId: workflowId })).toBe(1);
  await waitForRun(t.app, key, a.body.id);
});
