import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { CancelledFailure, Context } from '@temporalio/activity';
import type Docker from 'dockerode';
import type { Db } from 'mongodb';
import { AssetRepository } from '../src/db/catalog';
import { CustomNodeRepository } from '../src/db/definitions';
import { ExecutionLogRepository, ExecutionMetricRepository } from '../src/db/execution-logs';
import { WorkspaceRepository } from '../src/db/identity';
import { ContainerSlots, LEASE_TTL_MS } from '../src/db/leases';
import type { RunStore } from '../src/db/runs';
import { type ArchiveEntry, type ContainerRunner, LABEL_PREFIX, WORK_DIR } from '../src/docker/container-runner';
import type { ExecutionLogDoc } from '../src/domain/execution';
import type { ArtifactDoc, ArtifactRef, RunTaskDoc, WorkflowRunDoc } from '../src/domain/run';
import { cacheEntryId, runTaskId } from '../src/domain/run';
import { newId } from '../src/ids';
import type { DockerExecutorConfig, NodeContract } from '../src/domain/runtime-graph';
import type { Logger } from '../src/logger';
import type { Metrics } from '../src/metrics';
import type { ObjectStore } from '../src/storage/object-store';
import { checkOutputContract } from './contract';
import { containerFailed, nodeConfigError, outputContractViolated, runNotFound } from './errors';
import type { NodeInput, NodeResult } from '../src/engine/contract';

export const LOG_TAIL_LINES = 200;
const LOG_LINE_MAX_CHARS = 2000;
const RESULT_PREVIEW_MAX_BYTES = 64 * 1024;
const TICK_MS = 2000;
const SLOT_POLL_MS = 500;
/** A held container slot is renewed a third of its lifetime after the last renewal, not on every tick. */
const LEASE_RENEW_EVERY_MS = LEASE_TTL_MS / 3;
const METRICS_SAMPLE_EVERY_MS = 15_000;
const NODE_UID = 65534;
/** Lines streamed live into execution_logs per attempt; the full log always goes to object storage. */
const LIVE_LOG_MAX_LINES = 5000;
/** Assets in EmboFlow's bucket up to these sizes are copied in read-only; larger ones are passed by reference. */
const STAGED_ASSET_MAX_BYTES = 64 * 1024 * 1024;
const STAGED_ASSETS_TOTAL_MAX_BYTES = 256 * 1024 * 1024;

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.log': 'text/plain',
  '.csv': 'text/csv',
  '.md': 'text/markdown',
  '.html': 'text/html',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.mp4': 'video/mp4',
  '.h5': 'application/x-hdf5',
  '.hdf5': 'application/x-hdf5',
  '.bag': 'application/x-rosbag',
  '.tar': 'application/x-tar',
  '.gz': 'application/gzip',
};

export interface DockerNodeDeps {
  db: Db;
  runs: RunStore;
  store: ObjectStore;
  runner: ContainerRunner;
  logger: Logger;
  /** Labels this deployment's containers, so its reaper never touches another deployment's. */
  deployment: string;
  metrics: Metrics;
  workerId: string;
  /** Containers a workspace may run at once (0: no limit); a workspace's settings.maxRunningContainers may lower it. */
  workspaceContainerLimit: number;
}

/** Container names are derived from run, node and generation, so a retried attempt finds its predecessor. */
export function containerName(runId: string, nodeId: string, generation: number): string {
  return `emboflow-${runId}-${nodeId}-g${generation}`;
}

function artifactId(runId: string, nodeId: string, generation: number, path: string): string {
  return `art_${createHash('sha256').update(`${runId}/${nodeId}/${generation}/${path}`).digest('hex').slice(0, 26)}`;
}

/** What edge conditions read: the result.json, when small enough to pass through workflow history. */
const RESULT_IN_HISTORY_MAX_BYTES = 4096;
function smallResult(preview: unknown): unknown {
  if (preview === undefined) return undefined;
  return JSON.stringify(preview).length <= RESULT_IN_HISTORY_MAX_BYTES ? preview : undefined;
}

function toRef(d: ArtifactDoc): ArtifactRef {
  return { id: d._id, path: d.path, key: d.storageRef.key, checksum: d.storageRef.checksum, size: d.storageRef.size };
}

function describeFailure(exit: { exitCode: number; oomKilled: boolean; timedOut: boolean }, cfg: DockerExecutorConfig): string {
  if (exit.timedOut) return `timed out after ${cfg.timeoutSeconds}s (container killed)`;
  if (exit.oomKilled) return `out of memory: exceeded the ${cfg.memoryMb} MiB memory limit (exit ${exit.exitCode})`;
  return `container exited with code ${exit.exitCode}`;
}

interface LogDigest {
  text: Buffer;
  tail: string[];
  stdoutLines: number;
  stderrLines: number;
  lastStderr?: string;
}

function digestLogs(frames: Array<{ stream: 'stdout' | 'stderr'; data: Buffer }>): LogDigest {
  const lines: string[] = [];
  let stdoutLines = 0;
  let stderrLines = 0;
  let lastStderr: string | undefined;
  const partial = { stdout: '', stderr: '' };
  for (const f of frames) {
    const parts = (partial[f.stream] + f.data.toString('utf8')).split('\n');
    partial[f.stream] = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (f.stream === 'stdout') stdoutLines++;
      else {
        stderrLines++;
        if (line.trim()) lastStderr = line;
      }
    }
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    if (partial[stream]) {
      lines.push(partial[stream]);
      if (stream === 'stdout') stdoutLines++;
      else {
        stderrLines++;
        lastStderr = partial[stream];
      }
    }
  }
  return {
    text: Buffer.concat(frames.map((f) => f.data)),
    tail: lines.slice(-LOG_TAIL_LINES).map((l) => l.slice(0, LOG_LINE_MAX_CHARS)),
    stdoutLines,
    stderrLines,
    lastStderr: lastStderr?.slice(0, 500),
  };
}

export function createDockerNodeActivity(deps: DockerNodeDeps) {
  const { db, runs, store, runner, logger } = deps;
  const customNodes = new CustomNodeRepository(db);
  const assetRepo = new AssetRepository(db);
  const workspaces = new WorkspaceRepository(db);
  const executionLogs = new ExecutionLogRepository(db);
  const executionMetrics = new ExecutionMetricRepository(db);

  /** The image to run and the output contract to hold it to: the node's own, or its custom node's. */
  async function resolveNode(run: WorkflowRunDoc, node: { contract?: NodeContract }, cfg: DockerExecutorConfig) {
    if (cfg.image) return { image: cfg.image, contract: node.contract };
    const custom = await customNodes.findInWorkspace(cfg.customNodeId!, run.workspaceId);
    const image = custom && (custom.source.kind === 'image' ? custom.source.image : custom.source.imageTag);
    if (!image) throw nodeConfigError(`custom node ${cfg.customNodeId} not found or has no image`);
    return { image, contract: node.contract ?? custom?.contract };
  }

  async function stageInputs(input: NodeInput, run: WorkflowRunDoc, workDir: string, attempt: number) {
    const assets = input.assetIds.length ? await assetRepo.findForStaging(input.assetIds, run.workspaceId) : [];
    const entries: ArchiveEntry[] = [
      { type: 'directory', path: 'inputs', mode: 0o555 },
      { type: 'directory', path: 'assets', mode: 0o555 },
      { type: 'directory', path: 'outputs', mode: 0o755, uid: NODE_UID },
    ];
    const stagedDirs = new Map<string, string>();
    let stagedBytes = 0;
    for (const a of assets) {
      const ref = a.storageRef;
      const size = a.sizeBytes ?? Infinity;
      if (!ref?.key || ref.bucket !== store.bucket || size > STAGED_ASSET_MAX_BYTES) continue;
      if (stagedBytes + size > STAGED_ASSETS_TOTAL_MAX_BYTES) continue;
      stagedBytes += size;
      const name = ref.key.split('/').pop()!;
      const local = join(workDir, 'assets', a._id, name);
      await mkdir(dirname(local), { recursive: true });
      await writeFile(local, await store.getBuffer(ref.key));
      entries.push({ type: 'directory', path: `assets/${a._id}`, mode: 0o555 });
      entries.push({ type: 'file', path: `assets/${a._id}/${name}`, mode: 0o444, localPath: local });
      stagedDirs.set(a._id, `${WORK_DIR}/assets/${a._id}`);
    }
    const context = {
      runId: input.runId,
      nodeId: input.nodeId,
      attempt,
      workspaceId: run.workspaceId,
      projectId: run.projectId,
      assetIds: input.assetIds,
      assets: assets.map((a) => ({
        id: a._id,
        type: a.type,
        displayName: a.displayName,
        storageRef: a.storageRef,
        dir: stagedDirs.get(a._id) ?? null,
      })),
      datasetIds: run.datasetIds,
      params: run.params,
      inputs: input.upstream.map((u) => ({
        nodeId: u.nodeId,
        dir: `${WORK_DIR}/inputs/${u.nodeId}`,
        artifacts: u.artifacts.map((a) => ({ id: a.id, path: a.path, checksum: a.checksum, size: a.size })),
      })),
    };
    entries.unshift({ type: 'file', path: 'context.json', mode: 0o444, content: Buffer.from(JSON.stringify(context, null, 2)) });
    const dirs = new Set<string>();
    for (const u of input.upstream) {
      entries.push({ type: 'directory', path: `inputs/${u.nodeId}`, mode: 0o555 });
      for (const a of u.artifacts) {
        const local = join(workDir, 'in', u.nodeId, a.path);
        await mkdir(dirname(local), { recursive: true });
        await writeFile(local, await store.getBuffer(a.key));
        const parts = a.path.split('/').slice(0, -1);
        for (let i = 1; i <= parts.length; i++) {
          const d = `inputs/${u.nodeId}/${parts.slice(0, i).join('/')}`;
          if (!dirs.has(d)) {
            dirs.add(d);
            entries.push({ type: 'directory', path: d, mode: 0o555 });
          }
        }
        entries.push({ type: 'file', path: `inputs/${u.nodeId}/${a.path}`, mode: 0o444, localPath: local });
      }
    }
    return entries;
  }

  /** Copies the container's outputs out and reads what the contract check and the preview need. */
  async function extractOutputs(container: Docker.Container, workDir: string) {
    const outDir = join(workDir, 'out');
    await mkdir(outDir, { recursive: true });
    const paths = await runner.extractDir(container, `${WORK_DIR}/outputs`, outDir);
    let preview: unknown;
    const files = [];
    for (const path of paths) {
      const local = join(outDir, path);
      let validJson: boolean | undefined;
      if (path.toLowerCase().endsWith('.json') && (await stat(local)).size <= RESULT_PREVIEW_MAX_BYTES) {
        try {
          const parsed: unknown = JSON.parse(await readFile(local, 'utf8'));
          validJson = true;
          if (path === 'result.json') preview = parsed;
        } catch {
          validJson = false;
          if (path === 'result.json') preview = { error: 'result.json is not valid JSON' };
        }
      }
      files.push({ path, local, validJson });
    }
    return { files, preview };
  }

  async function uploadOutputs(
    files: Array<{ path: string; local: string }>,
    input: NodeInput,
    run: WorkflowRunDoc,
    node: { artifactType?: string; artifactTitle?: string },
    attempt: number,
  ): Promise<ArtifactDoc[]> {
    const inputArtifactIds = input.upstream.flatMap((u) => u.artifacts.map((a) => a.id));
    const taskId = runTaskId(input.runId, input.nodeId);
    const docs: ArtifactDoc[] = [];
    for (const { path, local } of files) {
      const key = `runs/${input.runId}/${input.nodeId}/g${input.generation}/outputs/${path}`;
      const contentType = CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
      const ref = await store.putFile(key, local, contentType);
      docs.push({
        _id: artifactId(input.runId, input.nodeId, input.generation, path),
        workspaceId: run.workspaceId,
        projectId: run.projectId,
        type: node.artifactType ?? 'intermediate_task_output',
        title: node.artifactTitle,
        path,
        producerType: 'run_task',
        producerId: taskId,
        runId: input.runId,
        nodeId: input.nodeId,
        attempt,
        storageRef: ref,
        previewable: contentType.startsWith('text/') || contentType === 'application/json' || contentType.startsWith('image/'),
        summary: { path, size: ref.size },
        lineage: { inputArtifactIds, runId: input.runId, nodeId: input.nodeId, taskId, assetIds: input.assetIds },
        createdBy: run.triggeredBy,
        createdAt: new Date(),
      });
    }
    await runs.upsertArtifacts(docs);
    return docs;
  }

  /**
   * A succeeded task elsewhere in the workspace with the same cache key: image digest (not tag), command, env,
   * network, ordered input artifact checksums, asset ids and run params.
   */
  async function cacheKeyFor(image: string, cfg: DockerExecutorConfig, input: NodeInput, run: WorkflowRunDoc): Promise<string> {
    const digest = (await runner.docker.getImage(image).inspect()).Id;
    const inputs = input.upstream
      .flatMap((u) => u.artifacts.map((a) => `${u.nodeId}/${a.path}=${a.checksum}`))
      .sort();
    const material = JSON.stringify({
      v: 1,
      image: digest,
      command: cfg.command ?? null,
      env: Object.entries(cfg.env).sort(([a], [b]) => a.localeCompare(b)),
      network: cfg.network,
      inputs,
      assets: [...input.assetIds].sort(),
      params: run.params,
    });
    return `docker:${createHash('sha256').update(material).digest('hex')}`;
  }

  async function cachedResult(cacheKey: string, run: WorkflowRunDoc, input: NodeInput) {
    // The cache entry points at the task that last produced this key; that task, read by _id, is the truth: it
    // must still be a success with this key (a retry of it clears the key) and have every artifact.
    const entry = await runs.cacheEntries.findOne({ _id: cacheEntryId(run.workspaceId, cacheKey) });
    if (!entry || entry.taskId === runTaskId(input.runId, input.nodeId)) return undefined;
    const hit = await runs.tasks.findOne({ _id: entry.taskId, workspaceId: run.workspaceId, cacheKey, status: 'success' });
    if (!hit) return undefined;
    const artifacts = await runs.artifacts.find({ _id: { $in: hit.outputArtifactIds }, workspaceId: run.workspaceId }).toArray();
    // Every artifact must still be there: a partial hit would hand downstream nodes an incomplete input.
    if (artifacts.length !== hit.outputArtifactIds.length) return undefined;
    return { hit, artifacts };
  }

  const slots = new ContainerSlots(db);
  /** Waits (heartbeating, cancellable) for one of the workspace's container slots. */
  async function acquireSlot(run: WorkflowRunDoc, holder: string): Promise<{ id: string; holder: string } | undefined> {
    const own = await workspaces.maxRunningContainers(run.workspaceId);
    const limit = own && own > 0 ? (deps.workspaceContainerLimit ? Math.min(own, deps.workspaceContainerLimit) : own) : deps.workspaceContainerLimit;
    if (!limit) return undefined;
    const ctx = Context.current();
    for (;;) {
      const id = await slots.tryAcquire(run.workspaceId, holder, limit);
      if (id) return { id, holder };
      ctx.heartbeat({ waitingForSlot: true });
      if (ctx.cancellationSignal.aborted) throw new CancelledFailure('node cancelled while waiting for a container slot');
      await new Promise((r) => setTimeout(r, SLOT_POLL_MS));
    }
  }

  return async function executeDockerNode(input: NodeInput): Promise<NodeResult> {
    const ctx = Context.current();
    const attempt = input.attemptBase + ctx.info.attempt;
    const run = await runs.getRunSnapshot(input.runId);
    if (!run) throw runNotFound(input.runId);
    const node = run.runtimeSnapshot.nodes.find((n) => n.id === input.nodeId);
    if (!node || node.executorType !== 'docker') throw nodeConfigError(`node ${input.nodeId} is not a docker node`);
    const cfg = node.executorConfig;
    const log = logger.child({ runId: input.runId, nodeId: input.nodeId, attempt });
    const startedAt = new Date();
    const taskKey = { nodeId: input.nodeId, generation: input.generation };

    // A worker that died after recording this node's success but before Temporal heard of it: collect that result.
    const recorded = await runs.getTask(input.runId, input.nodeId);
    if (recorded?.generation === input.generation && recorded.status === 'success') {
      const docs = await runs.artifacts.find({ _id: { $in: recorded.outputArtifactIds } }).toArray();
      return { artifacts: docs.map(toRef), assetIds: recorded.assetIds, cacheHit: recorded.cacheHit, result: smallResult(recorded.lastResultPreview) };
    }

    await runs.applyTransitions(input.runId, [
      {
        ...taskKey,
        status: 'running',
        attempt,
        attemptRecord: { attempt, status: 'running', startedAt },
        set: { startedAt, assetIds: input.assetIds },
      },
    ]);

    const { image, contract } = await resolveNode(run, node, cfg);
    const name = containerName(input.runId, input.nodeId, input.generation);
    const workDir = await mkdtemp(join(tmpdir(), 'emboflow-node-'));
    let container: Docker.Container | undefined;
    let slot: { id: string; holder: string } | undefined;
    let slotRenewedAt = 0;
    try {
      // A previous attempt's container (its worker died) is re-attached to if running, or collected if it succeeded.
      const existing = await runner.findByName(name);
      let reattached = false;
      if (existing && (existing.State.Running || (existing.State.Status === 'exited' && existing.State.ExitCode === 0))) {
        container = runner.docker.getContainer(existing.Id);
        reattached = true;
        log.info({ containerId: existing.Id, state: existing.State.Status }, 'found the container of an earlier attempt');
      } else if (existing) {
        await runner.remove(runner.docker.getContainer(existing.Id));
      }

      const cacheKey = !container && node.cache?.enabled !== false ? await cacheKeyFor(image, cfg, input, run).catch(() => undefined) : undefined;
      const cached = cacheKey ? await cachedResult(cacheKey, run, input) : undefined;
      if (cacheKey) deps.metrics.cacheLookups.inc({ result: cached ? 'hit' : 'miss' });
      if (cached) {
        const finishedAt = new Date();
        await runs.applyTransitions(input.runId, [
          {
            ...taskKey,
            status: 'success',
            attempt,
            attemptRecord: { attempt, status: 'success', startedAt, finishedAt },
            set: {
              cacheKey,
              cacheHit: true,
              outputArtifactIds: cached.hit.outputArtifactIds,
              lastResultPreview: cached.hit.lastResultPreview,
              finishedAt,
              durationMs: finishedAt.getTime() - startedAt.getTime(),
              summary: { executor: 'docker', outcome: 'success', cacheHit: true, cachedFromTaskId: cached.hit._id, image },
            },
          },
        ]);
        log.info({ cachedFrom: cached.hit._id }, 'cache hit: no container started');
        return { artifacts: cached.artifacts.map(toRef), assetIds: input.assetIds, cacheHit: true, result: smallResult(cached.hit.lastResultPreview) };
      }

      if (!container) {
        slot = await acquireSlot(run, `${input.runId}.${input.nodeId}.g${input.generation}`);
        slotRenewedAt = Date.now();
        const endStart = deps.metrics.containerStart.startTimer();
        const entries = await stageInputs(input, run, workDir, attempt);
        try {
          container = await runner.create({
            name,
            image,
            command: cfg.command,
            env: cfg.env,
            cpu: cfg.cpu,
            memoryMb: cfg.memoryMb,
            pidsLimit: cfg.pidsLimit,
            network: cfg.network,
            labels: {
              [`${LABEL_PREFIX}managed`]: 'true',
              [`${LABEL_PREFIX}deployment`]: deps.deployment,
              [`${LABEL_PREFIX}run`]: input.runId,
              [`${LABEL_PREFIX}node`]: input.nodeId,
              [`${LABEL_PREFIX}generation`]: String(input.generation),
              [`${LABEL_PREFIX}attempt`]: String(attempt),
              [`${LABEL_PREFIX}workspace`]: run.workspaceId,
            },
          });
        } catch (err) {
          if ((err as { statusCode?: number }).statusCode === 404) throw nodeConfigError(`image ${image} not found on the Docker engine`);
          throw err;
        }
        await runner.putEntries(container, entries);
        await container.start();
        endStart();
      }

      let lastMetricsAt = 0;
      const containerRef = container;
      // The stats stream connects in the background (Docker takes ~50 ms to answer it): waiting for it would delay
      // every container by that much, and a container that ends sooner has no sample to give anyway.
      let watcher: Awaited<ReturnType<ContainerRunner['watchResources']>> | undefined;
      const watching =
        existing && !existing.State.Running && reattached
          ? Promise.resolve(undefined)
          : runner.watchResources(containerRef).then(
              (w) => (watcher = w),
              () => undefined,
            );
      // Live log lines for GET /runs/:id/events; a re-attached attempt does not stream again (no duplicates).
      const liveLines: ExecutionLogDoc[] = [];
      let liveCount = 0;
      const follower = reattached
        ? undefined
        : await runner
            .followLines(containerRef, (stream, line) => {
              if (liveCount >= LIVE_LOG_MAX_LINES) return;
              liveLines.push({ _id: newId('log'), workspaceId: run.workspaceId, runId: input.runId, nodeId: input.nodeId, attempt, seq: liveCount++, stream, line: line.slice(0, LOG_LINE_MAX_CHARS), createdAt: new Date() });
            })
            .catch(() => undefined);
      const flushLive = async () => {
        if (!liveLines.length) return;
        const batch = liveLines.splice(0);
        await executionLogs.insertLines(batch).catch((err) => log.warn({ err }, 'live log lines dropped'));
      };
      const exit = reattached && !existing!.State.Running
        ? { exitCode: existing!.State.ExitCode, oomKilled: existing!.State.OOMKilled, timedOut: false }
        : await runner
            .waitForExit(containerRef, {
              timeoutMs: cfg.timeoutSeconds * 1000,
              tickMs: TICK_MS,
              onTick: async () => {
                ctx.heartbeat({ containerId: containerRef.id });
                if (ctx.cancellationSignal.aborted) throw new CancelledFailure('node cancelled');
                if (slot && Date.now() - slotRenewedAt >= LEASE_RENEW_EVERY_MS) {
                  await slots.renew(slot.id, slot.holder);
                  slotRenewedAt = Date.now();
                }
                await flushLive();
                const sample = watcher?.latest();
                if (!sample || Date.now() - lastMetricsAt < METRICS_SAMPLE_EVERY_MS) return;
                lastMetricsAt = Date.now();
                await executionMetrics.insertSample({
                  runId: input.runId,
                  nodeId: input.nodeId,
                  attempt,
                  workspaceId: run.workspaceId,
                  at: new Date(),
                  memoryBytes: sample.memoryBytes,
                  peakMemoryBytes: sample.peakMemoryBytes,
                  cpuTimeMs: sample.cpuTimeMs,
                  createdAt: new Date(),
                });
              },
            })
            .finally(() => watching.then((w) => w?.stop()));
      // The follow stream ends just after the container; give its last lines a moment, then close it.
      if (follower) await Promise.race([follower.ended, new Promise((r) => setTimeout(r, 500))]);
      follower?.stop();
      await flushLive();
      const usage = watcher?.latest();
      const peakMemoryBytes = usage?.peakMemoryBytes ?? 0;
      const cpuTimeMs = usage?.cpuTimeMs ?? 0;

      const logs = digestLogs(await runner.logs(containerRef));
      // The log goes to storage while the outputs are read (below, on success).
      const storingLog = store.putBuffer(
        `runs/${input.runId}/${input.nodeId}/g${input.generation}/attempt-${attempt}/log.txt`,
        logs.text,
        'text/plain',
      );
      const succeeded = exit.exitCode === 0 && !exit.timedOut && !exit.oomKilled;
      const reading = succeeded ? extractOutputs(containerRef, workDir) : undefined;
      // Settled together: neither is left unobserved when the other fails.
      const [logRef] = await Promise.all([storingLog, reading]);
      const finishedAt = new Date();
      const resources = { peakMemoryBytes: peakMemoryBytes || undefined, cpuTimeMs: cpuTimeMs || undefined, exitCode: exit.exitCode, oomKilled: exit.oomKilled };
      const logFields: Partial<RunTaskDoc> = {
        logRef,
        logLines: logs.tail,
        stdoutLines: logs.stdoutLines,
        stderrLines: logs.stderrLines,
        resources,
      };

      const failAttempt = async (errorMessage: string, final: boolean) => {
        const record = { attempt, status: 'failed' as const, startedAt, finishedAt, errorMessage, exitCode: exit.exitCode, containerId: containerRef.id };
        if (final) {
          await runs.applyTransitions(input.runId, [
            {
              ...taskKey,
              status: 'failed',
              attempt,
              attemptRecord: record,
              set: {
                ...logFields,
                errorMessage,
                finishedAt,
                durationMs: finishedAt.getTime() - startedAt.getTime(),
                summary: { executor: 'docker', outcome: 'failed', exitCode: exit.exitCode, assetCount: input.assetIds.length },
              },
            },
          ]);
        } else {
          await runs.recordAttempt(input.runId, input.nodeId, input.generation, record);
        }
        log.warn({ exit }, errorMessage);
      };

      if (exit.exitCode !== 0 || exit.timedOut || exit.oomKilled) {
        const reason = describeFailure(exit, cfg);
        const errorMessage = logs.lastStderr ? `${reason}; last stderr: ${logs.lastStderr}` : reason;
        // The node's retry budget counts container failures only: a crashed worker's lost attempt does not use it.
        const task = await runs.getTask(input.runId, input.nodeId);
        const earlierFailures = Object.values(task?.generation === input.generation ? task.attempts ?? {} : {}).filter(
          (a) => a.status === 'failed' && a.attempt !== attempt,
        ).length;
        const final = earlierFailures + 1 >= input.maxAttempts;
        await failAttempt(errorMessage, final);
        throw containerFailed(errorMessage, final);
      }

      const { files, preview } = (await reading)!;
      const violations = checkOutputContract(contract?.outputs ?? [], files);
      if (violations.length) {
        const errorMessage = `output contract not met: ${violations.join('; ')}`;
        await failAttempt(errorMessage, true);
        throw outputContractViolated(errorMessage);
      }
      const docs = await uploadOutputs(files, input, run, node, attempt);
      await runs.applyTransitions(input.runId, [
        {
          ...taskKey,
          status: 'success',
          attempt,
          attemptRecord: { attempt, status: 'success', startedAt, finishedAt, exitCode: 0, containerId: containerRef.id },
          set: {
            ...logFields,
            outputArtifactIds: docs.map((d) => d._id),
            lastResultPreview: preview,
            cacheHit: false,
            ...(cacheKey ? { cacheKey } : {}),
            finishedAt,
            durationMs: finishedAt.getTime() - startedAt.getTime(),
            summary: {
              executor: 'docker',
              outcome: 'success',
              worker: deps.workerId,
              taskQueue: ctx.info.taskQueue,
              image,
              assetCount: input.assetIds.length,
              artifactIds: docs.map((d) => d._id),
              stdoutLines: logs.stdoutLines,
              stderrLines: logs.stderrLines,
            },
          },
          unset: ['errorMessage'],
        },
      ]);
      if (cacheKey) await runs.recordCacheEntry(run.workspaceId, cacheKey, runTaskId(input.runId, input.nodeId));
      const artifacts: ArtifactRef[] = docs.map(toRef);
      return { artifacts, assetIds: input.assetIds, cacheHit: false, result: smallResult(preview) };
    } finally {
      if (container) await runner.remove(container).catch((err) => log.error({ err }, 'could not remove container'));
      if (slot) await slots.release(slot.id, slot.holder).catch((err) => log.warn({ err }, 'could not release container slot'));
      await rm(workDir, { recursive: true, force: true });
    }
  };
}
