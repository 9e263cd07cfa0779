// Run operations end to end, on the real stack: bulk cancel and bulk retry of the runs a filter selects (a dry run
// that counts and writes nothing, bad filters refused whole, another tenant's workflow a 404); and run-end
// notifications, signed, received by a loopback HTTP server this file starts, retried after a 500, sent whatever
// ended the run (its own end, a cancel, a terminate in Temporal that only the reconciler sees).
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { verifyWebhook } from '../../src/services/webhook-signature';
import { notifyWorkflowId } from '../../src/temporal/names';
import type { TestApp } from '../support/app';
import { seedUser, seedWorkspace } from '../support/app';
import { engineFixture, seedWorkflow } from '../support/engine';
import type { Engine, EngineFixture } from '../support/engine';
import { sh, startRun, until, waitForRun } from '../support/runs';
import type { RunBody } from '../support/runs';

let fixture: EngineFixture;
let t: TestApp;
let engine: Engine;
let key: string;
let scope: { workspaceId: string; projectId: string };

beforeAll(async () => {
  fixture = await engineFixture({ EMBOFLOW_SECRET_KEY: 'test-only-secret-key-0123456789abcdef' });
  ({ t, engine, key, scope } = fixture);
});

afterAll(async () => {
  await fixture?.close();
});

const bulk = (action: 'cancel' | 'retry', body: Record<string, unknown>) =>
  request(t.app)
    .post(`/v1/projects/${scope.projectId}/runs/bulk-${action}`)
    .set('Authorization', `Bearer ${key}`)
    .send(body);

const getRun = async (runId: string) =>
  (await request(t.app).get(`/v1/runs/${runId}`).set('Authorization', `Bearer ${key}`)).body as RunBody & {
    retryOfRunId?: string;
  };

const auditCount = () => t.db.collection('audit_logs').countDocuments({ workspaceId: scope.workspaceId });

/** Waits until every run shows `status` (bounded). */
const allReach = (runIds: string[], status: string, timeoutMs = 60_000) =>
  until(
    `${runIds.length} runs ${status}`,
    async () => (await Promise.all(runIds.map(getRun))).every((r) => r.status === status),
    timeoutMs,
  );

test('bulk cancel: a dry run counts the selected runs and changes nothing; the real call cancels exactly those; bulk retry retries them once', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, { nodes: [sh('long', 'sleep 120')] }, 'bulk');
  const other = await seedWorkflow(t.db, scope, { nodes: [sh('long', 'sleep 120')] }, 'other');
  const before = new Date().toISOString();
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await startRun(t.app, key, workflowId));
  const outside = await startRun(t.app, key, other.workflowId);
  const ids = runs.map((r) => r.id);
  await allReach([...ids, outside.id], 'running');

  const filter = { workflowId, status: ['running'], createdAfter: before };
  const auditsBefore = await auditCount();
  const dry = await bulk('cancel', { ...filter, dryRun: true });
  expect(dry.status).toBe(200);
  expect(dry.body).toEqual({ dryRun: true, matched: 3, runIds: ids });
  // A window that ends before the runs were created selects none of them.
  const early = await bulk('cancel', { ...filter, createdAfter: undefined, createdBefore: before, dryRun: true });
  expect(early.body.matched).toBe(0);
  expect(await auditCount()).toBe(auditsBefore);
  expect((await Promise.all(ids.map(getRun))).map((r) => r.status)).toEqual(['running', 'running', 'running']);

  const real = await bulk('cancel', filter);
  expect(real.status).toBe(200);
  expect(real.body).toMatchObject({ dryRun: false, matched: 3, cancelled: 3, skipped: 0, errors: [], remaining: 0 });
  expect([...real.body.runIds].sort()).toEqual([...ids].sort());
  await allReach(ids, 'cancelled');
  // Each run is audited as a single cancel would be, and the bulk call once on the project.
  const audits = await t.db
    .collection('audit_logs')
    .find({ workspaceId: scope.workspaceId, action: 'cancel' })
    .toArray();
  expect(audits.filter((a) => a.resourceType === 'run').map((a) => a.resourceId)).toEqual(expect.arrayContaining(ids));
  expect(audits.filter((a) => a.resourceType === 'project')).toHaveLength(1);
  // The run of the other workflow was outside the filter: still running.
  expect((await getRun(outside.id)).status).toBe('running');

  // Cancelling again matches nothing: those runs are no longer running.
  expect((await bulk('cancel', filter)).body).toMatchObject({ matched: 0, cancelled: 0 });

  const retryFilter = { workflowId, status: ['cancelled'], createdAfter: before };
  expect((await bulk('retry', { ...retryFilter, dryRun: true })).body).toEqual({
    dryRun: true,
    matched: 3,
    runIds: ids,
  });
  const retried = await bulk('retry', retryFilter);
  expect(retried.status).toBe(200);
  expect(retried.body).toMatchObject({ matched: 3, retried: 3, skipped: 0, errors: [] });
  const newIds = (retried.body.retries as Array<{ runId: string; newRunId: string }>).map((r) => r.newRunId);
  expect(newIds).toHaveLength(3);
  for (const r of retried.body.retries as Array<{ runId: string; newRunId: string }>)
    expect((await getRun(r.newRunId)).retryOfRunId).toBe(r.runId);
  // A second call finds the same runs, already retried: skipped, no fourth run.
  expect((await bulk('retry', retryFilter)).body).toMatchObject({ matched: 3, retried: 0, skipped: 3 });

  // Clean up: the retries and the outside run, cancelled in bulk by the window alone.
  const rest = await bulk('cancel', { createdAfter: before });
  expect(rest.body).toMatchObject({ matched: 4, cancelled: 4 });
  for (const id of [...newIds, outside.id]) expect((await waitForRun(t.app, key, id, 60_000)).status).toBe('cancelled');
});

test("a bad filter is a 400 naming the field and writes nothing; another tenant's workflow is a 404", async () => {
  const auditsBefore = await auditCount();
  const cases: Array<[string, 'cancel' | 'retry', Record<string, unknown>]> = [
    ['status.0', 'cancel', { status: ['success'] }],
    ['status.0', 'retry', { status: ['sleeping'] }],
    ['createdAfter', 'cancel', { createdAfter: '2026-02-01T00:00:00Z', createdBefore: '2026-01-01T00:00:00Z' }],
    ['createdBefore', 'retry', { createdBefore: 'yesterday' }],
    ['limit', 'cancel', { limit: 1001 }],
    ['dryRun', 'cancel', { dryRun: 'yes' }],
  ];
  for (const [field, action, body] of cases) {
    const res = await bulk(action, body);
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(`body.${field}`);
  }
  const elsewhere = await seedWorkspace(t.db, 'elsewhere');
  const theirs = await seedWorkflow(t.db, elsewhere, { nodes: [sh('a', 'true')] }, 'theirs');
  expect((await bulk('cancel', { workflowId: theirs.workflowId, dryRun: true })).status).toBe(404);
  expect((await bulk('retry', { workflowId: theirs.workflowId })).status).toBe(404);
  const theirProject = await request(t.app)
    .post(`/v1/projects/${elsewhere.projectId}/runs/bulk-cancel`)
    .set('Authorization', `Bearer ${key}`)
    .send({ dryRun: true });
  expect(theirProject.status).toBe(404);
  expect(await auditCount()).toBe(auditsBefore);
});

describe('run-end notifications', () => {
  interface Received {
    path: string;
    headers: Record<string, string | string[] | undefined>;
    body: string;
    answered: number;
  }
  const received: Received[] = [];
  /** Runs whose first notification the receiver answers with a 500. */
  const failFirst = new Set<string>();
  let server: Server;
  let url: string;
  let notified: { workspaceId: string; projectId: string };
  let admin: string;
  let editor: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        const runId = (JSON.parse(body) as { runId: string }).runId;
        const answered = req.url === '/refuse' ? 410 : failFirst.delete(runId) ? 500 : 204;
        received.push({ path: req.url!, headers: req.headers, body, answered });
        res.writeHead(answered).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/emboflow`;
    // A workspace of its own: the bulk runs above notify nobody.
    notified = await seedWorkspace(t.db, 'notified');
    admin = (await seedUser(t.db, [{ workspaceId: notified.workspaceId, role: 'admin' }])).apiKey;
    editor = (await seedUser(t.db, [{ workspaceId: notified.workspaceId, role: 'editor' }])).apiKey;
  });

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
  });

  const as = (apiKey: string) => ({
    post: (path: string, body?: object) =>
      request(t.app).post(path).set('Authorization', `Bearer ${apiKey}`).send(body),
    get: (path: string) => request(t.app).get(path).set('Authorization', `Bearer ${apiKey}`),
  });

  const receivedFor = (runId: string) =>
    received.filter((r) => (JSON.parse(r.body) as { runId: string }).runId === runId);

  /** The notifications received for a run, once there are `count` of them (bounded). */
  const notificationsOf = (runId: string, count: number, timeoutMs = 60_000) =>
    until(
      `${count} notification(s) of ${runId}`,
      async () => receivedFor(runId).length >= count && receivedFor(runId),
      timeoutMs,
    );

  const deliveriesOf = async (endpointId: string) =>
    (await as(editor).get(`/v1/notification-endpoints/${endpointId}/deliveries`)).body.items as Array<
      Record<string, unknown>
    >;

  test('a bad URL is a 400 naming the field; only an admin adds an endpoint; another tenant reads a 404', async () => {
    const endpoints = `/v1/workspaces/${notified.workspaceId}/notification-endpoints`;
    for (const bad of ['ftp://example.com/x', 'not a url', 'http://user:pass@example.com/x', 'javascript:alert(1)']) {
      const res = await as(admin).post(endpoints, { url: bad });
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain('body.url');
    }
    expect((await as(admin).post(endpoints, { url, extra: 1 })).status).toBe(400);
    expect((await as(editor).post(endpoints, { url })).status).toBe(403);
    expect(await t.db.collection('notification_endpoints').countDocuments({})).toBe(0);
    // The bulk suite's editor belongs to another workspace.
    expect((await as(key).post(endpoints, { url })).status).toBe(404);
  });

  test('a succeeded, a cancelled and a terminated run each notify once, signed; a 500 is retried; the secret is shown once and kept encrypted', async () => {
    const created = await as(admin).post(`/v1/workspaces/${notified.workspaceId}/notification-endpoints`, {
      url,
      description: 'ops',
    });
    expect(created.status).toBe(201);
    const { id: endpointId, secret } = created.body as { id: string; secret: string };
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    // Never again: not in the list, not in MongoDB in plain.
    const listed = await as(editor).get(`/v1/workspaces/${notified.workspaceId}/notification-endpoints`);
    expect(listed.body.items).toEqual([expect.objectContaining({ id: endpointId, url, status: 'active' })]);
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    expect(JSON.stringify(listed.body)).not.toContain('secretRef');
    for (const name of ['notification_endpoints', 'secrets', 'audit_logs'])
      expect(JSON.stringify(await t.db.collection(name).find({}).toArray())).not.toContain(secret);
    // Another tenant's endpoint is a 404.
    expect((await as(key).get(`/v1/notification-endpoints/${endpointId}/deliveries`)).status).toBe(404);

    const quick = await seedWorkflow(t.db, notified, { nodes: [sh('a', 'true')] }, 'quick');
    const long = await seedWorkflow(t.db, notified, { nodes: [sh('long', 'sleep 120')] }, 'long');

    // Succeeded, with the receiver answering 500 first: delivered on the second attempt (backoff 5 s).
    const ok = await startRun(t.app, editor, quick.workflowId);
    failFirst.add(ok.id);
    const okDone = await waitForRun(t.app, editor, ok.id);
    expect(okDone.status).toBe('success');
    const okNotes = await notificationsOf(ok.id, 2, 60_000);
    expect(okNotes.map((n) => n.answered)).toEqual([500, 204]);
    const event = JSON.parse(okNotes[1]!.body) as Record<string, unknown>;
    expect(event).toMatchObject({
      event: 'run.finished',
      runId: ok.id,
      workflowId: quick.workflowId,
      status: 'success',
      finishedAt: (await getRunIn(editor, ok.id)).finishedAt,
    });
    expect(Date.parse(event.startedAt as string)).toBeLessThanOrEqual(Date.parse(event.finishedAt as string));
    for (const n of okNotes) {
      const ts = n.headers['x-emboflow-timestamp'] as string;
      const sig = n.headers['x-emboflow-signature'] as string;
      expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(verifyWebhook(secret, ts, n.body, sig)).toBe(true);
      // A byte changed, or another secret: the signature no longer holds.
      expect(verifyWebhook(secret, ts, n.body.replace('success', 'failed'), sig)).toBe(false);
      expect(verifyWebhook(`${secret}x`, ts, n.body, sig)).toBe(false);
    }
    await until('the delivery recorded as delivered', async () => {
      const d = (await deliveriesOf(endpointId)).find((x) => x.runId === ok.id);
      return d?.status === 'delivered' && d;
    }).then((d) => expect(d).toMatchObject({ attempts: 2, lastStatusCode: 204, runStatus: 'success' }));
    // The event's body and the secret never went into Temporal history: ids only.
    const history = await t.temporal.workflow
      .getHandle(notifyWorkflowId(ok.id, Date.parse(event.finishedAt as string)))
      .fetchHistory();
    const historyText = JSON.stringify(history);
    expect(historyText).not.toContain(secret.slice(6));
    expect(historyText).not.toContain('run.finished');

    // Cancelled through the API.
    const cancelled = await startRun(t.app, editor, long.workflowId);
    await until('the container to run', async () =>
      (await engine.runner.listManaged({ run: cancelled.id })).some((c) => c.State === 'running'),
    );
    expect((await as(editor).post(`/v1/runs/${cancelled.id}/cancel`)).status).toBe(202);
    expect((await waitForRun(t.app, editor, cancelled.id)).status).toBe('cancelled');
    const [cancelNote] = await notificationsOf(cancelled.id, 1);
    expect(JSON.parse(cancelNote!.body)).toMatchObject({ runId: cancelled.id, status: 'cancelled' });
    expect(
      verifyWebhook(
        secret,
        cancelNote!.headers['x-emboflow-timestamp'] as string,
        cancelNote!.body,
        cancelNote!.headers['x-emboflow-signature'] as string,
      ),
    ).toBe(true);

    // Terminated in Temporal: the workflow never writes its end; the reconciler does, and notifies.
    const terminated = await startRun(t.app, editor, long.workflowId);
    await until('the run to be running', async () => (await getRunIn(editor, terminated.id)).status === 'running');
    await t.temporal.workflow.getHandle(terminated.temporalWorkflowId).terminate('operator says stop');
    const [termNote] = await notificationsOf(terminated.id, 1, 90_000);
    expect(JSON.parse(termNote!.body)).toMatchObject({ runId: terminated.id, status: 'cancelled' });

    // Exactly one delivery per run end: nothing sent twice.
    await new Promise((r) => setTimeout(r, 1000));
    for (const [runId, count] of [
      [ok.id, 2],
      [cancelled.id, 1],
      [terminated.id, 1],
    ] as const)
      expect(receivedFor(runId)).toHaveLength(count);
  });

  test('a receiver that refuses (410) is not retried and the delivery shows failed; a deleted endpoint is not notified', async () => {
    const endpoints = `/v1/workspaces/${notified.workspaceId}/notification-endpoints`;
    const refusing = await as(admin).post(endpoints, { url: url.replace('/hooks/emboflow', '/refuse') });
    expect(refusing.status).toBe(201);
    const quick = await seedWorkflow(t.db, notified, { nodes: [sh('a', 'true')] }, 'quick2');
    const run = await startRun(t.app, editor, quick.workflowId);
    expect((await waitForRun(t.app, editor, run.id)).status).toBe('success');
    await notificationsOf(run.id, 2);
    // Past the first retry's backoff (5 s): no second request to the refusing endpoint.
    await new Promise((r) => setTimeout(r, 7000));
    expect(
      receivedFor(run.id)
        .map((r) => `${r.path} ${r.answered}`)
        .sort(),
    ).toEqual(['/hooks/emboflow 204', '/refuse 410']);
    expect((await deliveriesOf(refusing.body.id)).find((d) => d.runId === run.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastStatusCode: 410,
      lastError: 'the endpoint answered 410',
    });

    const removed = await request(t.app)
      .delete(`/v1/notification-endpoints/${refusing.body.id}`)
      .set('Authorization', `Bearer ${admin}`);
    expect(removed.status).toBe(204);
    const after = await startRun(t.app, editor, quick.workflowId);
    expect((await waitForRun(t.app, editor, after.id)).status).toBe('success');
    await notificationsOf(after.id, 1);
    await new Promise((r) => setTimeout(r, 2000));
    expect(receivedFor(after.id).map((r) => r.path)).toEqual(['/hooks/emboflow']);
  });

  const getRunIn = async (apiKey: string, runId: string) =>
    (await as(apiKey).get(`/v1/runs/${runId}`)).body as RunBody & { finishedAt: string };
});
