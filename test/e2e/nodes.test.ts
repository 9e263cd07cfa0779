// Node kinds end to end: custom nodes (image and Dockerfile), output contracts, asset set operations,
// resource usage and log capture.
import request from 'supertest';
import { newId } from '../../src/ids';
import { seedUser, seedWorkspace, startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { seedWorkflow, startEngine } from '../support/engine';
import type { Engine } from '../support/engine';
import { sh, startRun, tasksOf, TOOLS_IMAGE, waitForRun } from '../support/runs';

let t: TestApp;
let engine: Engine;
let key: string;
let scope: { workspaceId: string; projectId: string };
const builtTags: string[] = [];

beforeAll(async () => {
  t = await startTestApp();
  engine = await startEngine(t);
  scope = await seedWorkspace(t.db);
  key = (await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'editor' }])).apiKey;
});

afterAll(async () => {
  for (const tag of builtTags)
    await engine.runner.docker
      .getImage(tag)
      .remove({ force: true })
      .catch(() => undefined);
  await engine?.stop();
  await t?.close();
});

async function seedCustomNode(
  source: Record<string, unknown>,
  contract = { inputs: [] as string[], outputs: [] as string[] },
) {
  const id = newId('cnd');
  await t.db.collection('custom_nodes').insertOne({
    _id: id as never,
    ...scope,
    name: id,
    slug: id,
    description: '',
    category: 'test',
    status: source.kind === 'dockerfile' ? 'pending_build' : 'ready',
    contract,
    source,
    createdBy: 'seed',
    createdAt: new Date(),
    updatedAt: new Date(),
  });
  return id;
}

const customNode = (id: string, customNodeId: string, script: string) => ({
  id,
  executorType: 'docker' as const,
  executorConfig: { customNodeId, command: ['sh', '-c', script], memoryMb: 64 },
});

test('a Dockerfile custom node is built by the worker before first use, then reused from its hash', async () => {
  const tag = `emboflow-test/custom-${Date.now()}:v1`;
  builtTags.push(tag);
  const customId = await seedCustomNode({
    kind: 'dockerfile',
    dockerfile: `FROM ${TOOLS_IMAGE}\nENV GREETING=hello-from-a-custom-node\n`,
    imageTag: tag,
  });
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [customNode('greet', customId, 'echo "$GREETING" > /emboflow/outputs/greeting.txt')],
  });

  const first = await waitForRun(t.app, key, (await startRun(t.app, key, workflowId)).id);
  expect(first.status).toBe('success');
  const created = (await engine.runner.docker.getImage(tag).inspect()).Created;
  expect((await t.db.collection('custom_nodes').findOne({ _id: customId as never }))?.status).toBe('ready');

  const second = await waitForRun(t.app, key, (await startRun(t.app, key, workflowId)).id);
  expect(second.status).toBe('success');
  expect((await engine.runner.docker.getImage(tag).inspect()).Created).toBe(created);

  const arts = await request(t.app).get(`/v1/runs/${second.id}/artifacts`).set('Authorization', `Bearer ${key}`);
  const content = await request(t.app)
    .get(`/v1/artifacts/${arts.body.items[0].id}/content`)
    .set('Authorization', `Bearer ${key}`);
  expect(content.text.trim()).toBe('hello-from-a-custom-node');
});

test("a custom node's outputs are checked against its contract", async () => {
  const customId = await seedCustomNode({ kind: 'image', image: TOOLS_IMAGE }, { inputs: [], outputs: ['json'] });
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      customNode('keeps', customId, 'echo \'{"ok":true}\' > /emboflow/outputs/out.json'),
      customNode('breaks', customId, 'echo not-json > /emboflow/outputs/out.txt'),
    ],
  });
  const run = await waitForRun(t.app, key, (await startRun(t.app, key, workflowId)).id);
  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.keeps!.status).toBe('success');
  expect(tasks.breaks!.status).toBe('failed');
  expect(tasks.breaks!.errorMessage).toBe('output contract not met: declares a json output but produced no .json file');
});

test('builtin filter, intersection and union narrow the asset set that reaches a container', async () => {
  const asset = async (formats: string[]) => {
    const id = newId('ast');
    await t.db.collection('assets').insertOne({
      _id: id as never,
      ...scope,
      type: 'raw_file',
      displayName: id,
      status: 'ready',
      detectedFormats: formats,
      createdAt: new Date(),
    });
    return id;
  };
  const h5 = await asset(['hdf5']);
  const csv = await asset(['csv']);
  const both = await asset(['hdf5', 'mp4']);
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      { id: 'hdf5', executorType: 'builtin', executorConfig: { op: 'filter', where: { detectedFormats: 'hdf5' } } },
      { id: 'mp4', executorType: 'builtin', executorConfig: { op: 'filter', where: { detectedFormats: 'mp4' } } },
      { id: 'both', executorType: 'builtin', executorConfig: { op: 'intersection' } },
      { id: 'csv', executorType: 'builtin', executorConfig: { op: 'filter', where: { detectedFormats: 'csv' } } },
      { id: 'any', executorType: 'builtin', executorConfig: { op: 'union' } },
      sh('consume', 'cp /emboflow/context.json /emboflow/outputs/seen.json'),
    ],
    edges: [
      { source: 'hdf5', target: 'both' },
      { source: 'mp4', target: 'both' },
      { source: 'both', target: 'any' },
      { source: 'csv', target: 'any' },
      { source: 'any', target: 'consume' },
    ],
  });
  const run = await waitForRun(
    t.app,
    key,
    (await startRun(t.app, key, workflowId, { inputBindings: [h5, csv, both].map((id) => ({ kind: 'asset', id })) }))
      .id,
  );
  expect(run.status).toBe('success');
  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.hdf5!.assetIds.sort()).toEqual([h5, both].sort());
  expect(tasks.both!.assetIds).toEqual([both]);
  expect(tasks.any!.assetIds.sort()).toEqual([both, csv].sort());
  expect(tasks.consume!.assetIds.sort()).toEqual([both, csv].sort());
  const arts = await request(t.app)
    .get(`/v1/runs/${run.id}/artifacts?nodeId=consume`)
    .set('Authorization', `Bearer ${key}`);
  const seen = await request(t.app)
    .get(`/v1/artifacts/${arts.body.items[0].id}/content`)
    .set('Authorization', `Bearer ${key}`);
  expect(JSON.parse(seen.text).assetIds.sort()).toEqual([both, csv].sort());
});

test("a container's peak memory and CPU time are recorded, and its log is kept as a tail and in full", async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh(
        'work',
        'head -c 24000000 /dev/zero > /tmp/fill; i=0; while [ $i -lt 300 ]; do echo "line $i"; i=$((i+1)); done; sleep 0.5; echo "to stderr" >&2; sleep 2',
        {},
        { memoryMb: 128 },
      ),
    ],
  });
  const run = await waitForRun(t.app, key, (await startRun(t.app, key, workflowId)).id);
  expect(run.status).toBe('success');
  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.work!.resources.peakMemoryBytes).toBeGreaterThan(20_000_000);
  expect(tasks.work!.resources.peakMemoryBytes).toBeLessThan(128 * 1024 * 1024);
  expect(tasks.work!.resources.cpuTimeMs).toBeGreaterThanOrEqual(0);
  expect(tasks.work!.stdoutLines).toBe(300);
  expect(tasks.work!.stderrLines).toBe(1);

  const tail = await request(t.app).get(`/v1/runs/${run.id}/tasks/work/logs`).set('Authorization', `Bearer ${key}`);
  expect(tail.body.lines).toHaveLength(200);
  // Docker orders lines across stdout and stderr only as its two copiers read them; the pause before the stderr
  // line makes it the last one written. Each stream keeps its own order.
  expect(tail.body.lines).toContain('to stderr');
  expect(tail.body.lines.filter((l: string) => l.startsWith('line ')).slice(-1)).toEqual(['line 299']);
  const full = await request(t.app)
    .get(`/v1/runs/${run.id}/tasks/work/logs?full=true`)
    .set('Authorization', `Bearer ${key}`);
  expect(full.status).toBe(200);
  expect(full.text.split('\n').filter((l) => l.startsWith('line '))).toHaveLength(300);
});

test("a project's run history lists runs newest first, filtered by status and workflow, page by page", async () => {
  const other = await seedWorkspace(t.db, 'history');
  const ok = await seedWorkflow(t.db, other, {
    nodes: [{ id: 'n', executorType: 'builtin', executorConfig: { op: 'noop' } }],
  });
  const bad = await seedWorkflow(t.db, other, { nodes: [sh('n', 'exit 1')] });
  const k = (
    await seedUser(t.db, [
      { workspaceId: other.workspaceId, role: 'viewer' },
      { workspaceId: other.workspaceId, projectId: other.projectId, role: 'editor' },
    ])
  ).apiKey;
  const started: string[] = [];
  for (const wf of [ok, ok, bad, ok]) started.push((await startRun(t.app, k, wf.workflowId)).id);
  for (const id of started) await waitForRun(t.app, k, id);

  const list = (q: string) =>
    request(t.app).get(`/v1/projects/${other.projectId}/runs${q}`).set('Authorization', `Bearer ${k}`);
  const all = await list('');
  expect(all.body.items.map((r: { id: string }) => r.id)).toEqual([...started].reverse());
  expect((await list('?status=failed')).body.items.map((r: { id: string }) => r.id)).toEqual([started[2]]);
  expect((await list(`?workflowId=${ok.workflowId}`)).body.items).toHaveLength(3);
  const page1 = await list('?limit=3');
  const page2 = await list(`?limit=3&cursor=${page1.body.nextCursor}`);
  expect([...page1.body.items, ...page2.body.items].map((r: { id: string }) => r.id)).toEqual([...started].reverse());
  expect(page2.body.nextCursor).toBeNull();
  expect((await list('?cursor=garbage!')).status).toBe(400);
  // Another tenant's project reads as missing.
  expect(
    (await request(t.app).get(`/v1/projects/${other.projectId}/runs`).set('Authorization', `Bearer ${key}`)).status,
  ).toBe(404);
});
