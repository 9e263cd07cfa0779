// Run operations end to end, on the real stack: bulk cancel and bulk retry of the runs a filter selects (a dry run
// that counts and writes nothing, bad filters refused whole, another tenant's workflow a 404).
import request from 'supertest';
import type { TestApp } from '../support/app';
import { seedWorkspace } from '../support/app';
import { engineFixture, seedWorkflow } from '../support/engine';
import type { EngineFixture } from '../support/engine';
import { sh, startRun, until, waitForRun } from '../support/runs';
import type { RunBody } from '../support/runs';

let fixture: EngineFixture;
let t: TestApp;
let key: string;
let scope: { workspaceId: string; projectId: string };

beforeAll(async () => {
  fixture = await engineFixture();
  ({ t, key, scope } = fixture);
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
