// The run mirror against the real MongoDB-compatible server: writes are idempotent and monotonic, so retried
// and out-of-order deliveries converge on the state Temporal reached.
import { MongoClient } from 'mongodb';
import { RunStore } from '../../src/db/runs';
import type { TaskTransition } from '../../src/db/runs';
import { OUTPUT_UPLOAD_MAX_AGE_MS, reapOutputUploads } from '../../src/docker/reaper';
import { pendingTask } from '../../src/domain/run';
import type { WorkflowRunDoc } from '../../src/domain/run';
import { startTestApp } from '../support/app';
import type { TestApp } from '../support/app';

let t: TestApp;
let store: RunStore;

beforeAll(async () => {
  t = await startTestApp();
  store = new RunStore(t.db);
});
afterAll(async () => t?.close());

async function seedRun(runId: string, nodeIds: string[]): Promise<void> {
  const now = new Date();
  const runtimeSnapshot = { nodes: nodeIds.map((id) => ({ id, executorType: 'docker' })), edges: [] };
  const run = {
    _id: runId,
    workspaceId: 'w',
    projectId: 'p',
    workflowVersionId: 'v',
    assetIds: [],
    runtimeSnapshot,
    status: 'pending',
    createdAt: now,
    updatedAt: now,
  } as unknown as WorkflowRunDoc;
  await store.insertRun(
    run,
    nodeIds.map((id) => pendingTask(run, { id, executorType: 'docker' }, [], now)),
  );
}

// A seeded shuffle: the same orders on every run.
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test.each([1, 2, 3, 4, 5, 6, 7, 8])(
  'transitions delivered out of order and twice converge (order %i)',
  async (seed) => {
    const runId = `mirror-${seed}-${Date.now()}`;
    await seedRun(runId, ['a', 'b']);
    const at = new Date();
    const lifecycle = (nodeId: string, final: 'success' | 'failed'): TaskTransition[] => [
      { nodeId, generation: 0, status: 'queued' },
      {
        nodeId,
        generation: 0,
        status: 'running',
        attempt: 1,
        attemptRecord: { attempt: 1, status: 'running', startedAt: at },
      },
      {
        nodeId,
        generation: 0,
        status: 'running',
        attempt: 2,
        attemptRecord: { attempt: 2, status: 'running', startedAt: at },
      },
      {
        nodeId,
        generation: 0,
        status: final,
        attempt: 2,
        set: { stdoutLines: 7 },
        attemptRecord: { attempt: 2, status: final, startedAt: at, finishedAt: at },
      },
    ];
    const all = [...lifecycle('a', 'success'), ...lifecycle('b', 'failed')];
    // Every transition delivered twice, in a shuffled order, one write at a time (as separate activities would).
    for (const tr of shuffled([...all, ...all], seed)) await store.applyTransitions(runId, [tr]);

    const a = (await store.getTask(runId, 'a'))!;
    const b = (await store.getTask(runId, 'b'))!;
    expect(a.status).toBe('success');
    expect(b.status).toBe('failed');
    expect(a.stdoutLines).toBe(7);
    // A terminal status is never overwritten by an earlier one; the attempt never goes backwards.
    expect(a.attempt).toBe(2);
    // Attempt records travel with their status transition: the final attempt's record is always there.
    expect(a.attempts['2']).toMatchObject({ attempt: 2, status: 'success' });
    expect(b.attempts['2']).toMatchObject({ attempt: 2, status: 'failed' });
    await store.finishRun(runId, 'failed', 'failed nodes: b');
    const run = (await store.getRun(runId))!;
    expect(run.status).toBe('failed');
    expect(run.summary.taskCounts).toMatchObject({ success: 1, failed: 1, pending: 0 });
    expect(run.summary.failedTaskIds).toEqual(['b']);
    expect(run.summary.stdoutLines).toBe(14);
  },
);

test('a write from an older generation is ignored after a task retry reset the node', async () => {
  const runId = `mirror-gen-${Date.now()}`;
  await seedRun(runId, ['x', 'y']);
  await store.applyTransitions(runId, [
    { nodeId: 'x', generation: 0, status: 'failed', set: { errorMessage: 'boom' } },
  ]);
  const renumbered = await store.resetTasks(
    runId,
    ['x'],
    [
      { nodeId: 'x', generation: 0 },
      { nodeId: 'y', generation: 0 },
    ],
  );
  expect(renumbered.sort((p, q) => p.nodeId.localeCompare(q.nodeId))).toEqual([
    { nodeId: 'x', generation: 1, attemptBase: 0 },
    { nodeId: 'y', generation: 1, attemptBase: 0 },
  ]);
  // The reset is idempotent: applying it again changes nothing.
  await store.resetTasks(
    runId,
    ['x'],
    [
      { nodeId: 'x', generation: 0 },
      { nodeId: 'y', generation: 0 },
    ],
  );
  const x = (await store.getTask(runId, 'x'))!;
  expect(x).toMatchObject({ generation: 1, status: 'pending', attempt: 1 });
  expect(x.errorMessage).toBeUndefined();

  // A late write from generation 0 (a retried activity of the old attempt) does nothing.
  await store.applyTransitions(runId, [{ nodeId: 'x', generation: 0, status: 'success' }]);
  expect((await store.getTask(runId, 'x'))!.status).toBe('pending');
  await store.applyTransitions(runId, [{ nodeId: 'x', generation: 1, status: 'success' }]);
  expect((await store.getTask(runId, 'x'))!.status).toBe('success');
});

test('finishing a run twice keeps the first final status', async () => {
  const runId = `mirror-fin-${Date.now()}`;
  await seedRun(runId, ['n']);
  await store.markRunStarted(runId);
  await store.finishRun(runId, 'cancelled');
  await store.finishRun(runId, 'success');
  expect((await store.getRun(runId))!.status).toBe('cancelled');
});

test('container slots: a held slot blocks, an expired one is taken over, a holder finds its own again', async () => {
  const { ContainerSlots, LEASE_TTL_MS } = await import('../../src/db/leases');
  const slots = new ContainerSlots(t.db);
  const ws = `ws-${Date.now()}`;
  const now = Date.now();
  const a = await slots.tryAcquire(ws, 'run.a.g0', 1, now);
  expect(a).toBe(`${ws}:0`);
  expect(await slots.tryAcquire(ws, 'run.b.g0', 1, now)).toBeUndefined();
  expect(await slots.tryAcquire(ws, 'run.a.g0', 1, now)).toBe(a);
  // A worker that died stops renewing: after the TTL the slot goes to whoever asks.
  expect(await slots.tryAcquire(ws, 'run.b.g0', 1, now + LEASE_TTL_MS + 1000)).toBe(a);
  await slots.release(a!, 'run.a.g0');
  expect(await t.db.collection('container_leases').countDocuments({ workspaceId: ws })).toBe(1);
  await slots.release(a!, 'run.b.g0');
  expect(await t.db.collection('container_leases').countDocuments({ workspaceId: ws })).toBe(0);
});

test('container slots: racing holders get distinct slots up to the limit, with one write per slot taken', async () => {
  const { ContainerSlots } = await import('../../src/db/leases');
  const ws = `ws-race-${Date.now()}`;
  const now = Date.now();
  const slots = new ContainerSlots(t.db);
  // Nine of ten slots held already: the tenth holder writes once, not once per held slot.
  for (let i = 0; i < 9; i++) expect(await slots.tryAcquire(ws, `held.${i}`, 10, now)).toBe(`${ws}:${i}`);
  const writes: string[] = [];
  const monitored = await MongoClient.connect(t.config.MONGODB_URI, { monitorCommands: true });
  monitored.on(
    'commandStarted',
    (e) => ['insert', 'update', 'delete'].includes(e.commandName) && writes.push(e.commandName),
  );
  try {
    expect(await new ContainerSlots(monitored.db(t.config.MONGODB_DB)).tryAcquire(ws, 'tenth', 10, now)).toBe(
      `${ws}:9`,
    );
  } finally {
    await monitored.close();
  }
  expect(writes).toEqual(['insert']);
  expect(await slots.tryAcquire(ws, 'eleventh', 10, now)).toBeUndefined();

  const ws2 = `ws-race2-${Date.now()}`;
  const got = await Promise.all(
    Array.from({ length: 12 }, (_, i) => new ContainerSlots(t.db).tryAcquire(ws2, `racer.${i}`, 4, now)),
  );
  const taken = got.filter((g): g is string => !!g);
  expect(new Set(taken).size).toBe(taken.length);
  expect(taken.length).toBeLessThanOrEqual(4);
  expect(await t.db.collection('container_leases').countDocuments({ workspaceId: ws2 })).toBe(taken.length);
});

test('a step that queues 150 nodes at once is written in chunks the server answers', async () => {
  // FerretDB v1 never answers one update command of 100 or more statements; a 150-wide fan-out used to hang here.
  const runId = `mirror-wide-${Date.now()}`;
  const ids = Array.from({ length: 150 }, (_, i) => `w${i}`);
  await seedRun(runId, ids);
  const started = Date.now();
  await store.applyTransitions(
    runId,
    ids.map((nodeId) => ({ nodeId, generation: 0, status: 'queued' as const })),
  );
  expect(Date.now() - started).toBeLessThan(30_000);
  expect(await t.db.collection('run_tasks').countDocuments({ workflowRunId: runId, status: 'queued' })).toBe(150);
}, 60_000);

test('output uploads no live attempt can complete are aborted; a running task keeps its own, and another deployment keeps its', async () => {
  const runId = `uploads-${Date.now()}`;
  await seedRun(runId, ['done', 'busy', 'retried']);
  await store.applyTransitions(runId, [
    { nodeId: 'done', generation: 0, status: 'success' },
    { nodeId: 'busy', generation: 0, status: 'running' },
    { nodeId: 'retried', generation: 0, status: 'running' },
  ]);
  await store.resetTasks(runId, ['retried'], [{ nodeId: 'retried', generation: 0 }]);
  const key = (node: string, g = 0) => `runs/${runId}/${node}/g${g}/outputs/big.bin`;
  const begun = new Map<string, string>();
  for (const k of [key('done'), key('busy'), key('retried'), key('gone-run-node').replace(runId, `${runId}-elsewhere`)])
    begun.set(k, await t.store.createMultipartUpload(k, 'application/octet-stream'));
  const open = async () => {
    const keys: string[] = [];
    for await (const u of t.store.listMultipartUploads(`runs/${runId}`)) keys.push(u.key);
    return keys.sort();
  };
  expect(await open()).toEqual([...begun.keys()].sort());

  // Within the grace period nothing is touched; after it, what no attempt can finish goes.
  expect(await reapOutputUploads(t.store, t.db, Date.now(), 60_000, `runs/${runId}`)).toEqual([]);
  const aborted = await reapOutputUploads(t.store, t.db, Date.now() + 120_000, 60_000, `runs/${runId}`);
  expect(aborted.filter((k) => k.includes(runId)).sort()).toEqual([key('done'), key('retried')].sort());
  expect(await open()).toEqual([key('busy'), key('gone-run-node').replace(runId, `${runId}-elsewhere`)].sort());
  // A day on, even those go.
  await reapOutputUploads(t.store, t.db, Date.now() + OUTPUT_UPLOAD_MAX_AGE_MS + 120_000, 60_000, `runs/${runId}`);
  expect(await open()).toEqual([]);
});
