// Triggers end to end on the real stack: an interval schedule (a Temporal Schedule) producing runs, then paused; a
// backfill of five slots; run-now; an asset upload starting a run through an event trigger (one run per event, a
// filter that leaves other assets alone); a signed webhook answered 202 (idempotent by delivery id) and forged or
// stale ones 401; bad input a 400 naming the field; another tenant's trigger a 404.
import request from 'supertest';
import { signWebhook } from '../../src/services/webhook-signature';
import { TEST_SECRET_KEY } from '../integration/helpers/platform';
import { seedUser, seedWorkspace } from '../support/app';
import type { TestApp } from '../support/app';
import { engineFixture, seedWorkflow } from '../support/engine';
import type { EngineFixture } from '../support/engine';
import { sh, until, waitForRun } from '../support/runs';

let fixture: EngineFixture;
let t: TestApp;
let key: string;
let scope: { workspaceId: string; projectId: string };
let workflowId: string;

beforeAll(async () => {
  fixture = await engineFixture({ EMBOFLOW_SECRET_KEY: TEST_SECRET_KEY });
  ({ t, key, scope } = fixture);
  ({ workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [sh('a', 'cat /emboflow/context.json > /emboflow/outputs/context.json')],
    edges: [],
  }));
}, 120_000);

afterAll(async () => {
  // Schedules live in Temporal, not in the test's database: remove them with the test.
  const schedules = await t.db.collection('triggers').find({ kind: 'schedule' }).toArray();
  for (const s of schedules) {
    await t.temporal.schedule
      .getHandle(`emboflow-schedule-${s._id}`)
      .delete()
      .catch(() => undefined);
  }
  await fixture?.close();
});

const api = () => ({
  get: (path: string) => request(t.app).get(path).set('Authorization', `Bearer ${key}`),
  post: (path: string, body: object = {}) => request(t.app).post(path).set('Authorization', `Bearer ${key}`).send(body),
});

interface RunItem {
  id: string;
  status: string;
  triggeredBy: string;
  triggerId?: string;
  scheduledAt?: string;
  assetIds: string[];
  params: Record<string, unknown>;
}

async function runsOf(triggerId: string): Promise<RunItem[]> {
  const res = await api().get(`/v1/projects/${scope.projectId}/runs?workflowId=${workflowId}&limit=200`);
  expect(res.status).toBe(200);
  return (res.body.items as RunItem[]).filter((r) => r.triggerId === triggerId);
}

async function createTrigger(body: object) {
  const res = await api().post(`/v1/workflows/${workflowId}/triggers`, body);
  if (res.status !== 201) throw new Error(`create trigger: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; secret?: string; hookPath?: string; temporal?: { paused: boolean } };
}

test('an interval schedule produces runs marked schedule:<id> with their scheduled time, then pauses', async () => {
  const schedule = await createTrigger({
    kind: 'schedule',
    name: 'every 2 s',
    schedule: { intervalSeconds: 2, overlap: 'allow_all' },
    params: { source: 'schedule' },
  });
  const runs = await until(
    'two scheduled runs that succeeded',
    async () => {
      const found = await runsOf(schedule.id);
      return found.filter((r) => r.status === 'success').length >= 2 && found;
    },
    90_000,
  );
  for (const run of runs) {
    expect(run.triggeredBy).toBe(`schedule:${schedule.id}`);
    expect(run.params).toEqual({ source: 'schedule' });
    // An interval of 2 s lands on even seconds (jitter 0).
    expect(run.scheduledAt).toBeDefined();
    expect(new Date(run.scheduledAt!).getTime() % 2000).toBe(0);
  }

  const paused = await api().post(`/v1/triggers/${schedule.id}/pause`);
  expect(paused.status).toBe(200);
  expect(paused.body.temporal.paused).toBe(true);
  // Give a start that was already on its way time to show, then nothing more for 6 s (three intervals).
  await new Promise((r) => setTimeout(r, 2500));
  const atPause = (await runsOf(schedule.id)).length;
  await new Promise((r) => setTimeout(r, 6000));
  expect((await runsOf(schedule.id)).length).toBe(atPause);

  const view = await api().get(`/v1/triggers/${schedule.id}`);
  expect(view.body.temporal.actionsTaken).toBeGreaterThanOrEqual(2);
  expect(view.body.temporal.recentRuns.length).toBeGreaterThanOrEqual(2);
  const audit = await t.db
    .collection('audit_logs')
    .find({ resourceType: 'trigger', resourceId: schedule.id })
    .toArray();
  expect(audit.map((a) => a.action).sort()).toEqual(['create', 'pause']);
}, 150_000);

test('a backfill of five slots starts five runs, one per slot; run-now starts one more', async () => {
  const schedule = await createTrigger({
    kind: 'schedule',
    schedule: { intervalSeconds: 60 },
    paused: true,
  });
  // Five minute marks an hour ago, with half a minute either side.
  const first = Math.floor((Date.now() - 3600_000) / 60_000) * 60_000;
  const res = await api().post(`/v1/triggers/${schedule.id}/backfill`, {
    start: new Date(first - 30_000).toISOString(),
    end: new Date(first + 4 * 60_000 + 30_000).toISOString(),
  });
  expect(res.status).toBe(202);
  const runs = await until(
    'five backfilled runs, finished',
    async () => {
      const found = await runsOf(schedule.id);
      return found.length >= 5 && found.every((r) => r.status === 'success') && found;
    },
    120_000,
  );
  expect(runs.map((r) => new Date(r.scheduledAt!).getTime()).sort()).toEqual(
    [0, 1, 2, 3, 4].map((i) => first + i * 60_000),
  );

  const now = await api().post(`/v1/triggers/${schedule.id}/run-now`);
  expect(now.status).toBe(202);
  await until('the run-now run', async () => (await runsOf(schedule.id)).length === 6, 60_000);
}, 200_000);

test('an asset upload starts a run through an event trigger; an asset the filter excludes starts none', async () => {
  const trigger = await createTrigger({ kind: 'event', event: { on: 'asset.registered', format: 'mp4' } });
  const upload = (name: string) =>
    request(t.app)
      .post(`/v1/projects/${scope.projectId}/assets/upload?displayName=${name}`)
      .set('Authorization', `Bearer ${key}`)
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.from(`bytes of ${name}`));
  const skipped = await upload('notes.txt');
  expect(skipped.status).toBe(201);
  const clip = await upload('clip.mp4');
  expect(clip.status).toBe(201);

  const [run] = await until('the event run', async () => {
    const found = await runsOf(trigger.id);
    return found.length > 0 && found;
  });
  expect(run!.triggeredBy).toBe(`event:${trigger.id}`);
  expect(run!.assetIds).toEqual([clip.body.id]);
  expect((await waitForRun(t.app, key, run!.id)).status).toBe('success');

  // Dispatching the same event again (the reconciler's sweep, a retried request) starts no second run.
  const event = await t.db.collection('trigger_events').findOne({ assetId: clip.body.id });
  expect(event?.triggerIds).toEqual([trigger.id]);
  await t.db.collection('trigger_events').updateOne({ _id: event!._id }, { $unset: { dispatchedAt: '' } });
  const { TriggerDispatcher } = await import('../../src/services/triggers');
  // It finds the trigger again and starts its launcher again: Temporal answers that this event's run exists.
  expect(await new TriggerDispatcher(t.db, t.temporal, t.config).dispatch(event!._id as unknown as string)).toEqual([
    trigger.id,
  ]);
  await new Promise((r) => setTimeout(r, 2000));
  expect((await runsOf(trigger.id)).map((r) => r.id)).toEqual([run!.id]);
  // The excluded asset recorded no event at all.
  expect(await t.db.collection('trigger_events').countDocuments({ assetId: skipped.body.id })).toBe(0);
}, 120_000);

test('a signed webhook is answered 202 once per delivery; forged and stale ones are 401', async () => {
  const hook = await createTrigger({ kind: 'webhook', params: { from: 'template' } });
  expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
  expect(hook.hookPath).toBe(`/v1/hooks/${hook.id}`);
  // The secret is shown once: never again, and never stored in plain.
  const again = await api().get(`/v1/triggers/${hook.id}`);
  expect(JSON.stringify(again.body)).not.toContain(hook.secret);
  const stored = JSON.stringify(await t.db.collection('triggers').findOne({ _id: hook.id as never }));
  expect(stored).not.toContain(hook.secret);

  const body = JSON.stringify({ episode: 'e-17', threshold: 0.5 });
  const deliver = (opts: { secret?: string; ts?: number; delivery?: string; payload?: string }) => {
    const ts = String(opts.ts ?? Math.floor(Date.now() / 1000));
    const payload = opts.payload ?? body;
    return request(t.app)
      .post(hook.hookPath!)
      .set('Content-Type', 'application/json')
      .set('X-Emboflow-Timestamp', ts)
      .set('X-Emboflow-Signature', signWebhook(opts.secret ?? hook.secret!, ts, payload))
      .set('X-Emboflow-Delivery', opts.delivery ?? 'd-1')
      .send(payload);
  };

  const ok = await deliver({});
  expect(ok.status).toBe(202);
  const repeat = await deliver({});
  expect(repeat.status).toBe(202);
  expect(repeat.body.runId).toBe(ok.body.runId);

  expect((await deliver({ secret: 'whsec_forged', delivery: 'd-2' })).status).toBe(401);
  expect((await deliver({ ts: Math.floor(Date.now() / 1000) - 301, delivery: 'd-3' })).status).toBe(401);
  // A signature over other bytes than those sent.
  const tampered = await request(t.app)
    .post(hook.hookPath!)
    .set('Content-Type', 'application/json')
    .set('X-Emboflow-Timestamp', String(Math.floor(Date.now() / 1000)))
    .set('X-Emboflow-Signature', signWebhook(hook.secret!, String(Math.floor(Date.now() / 1000)), body))
    .send(JSON.stringify({ episode: 'e-18', threshold: 0.5 }));
  expect(tampered.status).toBe(401);

  const runs = await runsOf(hook.id);
  expect(runs.map((r) => r.id)).toEqual([ok.body.runId]);
  expect(runs[0]!.triggeredBy).toBe(`webhook:${hook.id}`);
  expect(runs[0]!.params).toEqual({ from: 'template', episode: 'e-17', threshold: 0.5 });
  expect((await waitForRun(t.app, key, ok.body.runId)).status).toBe('success');
}, 120_000);

test('bad input is a 400 naming the field, and writes nothing', async () => {
  const before = await t.db.collection('triggers').countDocuments();
  const cases: Array<[object, string]> = [
    [{ kind: 'schedule', schedule: { cron: '61 * * * *' } }, 'schedule.cron'],
    [{ kind: 'schedule', schedule: { cron: '* * *' } }, 'schedule.cron'],
    [{ kind: 'schedule', schedule: { cron: '0 3 * * *', timeZone: 'Mars/Olympus_Mons' } }, 'schedule.timeZone'],
    [{ kind: 'schedule', schedule: {} }, 'schedule.cron'],
    [{ kind: 'event', event: { on: 'asset.deleted' } }, 'event.on'],
    [{ kind: 'webhook', inputBindings: [{ kind: 'asset', id: 'ast_nope' }] }, 'inputBindings.0.id'],
  ];
  for (const [body, field] of cases) {
    const res = await api().post(`/v1/workflows/${workflowId}/triggers`, body);
    expect({ field, status: res.status }).toEqual({ field, status: 400 });
    expect(JSON.stringify(res.body)).toContain(field);
  }
  // A workflow with no published version.
  const { workflowId: draft } = await seedWorkflow(t.db, scope, { nodes: [sh('a', 'true')], edges: [] }, 'draft');
  await t.db
    .collection('workflow_definitions')
    .updateOne({ _id: draft as never }, { $set: { publishedVersionNumber: null } });
  const unpublished = await api().post(`/v1/workflows/${draft}/triggers`, {
    kind: 'schedule',
    schedule: { cron: '@daily' },
  });
  expect(unpublished.status).toBe(400);
  expect(JSON.stringify(unpublished.body)).toContain('versionNumber');
  // The params every run gets must fit the version's declared ones (a webhook's body may bring required ones).
  const { workflowId: typed } = await seedWorkflow(
    t.db,
    scope,
    { params: { n: { type: 'integer', required: true } }, nodes: [sh('a', 'true')], edges: [] },
    'typed',
  );
  const wrongType = await api().post(`/v1/workflows/${typed}/triggers`, {
    kind: 'schedule',
    schedule: { cron: '@daily' },
    params: { n: 'x' },
  });
  expect(wrongType.status).toBe(400);
  expect(JSON.stringify(wrongType.body)).toContain('params.n');
  const missing = await api().post(`/v1/workflows/${typed}/triggers`, {
    kind: 'event',
    event: { on: 'asset.registered' },
  });
  expect(missing.status).toBe(400);
  expect(JSON.stringify(missing.body)).toContain('params.n: required');
  expect(await t.db.collection('triggers').countDocuments()).toBe(before);
  const hook = await api().post(`/v1/workflows/${typed}/triggers`, { kind: 'webhook' });
  expect(hook.status).toBe(201);

  // A cron in a time zone is accepted, and Temporal computes its next times in that zone.
  const berlin = await createTrigger({
    kind: 'schedule',
    schedule: { cron: '30 3 * * *', timeZone: 'Europe/Berlin' },
    paused: true,
  });
  const next = (await api().get(`/v1/triggers/${berlin.id}`)).body.temporal.nextRunTimes as string[];
  expect(next.length).toBeGreaterThan(0);
  const berlinTime = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Berlin',
    hour: '2-digit',
    minute: '2-digit',
  }).format(new Date(next[0]!));
  expect(berlinTime).toBe('03:30');

  // Another tenant's trigger is a 404.
  const other = await seedWorkspace(t.db, 'other');
  const otherKey = (await seedUser(t.db, [{ workspaceId: other.workspaceId, role: 'owner' }])).apiKey;
  const res = await request(t.app).get(`/v1/triggers/${berlin.id}`).set('Authorization', `Bearer ${otherKey}`);
  expect(res.status).toBe(404);
}, 60_000);

test('a dataset version starts a run with it bound; events survive workers being down and a lost dispatch', async () => {
  const trigger = await createTrigger({ kind: 'event', event: { on: 'dataset.version_created' } });
  const asset = await request(t.app)
    .post(`/v1/projects/${scope.projectId}/assets/upload?displayName=episode.h5`)
    .set('Authorization', `Bearer ${key}`)
    .set('Content-Type', 'application/octet-stream')
    .send(Buffer.from('episode'));
  expect(asset.status).toBe(201);
  const dataset = await api().post(`/v1/projects/${scope.projectId}/datasets`, { name: 'episodes' });
  expect(dataset.status).toBe(201);

  // The workers go away; a version created meanwhile is an event Temporal holds until they are back.
  await fixture.stopWorkers();
  const v1 = await api().post(`/v1/datasets/${dataset.body.id}/versions`, {
    versionTag: 'v1',
    assetIds: [asset.body.id],
  });
  expect(v1.status).toBe(201);
  await new Promise((r) => setTimeout(r, 3000));
  expect(await runsOf(trigger.id)).toEqual([]);
  await fixture.startWorkers();
  const [run] = await until(
    'the run of the version created while no worker ran',
    async () => {
      const found = await runsOf(trigger.id);
      return found.length > 0 && found;
    },
    60_000,
  );
  expect(run!.assetIds).toEqual([asset.body.id]);
  const full = await api().get(`/v1/runs/${run!.id}`);
  expect(full.body.datasetVersions).toEqual([{ datasetId: dataset.body.id, versionId: v1.body.id }]);
  expect((await waitForRun(t.app, key, run!.id)).status).toBe('success');

  // An event recorded but never dispatched (the API died in between): the reconciler's sweep dispatches it.
  const v2 = await api().post(`/v1/datasets/${dataset.body.id}/versions`, {
    versionTag: 'v2',
    assetIds: [asset.body.id],
  });
  expect(v2.status).toBe(201);
  await until('the v2 run', async () => (await runsOf(trigger.id)).length === 2);
  const lost = {
    _id: `dataset.version_created:dsv_lost${Date.now()}`,
    workspaceId: scope.workspaceId,
    projectId: scope.projectId,
    event: 'dataset.version_created',
    datasetId: dataset.body.id,
    datasetVersionId: v2.body.id,
    assetTypes: ['raw_file'],
    formats: ['hdf5'],
    createdAt: new Date(Date.now() - 60_000),
  };
  await t.db.collection('trigger_events').insertOne(lost as never);
  await until(
    'the swept event dispatched',
    async () => {
      const doc = await t.db.collection('trigger_events').findOne({ _id: lost._id as never });
      return doc?.dispatchedAt !== undefined;
    },
    60_000,
  );
  await until('the swept event run', async () => (await runsOf(trigger.id)).length === 3, 30_000);
}, 180_000);
