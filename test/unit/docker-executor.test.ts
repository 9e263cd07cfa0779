// The docker executor's steps under MockActivityEnvironment with a fake container engine and an in-memory
// mirror: heartbeats, cancellation, re-attach to an earlier attempt's container and the crash allowance, with no
// Docker and no MongoDB.
import { Readable } from 'node:stream';
import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { DockerExecutorDeps, ExecutorMirror } from '../../activities/docker/attempt';
import type { ContainerPort, ExistingContainer, ImageInfo, LogFrame } from '../../activities/docker/port';
import { createDockerNodeActivity } from '../../activities/docker-node';
import type { TaskTransition } from '../../src/db/runs';
import { ImagePullError } from '../../src/docker/container-runner';
import type { ArchiveEntry, ArchiveFile, ContainerSpec, ExitState, PullAuth } from '../../src/docker/container-runner';
import type { AttemptRecord, ArtifactDoc, RunTaskDoc, WorkflowRunDoc } from '../../src/domain/run';
import type { NodeInput, NodeResult } from '../../src/engine/contract';
import { createLogger } from '../../src/logger';

interface FakeContainer {
  id: string;
  spec?: ContainerSpec;
  entries: ArchiveEntry[];
  running: boolean;
  exit?: ExitState;
  outputs: Record<string, string>;
  logs: LogFrame[];
}

/** A container engine in memory: a container "runs" until the test ends it with `finish`. */
class FakeContainers implements ContainerPort {
  readonly containers = new Map<string, FakeContainer>();
  readonly byName = new Map<string, string>();
  readonly created: ContainerSpec[] = [];
  readonly removed: string[] = [];
  readonly followed: string[] = [];
  private next = 0;
  /** Decides how a newly started container ends; by default it exits 0 at once with one output. */
  behaviour: (c: FakeContainer) => void = (c) =>
    this.finish(c.id, { exitCode: 0, oomKilled: false, timedOut: false }, { 'result.json': '{"ok":true}' });

  finish(id: string, exit: ExitState, outputs: Record<string, string> = {}, log = 'done\n'): void {
    const c = this.containers.get(id)!;
    Object.assign(c, {
      running: false,
      exit,
      outputs,
      logs: [{ stream: exit.exitCode ? 'stderr' : 'stdout', data: Buffer.from(log) }],
    });
  }

  /** A container left by an earlier attempt, under the name this node's attempts use. */
  plant(name: string, c: Partial<FakeContainer>): string {
    const id = `planted-${this.next++}`;
    this.containers.set(id, { id, entries: [], running: true, outputs: {}, logs: [], ...c });
    this.byName.set(name, id);
    return id;
  }

  /** Images the engine lacks until pulled (every other one is present, as built locally). */
  readonly absent = new Set<string>();
  readonly pulls: Array<{ image: string; auth?: PullAuth }> = [];
  /** What the registry answers a pull: a refusal's message, or nothing (it serves the image). */
  pullRefusal: string | undefined;
  async inspectImage(image: string): Promise<ImageInfo | undefined> {
    if (this.absent.has(image)) return undefined;
    const pulled = this.pulls.some((p) => p.image === image);
    return {
      id: `sha256:${pulled ? 'pulled' : 'local'}-${image}`,
      repoDigests: pulled ? [`${image.replace(/:[^/:]*$/, '')}@sha256:manifest`] : [],
    };
  }
  /** A registry that never finishes sending: the pull ends only when its signal aborts. */
  pullHangs = false;
  async pullImage(image: string, auth: PullAuth | undefined, onEvent: (e: object) => void, signal: AbortSignal) {
    this.pulls.push({ image, ...(auth ? { auth } : {}) });
    onEvent({ id: 'layer1', status: 'Downloading', progressDetail: { current: 5, total: 10 } });
    if (this.pullHangs)
      await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    if (this.pullRefusal) throw new ImagePullError(this.pullRefusal);
    this.absent.delete(image);
  }
  async findByName(name: string): Promise<ExistingContainer | undefined> {
    const c = this.containers.get(this.byName.get(name) ?? '');
    if (!c) return undefined;
    return {
      id: c.id,
      running: c.running,
      exitedCleanly: !c.running && c.exit?.exitCode === 0,
      exitCode: c.exit?.exitCode ?? 0,
      oomKilled: c.exit?.oomKilled ?? false,
    };
  }
  async create(spec: ContainerSpec) {
    const id = `c${this.next++}`;
    this.created.push(spec);
    this.containers.set(id, { id, spec, entries: [], running: false, outputs: {}, logs: [] });
    this.byName.set(spec.name, id);
    return id;
  }
  async putEntries(id: string, entries: AsyncIterable<ArchiveEntry>) {
    for await (const e of entries) this.containers.get(id)!.entries.push(e);
  }
  async start(id: string) {
    const c = this.containers.get(id)!;
    c.running = true;
    this.behaviour(c);
  }
  async waitForExit(id: string, opts: { onTick: () => Promise<void> }): Promise<ExitState> {
    const c = this.containers.get(id)!;
    // Ticks come fast here: the fake engine, not the executor, sets the pace.
    while (c.running) {
      await new Promise((r) => setTimeout(r, 5));
      if (c.running) await opts.onTick();
    }
    return c.exit!;
  }
  async watchResources() {
    return { latest: () => ({ memoryBytes: 1024, peakMemoryBytes: 2048, cpuTimeMs: 7 }), stop: () => undefined };
  }
  async followLines(id: string) {
    this.followed.push(id);
    return { ended: Promise.resolve(), stop: () => undefined };
  }
  async logs(id: string) {
    return this.containers.get(id)!.logs;
  }
  async streamDir(id: string, _path: string, onFile: (f: ArchiveFile) => Promise<void>) {
    for (const [path, content] of Object.entries(this.containers.get(id)!.outputs)) {
      await onFile({ path, size: Buffer.byteLength(content), body: Readable.from([Buffer.from(content)]) });
    }
  }
  freeSpace: number | undefined = undefined;
  async freeBytes() {
    return this.freeSpace;
  }
  async remove(id: string) {
    this.removed.push(id);
    const c = this.containers.get(id);
    if (c) c.running = false;
    this.containers.delete(id);
  }
}

const RUN_ID = 'run_1';
const run = {
  _id: RUN_ID,
  workspaceId: 'ws_1',
  projectId: 'prj_1',
  params: {},
  datasetIds: [],
  triggeredBy: 'usr_1',
  runtimeSnapshot: {
    nodes: [
      {
        id: 'n',
        executorType: 'docker',
        executorConfig: {
          image: 'emboflow/tools:local',
          command: ['true'],
          env: {},
          cpu: 1,
          memoryMb: 64,
          pidsLimit: 64,
          network: false,
          timeoutSeconds: 60,
        },
      },
    ],
    edges: [],
  },
} as unknown as WorkflowRunDoc;

/** The run mirror in memory: the transitions and attempt records the executor writes. */
class FakeMirror implements ExecutorMirror {
  task: Partial<RunTaskDoc> = { generation: 0, status: 'pending', attempts: {} };
  readonly transitions: TaskTransition[] = [];
  readonly attemptRecords: AttemptRecord[] = [];
  readonly artifacts: ArtifactDoc[] = [];
  async getRunSnapshot() {
    return run;
  }
  async getTask() {
    return this.task as RunTaskDoc;
  }
  async applyTransitions(_runId: string, transitions: TaskTransition[]) {
    this.transitions.push(...transitions);
    for (const t of transitions) {
      Object.assign(this.task, { status: t.status, ...t.set });
      if (t.attemptRecord) this.task.attempts![String(t.attemptRecord.attempt)] = t.attemptRecord;
    }
  }
  async recordAttempt(_runId: string, _nodeId: string, _generation: number, record: AttemptRecord) {
    this.attemptRecords.push(record);
    this.task.attempts![String(record.attempt)] = record;
  }
  async upsertArtifacts(docs: ArtifactDoc[]) {
    this.artifacts.push(...docs);
  }
  async recordCacheEntry() {}
  async artifactsByIds(ids: string[]) {
    return this.artifacts.filter((a) => ids.includes(a._id));
  }
  async findCacheHit() {
    return null;
  }
}

function setup(
  opts: {
    containerLimit?: number;
    slotFree?: () => boolean;
    maxOutputBytes?: number;
    allowRoot?: boolean;
    workerGpus?: number;
  } = {},
) {
  const deleted: string[] = [];
  const containers = new FakeContainers();
  const mirror = new FakeMirror();
  const slots = { acquired: 0, released: 0, renewed: 0 };
  const liveLines: unknown[] = [];
  const deps: DockerExecutorDeps = {
    mirror,
    containers,
    registries: {
      loginFor: async (_ws, ref) =>
        ref.registry === '127.0.0.1:5000'
          ? {
              credentialId: 'rgc_1',
              auth: { username: 'ci', password: 'hunter2-secret', serveraddress: '127.0.0.1:5000' },
            }
          : undefined,
    },
    store: {
      bucket: 'b',
      getStream: async () => ({ body: Readable.from([]) }),
      getVerified: async () => ({ body: Readable.from([]) }),
      putStream: async (key: string, body: Readable, contentType: string) => {
        let size = 0;
        for await (const chunk of body) size += (chunk as Buffer).length;
        return { bucket: 'b', key, uri: `s3://b/${key}`, checksum: 'sha256:x', contentType, size };
      },
      putBuffer: async (key: string, body: Buffer, contentType: string) => ({
        bucket: 'b',
        key,
        uri: `s3://b/${key}`,
        checksum: 'sha256:y',
        contentType,
        size: body.length,
      }),
      deleteKeys: async (keys: string[]) => void deleted.push(...keys),
    } as unknown as DockerExecutorDeps['store'],
    sources: {
      readerFor: async () => {
        throw new Error('no assets in these tests');
      },
    },
    customNodes: { findInWorkspace: async () => null },
    assets: { findForStaging: async () => [] },
    workspaces: {
      executionLimits: async () => ({
        maxRunningContainers: opts.containerLimit,
        maxOutputBytes: opts.maxOutputBytes,
        allowRootContainers: opts.allowRoot ?? false,
      }),
    },
    executionLogs: { insertLines: async (lines) => void liveLines.push(...lines) },
    executionMetrics: { insertSample: async () => undefined },
    slots: {
      tryAcquire: async () => ((opts.slotFree ?? (() => true))() ? (slots.acquired++, 'slot_1') : undefined),
      renew: async () => void slots.renewed++,
      release: async () => void slots.released++,
    },
    logger: createLogger('silent'),
    metrics: {
      cacheLookups: { inc: () => undefined },
      containerStart: { startTimer: () => () => 0 },
    } as unknown as DockerExecutorDeps['metrics'],
    deployment: 'test',
    workerId: 'w1',
    workspaceContainerLimit: 0,
    workerGpus: opts.workerGpus ?? 0,
  };
  return { deps, containers, mirror, slots, liveLines, deleted };
}

const input = (over: Partial<NodeInput> = {}): NodeInput => ({
  runId: RUN_ID,
  nodeId: 'n',
  generation: 0,
  attemptBase: 0,
  maxAttempts: 1,
  assetIds: [],
  upstream: [],
  ...over,
});
const NAME = `emboflow-${RUN_ID}-n-g0`;

function environment(attempt = 1) {
  const env = new MockActivityEnvironment({ attempt, taskQueue: 'q' }, { logger: new DefaultLogger('ERROR') });
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  return { env, heartbeats };
}

test('a running container heartbeats with its id until it exits, then its outputs are recorded and it is removed', async () => {
  const { deps, containers, mirror } = setup();
  containers.behaviour = (c) =>
    setTimeout(
      () => containers.finish(c.id, { exitCode: 0, oomKilled: false, timedOut: false }, { 'result.json': '{"n":1}' }),
      60,
    );
  const { env, heartbeats } = environment();
  const result: NodeResult = await env.run(createDockerNodeActivity(deps), input());
  const id = containers.removed[0];
  expect(id).toMatch(/^c\d+$/);
  expect(containers.created).toHaveLength(1);
  // While it runs: its id; while its outputs stream out: the bytes moved.
  const running = heartbeats.filter((h) => (h as { phase?: string }).phase === undefined);
  expect(running.length).toBeGreaterThanOrEqual(2);
  expect(running).toEqual(running.map(() => ({ containerId: id })));
  expect(heartbeats.slice(-2)).toEqual([
    { phase: 'uploading', bytes: 7, files: 0 },
    { phase: 'recording', artifacts: 1, of: 1 },
  ]);
  expect(containers.removed).toEqual([id]);
  expect(result).toMatchObject({ cacheHit: false, result: { n: 1 }, artifacts: [{ path: 'result.json' }] });
  expect(mirror.transitions.map((t) => t.status)).toEqual(['running', 'success']);
  // The container got context.json and the writable outputs folder.
  const spec = containers.created[0]!;
  expect(spec.name).toBe(NAME);
  expect(spec.labels['io.emboflow.attempt']).toBe('1');
});

test('a cancelled attempt stops waiting, removes its container, releases its slot and records no outcome', async () => {
  const { deps, containers, mirror, slots } = setup({ containerLimit: 2 });
  containers.behaviour = () => undefined; // runs until removed
  const { env, heartbeats } = environment();
  const running = env.run(createDockerNodeActivity(deps), input());
  while (!heartbeats.length) await new Promise((r) => setTimeout(r, 5));
  env.cancel();
  await expect(running).rejects.toBeInstanceOf(CancelledFailure);
  expect(containers.created).toHaveLength(1);
  expect(containers.removed).toHaveLength(1);
  expect(containers.containers.size).toBe(0);
  expect(slots).toMatchObject({ acquired: 1, released: 1 });
  expect(mirror.transitions.map((t) => t.status)).toEqual(['running']);
});

test('an attempt waiting for a container slot heartbeats and can be cancelled before any container exists', async () => {
  const { deps, containers, slots } = setup({ containerLimit: 1, slotFree: () => false });
  const { env, heartbeats } = environment();
  const waiting = env.run(createDockerNodeActivity(deps), input());
  while (!heartbeats.length) await new Promise((r) => setTimeout(r, 5));
  expect(heartbeats[0]).toEqual({ waitingForSlot: true });
  env.cancel();
  await expect(waiting).rejects.toBeInstanceOf(CancelledFailure);
  expect(containers.created).toHaveLength(0);
  expect(slots.acquired).toBe(0);
});

test("a retried attempt re-attaches to the earlier attempt's running container instead of starting another", async () => {
  const { deps, containers, mirror, liveLines } = setup();
  const earlier = containers.plant(NAME, { running: true });
  setTimeout(
    () => containers.finish(earlier, { exitCode: 0, oomKilled: false, timedOut: false }, { 'out.txt': 'hi' }),
    40,
  );
  const { env, heartbeats } = environment(2);
  const result: NodeResult = await env.run(createDockerNodeActivity(deps), input());
  expect(containers.created).toHaveLength(0);
  expect(heartbeats).toContainEqual({ containerId: earlier });
  // Its lines were streamed by the attempt that started it: not again.
  expect(containers.followed).toEqual([]);
  expect(liveLines).toEqual([]);
  expect(containers.removed).toEqual([earlier]);
  expect(result.artifacts.map((a) => a.path)).toEqual(['out.txt']);
  expect(mirror.transitions.at(-1)).toMatchObject({ status: 'success', attempt: 2 });
});

test("an earlier attempt's container that already succeeded is collected without waiting or starting one", async () => {
  const { deps, containers } = setup();
  const earlier = containers.plant(NAME, {
    running: false,
    exit: { exitCode: 0, oomKilled: false, timedOut: false },
    outputs: { 'a.json': '{}' },
  });
  const { env, heartbeats } = environment(3);
  const result: NodeResult = await env.run(createDockerNodeActivity(deps), input());
  expect(containers.created).toHaveLength(0);
  // No wait: the only heartbeats are its outputs moving and being recorded.
  expect(heartbeats).toEqual([
    { phase: 'uploading', bytes: 2, files: 0 },
    { phase: 'recording', artifacts: 1, of: 1 },
  ]);
  expect(result.artifacts.map((a) => a.path)).toEqual(['a.json']);
  expect(containers.removed).toEqual([earlier]);
});

test("an earlier attempt's failed container is removed and a fresh one started under the same name", async () => {
  const { deps, containers } = setup();
  const earlier = containers.plant(NAME, { running: false, exit: { exitCode: 3, oomKilled: false, timedOut: false } });
  const { env } = environment(2);
  await env.run(createDockerNodeActivity(deps), input());
  expect(containers.removed[0]).toBe(earlier);
  expect(containers.created.map((s) => s.name)).toEqual([NAME]);
});

describe('the retry budget counts container failures, not attempts lost with a worker (the crash allowance)', () => {
  const failing = (containers: FakeContainers) => (c: FakeContainer) =>
    containers.finish(c.id, { exitCode: 2, oomKilled: false, timedOut: false }, {}, 'boom\n');

  test('after an attempt lost with its worker, a container failure within the budget is retryable', async () => {
    const { deps, containers, mirror } = setup();
    containers.behaviour = failing(containers);
    // Attempt 1 died with its worker: recorded running, never failed.
    mirror.task.attempts = { 1: { attempt: 1, status: 'running', startedAt: new Date() } };
    const { env } = environment(2);
    const err = await env.run(createDockerNodeActivity(deps), input({ maxAttempts: 2 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({
      type: 'ContainerFailedError',
      nonRetryable: false,
      message: 'container exited with code 2; last stderr: boom',
    });
    expect(mirror.attemptRecords).toMatchObject([{ attempt: 2, status: 'failed', exitCode: 2 }]);
    expect(mirror.transitions.map((t) => t.status)).toEqual(['running']);
  });

  test('the failure that spends the budget fails the task, non-retryable', async () => {
    const { deps, containers, mirror } = setup();
    containers.behaviour = failing(containers);
    mirror.task.attempts = {
      1: { attempt: 1, status: 'running', startedAt: new Date() },
      2: { attempt: 2, status: 'failed', startedAt: new Date(), exitCode: 2 },
    };
    const { env } = environment(3);
    const err = await env.run(createDockerNodeActivity(deps), input({ maxAttempts: 2 })).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'ContainerFailedError', nonRetryable: true });
    expect(mirror.transitions.at(-1)).toMatchObject({
      status: 'failed',
      attempt: 3,
      set: { errorMessage: 'container exited with code 2; last stderr: boom' },
    });
    expect(mirror.attemptRecords).toEqual([]);
  });
});

test('a success already recorded by a worker that died before reporting it is returned without a container', async () => {
  const { deps, containers, mirror } = setup();
  mirror.task = {
    generation: 0,
    status: 'success',
    attempts: {},
    outputArtifactIds: [],
    assetIds: ['a1'],
    cacheHit: false,
    lastResultPreview: { done: true },
  };
  const { env } = environment(2);
  const result: NodeResult = await env.run(createDockerNodeActivity(deps), input());
  expect(result).toEqual({ artifacts: [], assetIds: ['a1'], cacheHit: false, result: { done: true } });
  expect(containers.created).toHaveLength(0);
  expect(mirror.transitions).toEqual([]);
});

test('outputs past maxOutputBytes fail the task with the size, and the objects already written are taken back', async () => {
  const { deps, containers, mirror, deleted } = setup({ maxOutputBytes: 10 });
  containers.behaviour = (c) =>
    containers.finish(
      c.id,
      { exitCode: 0, oomKilled: false, timedOut: false },
      { 'a.bin': '123456', 'b.bin': '7890123' },
    );
  const { env } = environment();
  const err = await env.run(createDockerNodeActivity(deps), input()).catch((e: unknown) => e);
  expect(err).toMatchObject({
    type: 'OutputLimitError',
    nonRetryable: true,
    message: 'outputs exceed maxOutputBytes (10 bytes): b.bin brought them past it',
  });
  expect(deleted).toEqual(['runs/run_1/n/g0/outputs/a.bin']);
  expect(mirror.artifacts).toEqual([]);
  expect(mirror.transitions.at(-1)).toMatchObject({
    status: 'failed',
    set: { errorMessage: err instanceof Error ? err.message : '' },
  });
});

test('more outputs than history should carry go downstream as a manifest, every one still recorded', async () => {
  const { deps, containers, mirror } = setup();
  const outputs = Object.fromEntries(
    Array.from({ length: 250 }, (_, i) => [`f/${String(i).padStart(3, '0')}.txt`, `${i}`]),
  );
  containers.behaviour = (c) => containers.finish(c.id, { exitCode: 0, oomKilled: false, timedOut: false }, outputs);
  const { env } = environment();
  const result: NodeResult = await env.run(createDockerNodeActivity(deps), input());
  expect(result.artifacts).toEqual([]);
  expect(result.manifest).toMatchObject({ key: 'runs/run_1/n/g0/manifest.jsonl', count: 250 });
  expect(mirror.artifacts).toHaveLength(250);
  expect(mirror.transitions.at(-1)).toMatchObject({ status: 'success', set: { outputManifest: result.manifest } });
});

test('inputs that cannot fit on the engine fail before any container exists, naming the sizes', async () => {
  const { deps, containers } = setup();
  containers.freeSpace = 1000;
  const { env } = environment();
  const upstream = [
    {
      nodeId: 'up',
      assetIds: [],
      artifacts: [{ id: 'art1', path: 'big.bin', key: 'k', checksum: 'sha256:x', size: 4096 }],
    },
  ];
  const err = await env.run(createDockerNodeActivity(deps), input({ upstream })).catch((e: unknown) => e);
  expect(err).toMatchObject({
    type: 'StagingSpaceError',
    nonRetryable: true,
    message: 'staging inputs: 4096 bytes would not fit: the Docker engine has 1000 bytes free for container volumes',
  });
  expect(containers.created).toHaveLength(0);
});

test('storage failing while outputs upload keeps the exited container: the retry uploads from it, starting none', async () => {
  const { deps, containers, mirror } = setup();
  containers.behaviour = (c) =>
    setTimeout(
      () => containers.finish(c.id, { exitCode: 0, oomKilled: false, timedOut: false }, { 'big.bin': 'xyz' }),
      10,
    );
  type Put = (...a: never[]) => Promise<unknown>;
  const store = deps.store as { putStream: Put; putBuffer: Put };
  const working = { putStream: store.putStream, putBuffer: store.putBuffer };
  const down = async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8333'), { code: 'ECONNREFUSED' });
  };
  Object.assign(store, { putStream: down, putBuffer: down });
  await expect(environment(1).env.run(createDockerNodeActivity(deps), input())).rejects.toThrow('ECONNREFUSED');
  expect(containers.created).toHaveLength(1);
  expect(containers.removed).toEqual([]);

  Object.assign(store, working);
  const result: NodeResult = await environment(2).env.run(createDockerNodeActivity(deps), input());
  expect(containers.created).toHaveLength(1);
  expect(containers.removed).toHaveLength(1);
  expect(result.artifacts.map((a) => a.path)).toEqual(['big.bin']);
  expect(mirror.transitions.at(-1)).toMatchObject({ status: 'success', attempt: 2 });
});

test('a cancelled upload or a non-retryable failure while uploading still removes the container', async () => {
  const { deps, containers } = setup({ maxOutputBytes: 1 });
  containers.behaviour = (c) =>
    setTimeout(
      () => containers.finish(c.id, { exitCode: 0, oomKilled: false, timedOut: false }, { 'big.bin': 'xyz' }),
      10,
    );
  await expect(environment(1).env.run(createDockerNodeActivity(deps), input())).rejects.toThrow(/maxOutputBytes|bytes/);
  expect(containers.removed).toHaveLength(1);
});

describe('pulling the image', () => {
  const REMOTE = '127.0.0.1:5000/team/tool:1.0';
  const config = run.runtimeSnapshot.nodes[0]!.executorConfig as Record<string, unknown>;
  const original = { ...config };
  afterEach(() => {
    for (const k of Object.keys(config)) delete config[k];
    Object.assign(config, original);
  });

  test('ifNotPresent pulls an absent image with the registry login, runs the pulled image and records its digests', async () => {
    Object.assign(config, { image: REMOTE });
    const { deps, containers, mirror } = setup();
    containers.absent.add(REMOTE);
    const { env, heartbeats } = environment();
    await env.run(createDockerNodeActivity(deps), input());
    expect(containers.pulls).toEqual([{ image: REMOTE, auth: expect.objectContaining({ username: 'ci' }) }]);
    expect(heartbeats[0]).toMatchObject({ phase: 'pulling', image: REMOTE });
    // Created from the image id, not the tag: a tag moved meanwhile cannot change what runs.
    expect(containers.created[0]!.image).toBe(`sha256:pulled-${REMOTE}`);
    expect(containers.created[0]!.labels['io.emboflow.image']).toBe(REMOTE);
    expect(mirror.task).toMatchObject({
      status: 'success',
      imageId: `sha256:pulled-${REMOTE}`,
      imageDigest: 'sha256:manifest',
    });
    expect(mirror.task.cacheKey).toMatch(/^docker:/);
  });

  test('ifNotPresent does not pull an image the engine has; the cache key follows the image id', async () => {
    const { deps, containers, mirror } = setup();
    await environment().env.run(createDockerNodeActivity(deps), input());
    expect(containers.pulls).toEqual([]);
    expect(mirror.task).toMatchObject({ imageId: 'sha256:local-emboflow/tools:local' });
    expect(mirror.task.imageDigest).toBeUndefined();
    const firstKey = mirror.task.cacheKey;

    Object.assign(config, { pullPolicy: 'always' });
    const again = setup();
    await environment().env.run(createDockerNodeActivity(again.deps), input());
    // always: pulled although present (no login for Docker Hub), and the pulled image is a new key.
    expect(again.containers.pulls).toEqual([{ image: 'emboflow/tools:local' }]);
    expect(again.mirror.task.imageId).toBe('sha256:pulled-emboflow/tools:local');
    expect(again.mirror.task.cacheKey).not.toBe(firstKey);
  });

  test('never with an absent image fails at once, naming the image and the policy; no container is created', async () => {
    Object.assign(config, { image: REMOTE, pullPolicy: 'never' });
    const { deps, containers } = setup();
    containers.absent.add(REMOTE);
    const err = await environment()
      .env.run(createDockerNodeActivity(deps), input())
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'NodeConfigError', nonRetryable: true });
    expect((err as Error).message).toContain(`image ${REMOTE} is not on the worker's Docker engine`);
    expect((err as Error).message).toContain('pullPolicy is never');
    expect(containers.pulls).toEqual([]);
    expect(containers.created).toEqual([]);
  });

  test('a refused pull is not retried; its message names image, registry and user, never the password', async () => {
    Object.assign(config, { image: REMOTE });
    const { deps, containers } = setup();
    containers.absent.add(REMOTE);
    containers.pullRefusal = 'Head "http://127.0.0.1:5000/v2/team/tool/manifests/1.0": unauthorized: hunter2-secret';
    const err = await environment()
      .env.run(createDockerNodeActivity(deps), input())
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'ImagePullError', nonRetryable: true });
    const message = (err as Error).message;
    expect(message).toContain(`pulling image ${REMOTE} from 127.0.0.1:5000 with registry credential rgc_1 (user ci)`);
    expect(message).toContain('unauthorized');
    expect(message).not.toContain('hunter2-secret');
    expect(containers.created).toEqual([]);
  });

  test('a pull that hangs keeps heartbeating its progress, and a cancel stops it with no container created', async () => {
    Object.assign(config, { image: REMOTE });
    const { deps, containers } = setup();
    containers.absent.add(REMOTE);
    containers.pullHangs = true;
    const { env, heartbeats } = environment();
    const pulling = env.run(createDockerNodeActivity(deps), input());
    // The first heartbeat comes at once, then one every tick while nothing arrives.
    while (heartbeats.length < 2) await new Promise((r) => setTimeout(r, 50));
    expect(heartbeats.at(-1)).toEqual({ phase: 'pulling', image: REMOTE, layers: 1, bytes: 5, totalBytes: 10 });
    env.cancel();
    await expect(pulling).rejects.toBeInstanceOf(CancelledFailure);
    expect(containers.created).toEqual([]);
  }, 15_000);

  test("a pull that fails for another reason (the registry unreachable) is retried within the node's budget", async () => {
    Object.assign(config, { image: REMOTE });
    const { deps, containers } = setup();
    containers.absent.add(REMOTE);
    containers.pullRefusal = 'Get "http://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused';
    const attemptWith = (attempt: number, maxAttempts: number) =>
      environment(attempt)
        .env.run(createDockerNodeActivity(deps), input({ maxAttempts }))
        .catch((e: unknown) => e);
    expect(await attemptWith(1, 2)).toMatchObject({ type: 'ImagePullError', nonRetryable: false });
    expect(await attemptWith(2, 2)).toMatchObject({ type: 'ImagePullError', nonRetryable: true });
    expect(await attemptWith(1, 1)).toMatchObject({ type: 'ImagePullError', nonRetryable: true });
  });
});

test('GPUs, shm, working dir and root reach the container only where the worker and the workspace allow them', async () => {
  const cfg = run.runtimeSnapshot.nodes[0]!.executorConfig as Record<string, unknown>;
  Object.assign(cfg, { gpus: 2, shmMb: 512, workingDir: '/work', runAsRoot: true });
  const succeed = (containers: FakeContainers) =>
    (containers.behaviour = (c) =>
      setTimeout(() => containers.finish(c.id, { exitCode: 0, oomKilled: false, timedOut: false }, {}), 5));
  try {
    for (const [opts, refusal] of [
      [{ workerGpus: 1, allowRoot: true }, /asks for 2 GPU\(s\); this worker offers 1 \(WORKER_GPUS\)/],
      [{ workerGpus: 2, allowRoot: false }, /does not allow root containers \(settings.allowRootContainers\)/],
    ] as const) {
      const { deps, containers, slots } = setup(opts);
      await expect(environment().env.run(createDockerNodeActivity(deps), input())).rejects.toThrow(refusal);
      // Refused before a slot or a container.
      expect({ created: containers.created.length, slots: slots.acquired }).toEqual({ created: 0, slots: 0 });
    }
    const { deps, containers } = setup({ workerGpus: 2, allowRoot: true });
    succeed(containers);
    await environment().env.run(createDockerNodeActivity(deps), input());
    expect(containers.created[0]).toMatchObject({ gpus: 2, shmMb: 512, workingDir: '/work', runAsRoot: true });
  } finally {
    for (const k of ['gpus', 'shmMb', 'workingDir', 'runAsRoot']) delete cfg[k];
  }
});
