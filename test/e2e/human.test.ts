// Human approval, decisions, conditional edges, timers and live progress over REST, end to end.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { seedUser, seedWorkspace, startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { seedWorkflow, startEngine } from '../support/engine';
import type { Engine } from '../support/engine';
import { sh, startRun, tasksOf, until, waitForRun } from '../support/runs';

let t: TestApp;
let engine: Engine;
let editor: { userId: string; apiKey: string };
let viewer: { userId: string; apiKey: string };
let scope: { workspaceId: string; projectId: string };
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  t = await startTestApp();
  engine = await startEngine(t);
  scope = await seedWorkspace(t.db);
  editor = await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'editor' }]);
  viewer = await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'viewer' }]);
  server = createServer(t.app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.close();
  await engine?.stop();
  await t?.close();
});

const approve = (key: string, runId: string, nodeId: string, body: Record<string, unknown>) =>
  request(t.app).post(`/v1/runs/${runId}/tasks/${nodeId}/approve`).set('Authorization', `Bearer ${key}`).send(body);

const reviewGraph = (stamp: number) => ({
  nodes: [
    sh('prepare', `echo prepared-${stamp} > /emboflow/outputs/batch.txt`),
    { id: 'review', executorType: 'approval' as const, executorConfig: {} },
    sh(
      'publish',
      'cp /emboflow/inputs/prepare/batch.txt /emboflow/outputs/published.txt 2>/dev/null || echo published > /emboflow/outputs/published.txt',
    ),
  ],
  edges: [
    { source: 'prepare', target: 'review' },
    { source: 'review', target: 'publish' },
  ],
});

test('an approval waits for a decision; a viewer may not decide; the decider is on the task and in the audit log', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, reviewGraph(Date.now()));
  const run = await startRun(t.app, editor.apiKey, workflowId);
  await until(
    'review to wait',
    async () => (await tasksOf(t.app, editor.apiKey, run.id)).review!.summary?.waitingForApproval,
  );
  expect((await tasksOf(t.app, editor.apiKey, run.id)).publish!.status).toBe('pending');

  const denied = await approve(viewer.apiKey, run.id, 'review', { approved: true });
  expect(denied.status).toBe(403);
  expect((await approve(editor.apiKey, run.id, 'prepare', { approved: true })).status).toBe(409);
  expect((await approve(editor.apiKey, run.id, 'review', { approved: 'yes' })).status).toBe(400);

  // Labeling work on the prepared artifact, linked to the approval node its reviewers decide.
  const art = (
    await request(t.app)
      .get(`/v1/runs/${run.id}/artifacts?nodeId=prepare`)
      .set('Authorization', `Bearer ${editor.apiKey}`)
  ).body.items[0];
  const annotate = (approvalNode: string) =>
    request(t.app)
      .post(`/v1/projects/${scope.projectId}/annotation-tasks`)
      .set('Authorization', `Bearer ${editor.apiKey}`)
      .send({
        targetType: 'artifact',
        targetRef: { id: art.id },
        labelType: 'episode_quality',
        approval: { runId: run.id, nodeId: approvalNode },
      });
  const wrongLink = await annotate('prepare');
  expect(wrongLink.status).toBe(400);
  expect(JSON.stringify(wrongLink.body.error)).toContain('approval.nodeId');
  const linked = await annotate('review');
  expect(linked.status).toBe(201);
  const listed = await request(t.app)
    .get(`/v1/projects/${scope.projectId}/annotation-tasks?runId=${run.id}&nodeId=review`)
    .set('Authorization', `Bearer ${editor.apiKey}`);
  expect(listed.body.items.map((a: { id: string }) => a.id)).toEqual([linked.body.id]);

  const ok = await approve(editor.apiKey, run.id, 'review', { approved: true, comment: 'looks clean' });
  expect(ok.status).toBe(200);
  expect(ok.body.annotationTaskIds).toEqual([linked.body.id]);
  const done = await waitForRun(t.app, editor.apiKey, run.id);
  expect(done.status).toBe('success');
  const tasks = await tasksOf(t.app, editor.apiKey, run.id);
  expect(tasks.review!.lastResultPreview).toMatchObject({
    approved: true,
    comment: 'looks clean',
    decidedBy: editor.userId,
  });
  expect(typeof tasks.review!.lastResultPreview.decidedAt).toBe('string');
  expect(tasks.publish!.status).toBe('success');
  const audit = await t.db
    .collection('audit_logs')
    .findOne({ resourceType: 'run_task', resourceId: `${run.id}.review` });
  expect(audit).toMatchObject({ action: 'approve', actorId: editor.userId, workspaceId: scope.workspaceId });

  // Deciding twice is refused: the node is no longer waiting.
  expect((await approve(editor.apiKey, run.id, 'review', { approved: false })).status).toBe(409);
});

test('a rejection fails the approval node and skips what follows it', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, reviewGraph(Date.now()));
  const run = await startRun(t.app, editor.apiKey, workflowId);
  await until(
    'review to wait',
    async () => (await tasksOf(t.app, editor.apiKey, run.id)).review!.summary?.waitingForApproval,
  );
  expect(
    (await approve(editor.apiKey, run.id, 'review', { approved: false, comment: 'wrong calibration' })).status,
  ).toBe(200);
  const done = await waitForRun(t.app, editor.apiKey, run.id);
  expect(done.status).toBe('failed');
  const tasks = await tasksOf(t.app, editor.apiKey, run.id);
  expect(tasks.review!.errorMessage).toBe(`rejected by ${editor.userId}: wrong calibration`);
  expect(tasks.publish!).toMatchObject({ status: 'skipped', skipReason: 'upstream_failed' });
  expect(await t.db.collection('audit_logs').countDocuments({ action: 'reject', resourceId: `${run.id}.review` })).toBe(
    1,
  );
});

test('a rejection routes through conditional edges when the graph says so', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      { id: 'review', executorType: 'approval', executorConfig: {} },
      sh('publish', 'echo publish'),
      sh('rework', `echo rework-${Date.now()}`),
    ],
    edges: [
      { source: 'review', target: 'publish', condition: 'result.approved == true' },
      { source: 'review', target: 'rework', condition: 'result.approved == false' },
    ],
  });
  const run = await startRun(t.app, editor.apiKey, workflowId);
  await until(
    'review to wait',
    async () => (await tasksOf(t.app, editor.apiKey, run.id)).review!.summary?.waitingForApproval,
  );
  await approve(editor.apiKey, run.id, 'review', { approved: false });
  const done = await waitForRun(t.app, editor.apiKey, run.id);
  expect(done.status).toBe('success');
  const tasks = await tasksOf(t.app, editor.apiKey, run.id);
  expect(tasks.rework!.status).toBe('success');
  expect(tasks.publish!).toMatchObject({ status: 'skipped', skipReason: 'condition_false' });
});

test('a decision node picks a branch from upstream results; the untaken branch is recorded as skipped', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh('probe', `echo '{"rows": 240, "format": "csv", "stamp": ${Date.now()}}' > /emboflow/outputs/result.json`),
      {
        id: 'decide',
        executorType: 'decision',
        executorConfig: { expression: 'inputs.probe.rows > 100 && inputs.probe.format in ["csv", "hdf5"]' },
      },
      sh('full', 'echo full-pipeline'),
      sh('sample', 'echo sample-only'),
      sh('after-sample', 'echo after'),
    ],
    edges: [
      { source: 'probe', target: 'decide' },
      { source: 'decide', target: 'full', condition: 'result == true' },
      { source: 'decide', target: 'sample', condition: 'result == false' },
      { source: 'sample', target: 'after-sample' },
    ],
  });
  const run = await waitForRun(t.app, editor.apiKey, (await startRun(t.app, editor.apiKey, workflowId)).id);
  expect(run.status).toBe('success');
  const tasks = await tasksOf(t.app, editor.apiKey, run.id);
  expect(tasks.decide!.lastResultPreview).toBe(true);
  expect(tasks.full!.status).toBe('success');
  expect(tasks.sample!).toMatchObject({ status: 'skipped', skipReason: 'condition_false' });
  expect(tasks['after-sample']!).toMatchObject({ status: 'skipped', skipReason: 'condition_false' });
});

test('a timer node sleeps durably, and an approval deadline applies its default outcome', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      { id: 'wait', executorType: 'timer', executorConfig: { seconds: 2 } },
      { id: 'review', executorType: 'approval', executorConfig: { timeoutSeconds: 2, defaultOutcome: 'approved' } },
    ],
    edges: [{ source: 'wait', target: 'review' }],
  });
  const started = Date.now();
  const run = await waitForRun(t.app, editor.apiKey, (await startRun(t.app, editor.apiKey, workflowId)).id);
  expect(run.status).toBe('success');
  expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
  const tasks = await tasksOf(t.app, editor.apiKey, run.id);
  expect(tasks.review!.lastResultPreview).toMatchObject({ approved: true, decidedBy: 'system:deadline' });
});

type StreamEvent = { id: string; event: string; data: any };

/** Reads a run's event stream to its end, or until `stopAt` accepts an event (then disconnects). */
async function readEvents(
  runId: string,
  headers: Record<string, string> = {},
  stopAt?: (e: StreamEvent) => boolean,
): Promise<StreamEvent[]> {
  const res = await fetch(`${baseUrl}/v1/runs/${runId}/events?pollMs=150`, {
    headers: { Authorization: `Bearer ${editor.apiKey}`, ...headers },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: StreamEvent[] = [];
  let buffer = '';
  const decoder = new TextDecoder();
  // Leaving the loop early cancels the body: the connection closes, as a client that goes away would.
  stream: for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let sep: number;
    while ((sep = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, sep);
      buffer = buffer.slice(sep + 2);
      const id = /^id: (.*)$/m.exec(block)?.[1];
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (id && event && data) events.push({ id, event, data: JSON.parse(data) });
      if (stopAt && events.length && stopAt(events[events.length - 1]!)) break stream;
    }
  }
  return events;
}

test('the events stream resumes after Last-Event-ID: only what changed after it, then the end', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh('first', `for i in 1 2 3; do echo "early $i"; sleep 0.3; done; echo ${Date.now()} > /emboflow/outputs/x.txt`),
      sh('second', 'sleep 0.5; echo "late line"'),
    ],
    edges: [{ source: 'first', target: 'second' }],
  });
  const started = await startRun(t.app, editor.apiKey, workflowId);
  // A client watching live drops its connection once the first node has finished.
  const seen = await readEvents(
    started.id,
    {},
    (e) => e.event === 'task' && e.data.nodeId === 'first' && e.data.status === 'success',
  );
  const firstDone = seen[seen.length - 1]!;
  expect(firstDone.data).toMatchObject({ nodeId: 'first', status: 'success' });
  expect(seen.filter((e) => e.event === 'log').map((e) => e.data.line)).toEqual(
    expect.arrayContaining(['early 1', 'early 2']),
  );
  const run = await waitForRun(t.app, editor.apiKey, started.id);
  expect(run.status).toBe('success');
  // Without the header the stream starts over: every line again.
  const all = await readEvents(run.id);
  expect(all.filter((e) => e.event === 'log').map((e) => e.data.line)).toEqual(
    expect.arrayContaining(['early 1', 'early 2', 'late line']),
  );

  const resumed = await readEvents(run.id, { 'Last-Event-ID': firstDone.id });
  const lines = resumed.filter((e) => e.event === 'log').map((e) => e.data.line);
  expect(lines).not.toContain('early 1');
  expect(lines).not.toContain('early 2');
  expect(lines).toContain('late line');
  expect(resumed.filter((e) => e.event === 'task' && e.data.nodeId === 'first' && e.data.status !== 'success')).toEqual(
    [],
  );
  expect(resumed.filter((e) => e.event === 'task' && e.data.nodeId === 'second').map((e) => e.data.status)).toContain(
    'success',
  );
  expect(resumed[resumed.length - 1]).toMatchObject({ event: 'end', data: { status: 'success' } });

  const bad = await fetch(`${baseUrl}/v1/runs/${run.id}/events`, {
    headers: { Authorization: `Bearer ${editor.apiKey}`, 'Last-Event-ID': '12;drop' },
  });
  expect(bad.status).toBe(400);
  expect(await bad.text()).toMatch(/Last-Event-ID/);
});

test("the events stream delivers a run's task changes and log lines in order, then ends", async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh('first', `for i in 1 2 3; do echo "tick $i"; sleep 0.5; done; echo ${Date.now()} > /emboflow/outputs/x.txt`),
      sh('second', 'echo "second says hi"; sleep 1'),
    ],
    edges: [{ source: 'first', target: 'second' }],
  });
  const run = await startRun(t.app, editor.apiKey, workflowId);
  const events = await readEvents(run.id);
  expect(events[events.length - 1]).toMatchObject({ event: 'end', data: { status: 'success' } });
  const rank = ['pending', 'queued', 'running', 'success'];
  for (const node of ['first', 'second']) {
    const statuses = events.filter((e) => e.event === 'task' && e.data.nodeId === node).map((e) => e.data.status);
    expect(statuses[statuses.length - 1]).toBe('success');
    expect(statuses.map((s) => rank.indexOf(s))).toEqual(
      [...statuses.map((s) => rank.indexOf(s))].sort((a, b) => a - b),
    );
  }
  const lines = events.filter((e) => e.event === 'log').map((e) => `${e.data.nodeId}: ${e.data.line}`);
  expect(lines).toEqual(
    expect.arrayContaining(['first: tick 1', 'first: tick 2', 'first: tick 3', 'second: second says hi']),
  );
  expect(lines.indexOf('first: tick 1')).toBeLessThan(lines.indexOf('first: tick 3'));
  // Lines arrive while the run executes: the first node's lines come before the second node finishes.
  const firstTick = events.findIndex((e) => e.event === 'log' && e.data.line === 'tick 1');
  const secondDone = events.findIndex(
    (e) => e.event === 'task' && e.data.nodeId === 'second' && e.data.status === 'success',
  );
  expect(firstTick).toBeLessThan(secondDone);
});
