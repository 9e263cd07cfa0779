// Map nodes end to end, on the real stack: one container per uploaded asset with per-item state, a poisoned item
// that fails after its retries while a tolerant downstream aggregate sees the rest, a retry of that one item on the
// same run (one new container, by Docker's own event log), and a second run over the dataset plus five new assets
// that starts exactly five item containers.
import request from 'supertest';
import type { TestApp } from '../support/app';
import { engineFixture, seedWorkflow, watchContainerEvents } from '../support/engine';
import type { Engine, EngineFixture } from '../support/engine';
import { sh, startRun, tasksOf, until, waitForRun } from '../support/runs';

let fixture: EngineFixture;
let t: TestApp;
let engine: Engine;
let key: string;
let scope: { workspaceId: string; projectId: string };

beforeAll(async () => {
  fixture = await engineFixture();
  ({ t, engine, key, scope } = fixture);
});

afterAll(async () => {
  await fixture?.close();
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

test('fail fast: the first failed item cancels the rest, the node fails saying so, and its downstream is skipped', async () => {
  const assets: string[] = [];
  for (let i = 0; i < 12; i++) assets.push(await upload(i === 0 ? 'POISON' : `slow ${i}\n`));
  const { workflowId: wf } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh(
        'each',
        'f=$(ls /emboflow/assets/*/*); if grep -q POISON "$f"; then exit 3; fi; sleep 30; echo ok > /emboflow/outputs/ok.txt',
        { map: { over: 'assets', maxParallel: 4 }, cache: { enabled: false } },
        { memoryMb: 32 },
      ),
      sh('after', 'true'),
    ],
    edges: [{ source: 'each', target: 'after' }],
  });
  const run = await startRun(t.app, key, wf, { inputBindings: assets.map((id) => ({ kind: 'asset', id })) });
  const done = await waitForRun(t.app, key, run.id, 120_000);
  expect(done.status).toBe('failed');
  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.each!.status).toBe('failed');
  expect(tasks.each!.errorMessage).toBe('1 of 12 items failed (fails fast: no failure tolerated)');
  expect(tasks.after!.status).toBe('skipped');
  const { counts } = await allItems(run.id, 'each');
  // Nothing ran to its end: the poisoned item failed, the three beside it and the eight never started were cancelled.
  expect(counts).toMatchObject({ total: 12, failed: 1, cancelled: 11, success: 0 });
  expect(await engine.runner.listManaged({ run: run.id })).toEqual([]);
});

test('cancel stops every item container of a running map', async () => {
  const assets: string[] = [];
  for (let i = 0; i < 6; i++) assets.push(await upload(`long ${i}\n`));
  const { workflowId: wf } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh('each', 'sleep 120', { map: { over: 'assets', maxParallel: 3 }, cache: { enabled: false } }, { memoryMb: 32 }),
    ],
  });
  const run = await startRun(t.app, key, wf, { inputBindings: assets.map((id) => ({ kind: 'asset', id })) });
  await until(
    'three item containers to run',
    async () => (await engine.runner.listManaged({ run: run.id })).filter((c) => c.State === 'running').length === 3,
    60_000,
  );
  expect((await api().post(`/v1/runs/${run.id}/cancel`)).status).toBe(202);
  await until(
    'every item container to be gone',
    async () => (await engine.runner.listManaged({ run: run.id })).length === 0,
    30_000,
  );
  expect((await waitForRun(t.app, key, run.id)).status).toBe('cancelled');
  const { counts } = await allItems(run.id, 'each');
  expect(counts).toMatchObject({ total: 6, cancelled: 6 });
});

test('a map over a list in an upstream result: one container per element with its value; a value that is not a list fails the node', async () => {
  const { workflowId: wf } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh('gen', `echo '{"episodes": ["alpha", "beta", "gamma"], "count": 3}' > /emboflow/outputs/result.json`),
      sh(
        'each',
        `v=$(grep -o '"value": "[a-z]*"' /emboflow/context.json | cut -d'"' -f4); echo "{\\"seen\\": \\"$v\\"}" > /emboflow/outputs/result.json`,
        { map: { over: 'inputs.gen.episodes' } },
      ),
      sh('bad', 'true', { map: { over: 'inputs.gen.count' } }),
      sh(
        'collect',
        'cat /emboflow/inputs/each/*/result.json | tr -d "\\n" > /emboflow/outputs/all.txt; cp /emboflow/inputs/each/items.json /emboflow/outputs/index.json',
      ),
    ],
    edges: [
      { source: 'gen', target: 'each' },
      { source: 'gen', target: 'bad' },
      { source: 'each', target: 'collect' },
    ],
  });
  const run = await startRun(t.app, key, wf);
  expect((await waitForRun(t.app, key, run.id, 120_000)).status).toBe('failed');
  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.bad!.status).toBe('failed');
  expect(tasks.bad!.errorMessage).toBe(
    'map.over "inputs.gen.count": the result of gen holds number at "count", not a list',
  );
  expect(tasks.each!.status).toBe('success');
  expect(tasks.collect!.status).toBe('success');
  const { items } = await allItems(run.id, 'each');
  expect(items.map((i) => [i.key, i.value, i.status])).toEqual([
    ['i000000', 'alpha', 'success'],
    ['i000001', 'beta', 'success'],
    ['i000002', 'gamma', 'success'],
  ]);
  const artifacts = await api().get(`/v1/runs/${run.id}/artifacts?nodeId=collect`);
  const byPath = (p: string) =>
    artifacts.body.items.find((a: { nodeId: string; path: string }) => a.nodeId === 'collect' && a.path === p);
  const all = await api().get(`/v1/artifacts/${byPath('all.txt').id}/content`);
  expect(all.text).toBe('{"seen": "alpha"}{"seen": "beta"}{"seen": "gamma"}');
  const index = JSON.parse((await api().get(`/v1/artifacts/${byPath('index.json').id}/content`)).text);
  expect(index.items.map((i: { key: string; dir: string }) => i.dir)).toEqual(['i000000', 'i000001', 'i000002']);

  // The live stream shows the map node's item counts.
  const events = await api()
    .get(`/v1/runs/${run.id}/events`)
    .buffer(true)
    .parse((res, cb) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => cb(null, text));
    });
  expect(String(events.body)).toContain('"items":{"total":3,"succeeded":3,"failed":0,"cancelled":0,"done":3}');
});

test('creating a version: map.over must name an upstream node, and bad shapes are a 400 naming the field', async () => {
  const def = await api().post(`/v1/projects/${scope.projectId}/workflows`, { name: 'maps' });
  expect(def.status).toBe(201);
  const version = (runtimeGraph: object) => api().post(`/v1/workflows/${def.body.id}/versions`, { runtimeGraph });
  const notUpstream = await version({
    nodes: [sh('gen', 'true'), sh('m', 'true', { map: { over: 'inputs.gen.items' } })],
  });
  expect(notUpstream.status).toBe(400);
  expect(JSON.stringify(notUpstream.body)).toContain('nodes.1.map.over');
  const badShape = await version({ nodes: [sh('m', 'true', { map: { over: 'assets', maxParallel: 0 } })] });
  expect(badShape.status).toBe(400);
  expect(JSON.stringify(badShape.body)).toContain('nodes.0.map.maxParallel');
  const ok = await version({
    nodes: [sh('gen', 'true'), sh('m', 'true', { map: { over: 'inputs.gen.items', batchSize: 10 } })],
    edges: [{ source: 'gen', target: 'm' }],
  });
  expect(ok.status).toBe(201);
});

test('a run terminated in Temporal while its items run: the reconciler closes the map node and every open item', async () => {
  const assets: string[] = [];
  for (let i = 0; i < 4; i++) assets.push(await upload(`terminated ${i}\n`));
  const { workflowId: wf } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh('each', 'sleep 120', { map: { over: 'assets', maxParallel: 2 }, cache: { enabled: false } }, { memoryMb: 32 }),
    ],
  });
  const run = await startRun(t.app, key, wf, { inputBindings: assets.map((id) => ({ kind: 'asset', id })) });
  await until(
    'two item containers to run',
    async () => (await engine.runner.listManaged({ run: run.id })).filter((c) => c.State === 'running').length === 2,
    60_000,
  );
  await t.temporal.workflow.getHandle(run.temporalWorkflowId).terminate('map test');
  const done = await waitForRun(t.app, key, run.id, 60_000);
  expect(done.status).toBe('cancelled');
  await until(
    'the item containers to be gone',
    async () => (await engine.runner.listManaged({ run: run.id })).length === 0,
    60_000,
  );
  const { counts, items } = await allItems(run.id, 'each');
  expect(counts).toMatchObject({ total: 4, cancelled: 4 });
  expect(items.every((i) => String(i.errorMessage).includes('terminated in Temporal'))).toBe(true);
});

test('retrying every failed item of a map node starts one container per failed item, and none for the rest', async () => {
  const assets: string[] = [];
  for (let i = 0; i < 6; i++) assets.push(await upload(i % 3 === 0 ? 'POISON' : `fine ${i}\n`));
  const poisonedHere = [assets[0]!, assets[3]!];
  const { workflowId: wf } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh(
        'each',
        'f=$(ls /emboflow/assets/*/*); if grep -q POISON "$f"; then exit 3; fi; cp "$f" /emboflow/outputs/copy.txt',
        { map: { over: 'assets', maxParallel: 3, maxFailures: 2 } },
        { memoryMb: 32 },
      ),
    ],
  });
  const run = await startRun(t.app, key, wf, { inputBindings: assets.map((id) => ({ kind: 'asset', id })) });
  expect((await waitForRun(t.app, key, run.id, 120_000)).status).toBe('success');
  expect((await allItems(run.id, 'each', 'failed')).items.map((i) => i.key).sort()).toEqual([...poisonedHere].sort());
  expect((await api().post(`/v1/runs/${run.id}/tasks/each/items/nope/retry`)).status).toBe(404);

  const fixed = await upload('fixed\n');
  const replacement = await t.db.collection('assets').findOne({ _id: fixed as never });
  for (const id of poisonedHere)
    await t.db
      .collection('assets')
      .updateOne(
        { _id: id as never },
        { $set: { storageRef: replacement!.storageRef, sizeBytes: replacement!.sizeBytes } },
      );
  const watch = await watchContainerEvents(engine.runner.docker, 'start');
  expect((await api().post(`/v1/runs/${run.id}/tasks/each/items/retry`)).status).toBe(202);
  await until(
    'the retried items to finish',
    async () => (await tasksOf(t.app, key, run.id)).each!.summary.items?.succeeded === 6,
    120_000,
  );
  expect((await waitForRun(t.app, key, run.id)).status).toBe('success');
  expect((await watch.stop(run.id)).sort()).toEqual(poisonedHere.map((id) => `each.${id}`).sort());
  expect((await allItems(run.id, 'each')).counts).toMatchObject({ total: 6, success: 6 });
});
