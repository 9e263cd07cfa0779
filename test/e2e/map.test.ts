// Map nodes end to end, on the real stack: one container per uploaded asset with per-item state, a poisoned item
// that fails after its retries while a tolerant downstream aggregate sees the rest, a retry of that one item on the
// same run (one new container, by Docker's own event log), and a second run over the dataset plus five new assets
// that starts exactly five item containers.
import request from 'supertest';
import { seedUser, seedWorkspace, startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { seedWorkflow, startEngine, watchContainerEvents } from '../support/engine';
import type { Engine } from '../support/engine';
import { sh, startRun, tasksOf, until, waitForRun } from '../support/runs';

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

const api = () => ({
  get: (path: string) => request(t.app).get(path).set('Authorization', `Bearer ${key}`),
  post: (path: string, body?: object) =>
    request(t.app)
      .post(path)
      .set('Authorization', `Bearer ${key}`)
      .send(body ?? {}),
});

async function upload(content: string): Promise<string> {
  const res = await request(t.app)
    .post(`/v1/projects/${scope.projectId}/assets/upload?displayName=episode.txt&type=raw_file`)
    .set('Authorization', `Bearer ${key}`)
    .set('Content-Type', 'application/octet-stream')
    .send(Buffer.from(content));
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** Every item of a map node, page by page (the cursor must move and end). */
async function allItems(runId: string, nodeId: string, status?: string) {
  const out: Array<Record<string, any>> = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const q = new URLSearchParams({ limit: '20', ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) });
    const res = await api().get(`/v1/runs/${runId}/tasks/${nodeId}/items?${q}`);
    expect({ status: res.status, body: res.status === 200 ? null : res.body }).toEqual({ status: 200, body: null });
    out.push(...res.body.items);
    cursor = res.body.nextCursor;
    if (!cursor) return { items: out, counts: res.body.counts as Record<string, number> };
  }
  throw new Error('items never ended');
}

/** Each item copies its episode; an episode that says POISON fails. The aggregate tolerates one failed item. */
function mapGraph() {
  return {
    nodes: [
      sh(
        'each',
        'f=$(ls /emboflow/assets/*/*); if grep -q POISON "$f"; then echo "poisoned episode" >&2; exit 3; fi; ' +
          'cp "$f" /emboflow/outputs/copy.txt; echo "{\\"bytes\\": $(wc -c < "$f")}" > /emboflow/outputs/result.json',
        {
          map: { over: 'assets', maxParallel: 8, maxFailures: 1 },
          retry: { maxAttempts: 2, initialIntervalMs: 100 },
        },
        { memoryMb: 32 },
      ),
      sh(
        'agg',
        'n=$(ls -d /emboflow/inputs/each/*/ | wc -l); ok=$(grep -c \'"status":"success"\' /emboflow/inputs/each/items.json); ' +
          'echo "{\\"dirs\\": $n, \\"ok\\": $ok}" > /emboflow/outputs/result.json',
        { cache: { enabled: false } },
        { memoryMb: 32 },
      ),
    ],
    edges: [{ source: 'each', target: 'agg' }],
    settings: { maxParallelism: 8, failFast: false },
  };
}

const episodes: string[] = [];
let poisoned: string;
let workflowId: string;

test('a map over 50 uploaded assets: 49 items succeed, the poisoned one fails after its retries, the aggregate sees 49', async () => {
  for (let i = 0; i < 50; i++) episodes.push(await upload(i === 17 ? 'POISON' : `episode ${i}\n`));
  poisoned = episodes[17]!;
  ({ workflowId } = await seedWorkflow(t.db, scope, mapGraph()));
  const watch = await watchContainerEvents(engine.runner.docker, 'start');
  const run = await startRun(t.app, key, workflowId, {
    inputBindings: episodes.map((id) => ({ kind: 'asset', id })),
  });
  const done = await waitForRun(t.app, key, run.id, 300_000);
  expect(done.status).toBe('success');

  const tasks = await tasksOf(t.app, key, run.id);
  expect(Object.keys(tasks).sort()).toEqual(['agg', 'each']);
  expect(tasks.each!.summary.items).toMatchObject({ total: 50, succeeded: 49, failed: 1 });
  expect(tasks.agg!.lastResultPreview).toEqual({ dirs: 49, ok: 49 });
  // The downstream node passes on only the assets whose items succeeded.
  expect(tasks.each!.assetIds.sort()).toEqual(episodes.filter((e) => e !== poisoned).sort());

  const failed = await allItems(run.id, 'each', 'failed');
  expect(failed.items.map((i) => i.key)).toEqual([poisoned]);
  expect(failed.items[0]).toMatchObject({ status: 'failed', attempt: 2, assetIds: [poisoned] });
  expect(failed.items[0]!.errorMessage).toContain('poisoned episode');
  const all = await allItems(run.id, 'each');
  expect(all.items).toHaveLength(50);
  expect(all.counts).toMatchObject({ total: 50, success: 49, failed: 1 });
  expect(all.items.map((i) => i.key)).toEqual([...episodes].sort());
  // Each item has its own log.
  const log = await api().get(`/v1/runs/${run.id}/tasks/${failed.items[0]!.taskId}/logs`);
  expect(log.status).toBe(200);
  expect(log.body.lines.join('\n')).toContain('poisoned episode');

  // Docker's own event log: one container per item attempt (49 + 2 for the poisoned one) and one for the aggregate.
  const starts = await watch.stop(run.id);
  const perItem = new Map<string, number>();
  for (const n of starts) perItem.set(n, (perItem.get(n) ?? 0) + 1);
  expect(perItem.size).toBe(51);
  expect(perItem.get(`each.${poisoned}`)).toBe(2);
  expect(perItem.get('agg')).toBe(1);
  expect(starts).toHaveLength(52);

  // The poisoned episode is replaced; retrying that one item on the same run starts one new item container.
  const fixed = await upload('episode 17, fixed\n');
  const replacement = await t.db.collection('assets').findOne({ _id: fixed as never });
  await t.db
    .collection('assets')
    .updateOne(
      { _id: poisoned as never },
      { $set: { storageRef: replacement!.storageRef, sizeBytes: replacement!.sizeBytes } },
    );
  const rewatch = await watchContainerEvents(engine.runner.docker, 'start');
  const retried = await api().post(`/v1/runs/${run.id}/tasks/each/items/${poisoned}/retry`);
  expect(retried.status).toBe(202);
  expect(retried.body.items).toEqual([poisoned]);
  await until(
    'the retried run to finish',
    async () => {
      const r = await api().get(`/v1/runs/${run.id}`);
      return r.body.status === 'success' && (await tasksOf(t.app, key, run.id)).agg!.status === 'success' && r.body;
    },
    120_000,
  );
  const after = await tasksOf(t.app, key, run.id);
  expect(after.each!.summary.items).toMatchObject({ total: 50, succeeded: 50, failed: 0 });
  expect(after.agg!.lastResultPreview).toEqual({ dirs: 50, ok: 50 });
  const again = await rewatch.stop(run.id);
  expect(again.filter((n) => n.startsWith('each.'))).toEqual([`each.${poisoned}`]);
  expect(again.filter((n) => n === 'agg')).toHaveLength(1);
});

test('a second run over the same dataset plus 5 new assets starts exactly 5 item containers', async () => {
  const fresh: string[] = [];
  for (let i = 0; i < 5; i++) fresh.push(await upload(`new episode ${i}\n`));
  const watch = await watchContainerEvents(engine.runner.docker, 'start');
  const run = await startRun(t.app, key, workflowId, {
    inputBindings: [...episodes, ...fresh].map((id) => ({ kind: 'asset', id })),
  });
  expect((await waitForRun(t.app, key, run.id, 300_000)).status).toBe('success');
  const starts = await watch.stop(run.id);
  expect(starts.filter((n) => n.startsWith('each.')).sort()).toEqual(fresh.map((f) => `each.${f}`).sort());
  const { counts, items } = await allItems(run.id, 'each');
  expect(counts).toMatchObject({ total: 55, success: 55 });
  expect(items.filter((i) => i.cacheHit).length).toBe(50);
  expect((await tasksOf(t.app, key, run.id)).agg!.lastResultPreview).toEqual({ dirs: 55, ok: 55 });
});

test('items: a node that is not a map is a 404, a bad status or cursor a 400 naming the field', async () => {
  const { workflowId: plain } = await seedWorkflow(t.db, scope, { nodes: [sh('one', 'true')] });
  const run = await startRun(t.app, key, plain);
  await waitForRun(t.app, key, run.id);
  expect((await api().get(`/v1/runs/${run.id}/tasks/one/items`)).status).toBe(404);
  expect((await api().get(`/v1/runs/${run.id}/tasks/nope/items`)).status).toBe(404);
  const bad = await api().get(`/v1/runs/${run.id}/tasks/one/items?status=done`);
  expect(bad.status).toBe(400);
  expect(JSON.stringify(bad.body)).toContain('status');
  const badCursor = await api().get(`/v1/runs/${run.id}/tasks/one/items?cursor=../x`);
  expect(badCursor.status).toBe(400);
  expect(JSON.stringify(badCursor.body)).toContain('cursor');
  expect((await api().post(`/v1/runs/${run.id}/tasks/one/items/x/retry`)).status).toBe(404);
});
