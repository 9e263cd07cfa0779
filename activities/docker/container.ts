// Steps: find an earlier attempt's container, create and start a new one, and supervise it until it exits —
// heartbeating, honouring cancellation, renewing the slot, streaming live log lines and resource samples.
import { CancelledFailure } from '@temporalio/activity';
import { LABEL_PREFIX } from '../../src/docker/container-runner';
import type { ArchiveEntry, ExitState, ResourceSample } from '../../src/docker/container-runner';
import type { ExecutionLogDoc } from '../../src/domain/execution';
import { newId } from '../../src/ids';
import { gpuCount } from '../../src/temporal/names';
import { nodeConfigError } from '../errors';
import { containerName } from './attempt';
import type { DockerExecutorDeps, NodeAttempt } from './attempt';
import { ImageMissingError } from './port';
import type { ExistingContainer, ResourceWatch } from './port';
import type { RunImage } from './pull';
import { secretEnv } from './secrets';
import type { SlotLease } from './slot';

/** How often a running container's attempt heartbeats and checks for cancellation. */
export const TICK_MS = 2000;
const METRICS_SAMPLE_EVERY_MS = 15_000;
/** Lines streamed live into execution_logs per attempt; the full log always goes to object storage. */
const LIVE_LOG_MAX_LINES = 5000;
export const LOG_LINE_MAX_CHARS = 2000;
/** The follow stream ends just after the container; its last lines get this long to arrive. */
const FOLLOW_GRACE_MS = 500;

/**
 * A previous attempt's container (its worker died): re-attached to when it still runs or succeeded; removed
 * otherwise, so this attempt starts clean under the same name.
 */
export async function findEarlierContainer(
  deps: Pick<DockerExecutorDeps, 'containers'>,
  attempt: NodeAttempt,
): Promise<ExistingContainer | undefined> {
  const { input, log } = attempt;
  const existing = await deps.containers.findByName(containerName(input.runId, input.nodeId, input.generation));
  if (!existing) return undefined;
  if (existing.running || existing.exitedCleanly) {
    log.info({ containerId: existing.id, running: existing.running }, 'found the container of an earlier attempt');
    return existing;
  }
  await deps.containers.remove(existing.id);
  return undefined;
}

/**
 * What a node may ask of the engine beyond the hardened default: GPUs this worker has (WORKER_GPUS), root only where
 * the workspace allows it. Checked before a slot is taken or a container made; never retried.
 */
export async function checkPrivileges(
  deps: Pick<DockerExecutorDeps, 'workspaces' | 'workerGpus'>,
  { cfg, run }: Pick<NodeAttempt, 'cfg' | 'run'>,
): Promise<void> {
  const wanted = gpuCount(cfg.gpus);
  if (wanted > (deps.workerGpus ?? 0)) {
    throw nodeConfigError(
      `the node asks for ${wanted} GPU(s); this worker offers ${deps.workerGpus ?? 0} (WORKER_GPUS)`,
    );
  }
  if (cfg.runAsRoot && !(await deps.workspaces.executionLimits(run.workspaceId)).allowRootContainers) {
    throw nodeConfigError('runAsRoot: the workspace does not allow root containers (settings.allowRootContainers)');
  }
}

/** Creates the hardened container (not started); returns its id. */
export async function createContainer(
  deps: Pick<DockerExecutorDeps, 'containers' | 'deployment'>,
  { input, run, cfg, attempt, secrets }: NodeAttempt,
  image: RunImage,
  secretsDir?: string,
): Promise<string> {
  try {
    return await deps.containers.create({
      name: containerName(input.runId, input.nodeId, input.generation),
      image: image.id,
      command: cfg.command,
      env: { ...cfg.env, ...secretEnv(secrets) },
      ...(secretsDir ? { secretsDir } : {}),
      ...(cfg.gpus !== undefined ? { gpus: cfg.gpus } : {}),
      ...(cfg.shmMb ? { shmMb: cfg.shmMb } : {}),
      ...(cfg.workingDir ? { workingDir: cfg.workingDir } : {}),
      ...(cfg.runAsRoot ? { runAsRoot: true } : {}),
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
        [`${LABEL_PREFIX}image`]: image.ref,
      },
    });
  } catch (err) {
    if (err instanceof ImageMissingError) throw nodeConfigError(err.message);
    throw gpuRefusal(err);
  }
}

/**
 * The engine refusing a GPU request (no NVIDIA container toolkit, though this worker declares WORKER_GPUS): the same
 * request would be refused again, so the node fails with the engine's reason, not retried. At create or at start.
 */
function gpuRefusal(err: unknown): unknown {
  const message = (err as Error | null)?.message ?? '';
  return /could not select device driver|nvidia-container|unknown or invalid runtime/i.test(message)
    ? nodeConfigError(`the node asks for GPUs but the Docker engine cannot provide them: ${message}`)
    : err;
}

/** Copies the inputs in (one tar stream) and starts the container. */
export async function stageAndStart(
  deps: Pick<DockerExecutorDeps, 'containers'>,
  containerId: string,
  entries: AsyncIterable<ArchiveEntry>,
  /** Maps a staging error to the one the task should show. */
  stagingFailure: (err: unknown) => unknown = (err) => err,
): Promise<void> {
  try {
    await deps.containers.putEntries(containerId, entries);
  } catch (err) {
    throw stagingFailure(err);
  }
  try {
    await deps.containers.start(containerId);
  } catch (err) {
    throw gpuRefusal(err);
  }
}

export interface Supervised {
  exit: ExitState;
  usage?: ResourceSample;
}

/**
 * Waits for the container to exit. A container re-attached to after it had already exited is not followed
 * again (its lines were streamed by the attempt that started it): its exit state is read as it is.
 */
export async function superviseContainer(
  deps: Pick<DockerExecutorDeps, 'containers' | 'executionLogs' | 'executionMetrics'>,
  attempt: NodeAttempt,
  containerId: string,
  opts: { reattached?: ExistingContainer; slot?: SlotLease },
): Promise<Supervised> {
  const { reattached, slot } = opts;
  if (reattached && !reattached.running) {
    return { exit: { exitCode: reattached.exitCode, oomKilled: reattached.oomKilled, timedOut: false } };
  }
  const { containers } = deps;
  const { activity, cfg } = attempt;
  // The stats stream connects in the background (Docker takes ~50 ms to answer it): waiting for it would delay
  // every container by that much, and a container that ends sooner has no sample to give anyway.
  let watcher: ResourceWatch | undefined;
  const watching = containers.watchResources(containerId).then(
    (w) => (watcher = w),
    () => undefined,
  );
  const live = reattached ? undefined : new LiveLog(deps, attempt);
  const follower = live
    ? await containers.followLines(containerId, (stream, line) => live.add(stream, line)).catch(() => undefined)
    : undefined;
  let lastMetricsAt = 0;
  const exit = await containers
    .waitForExit(containerId, {
      timeoutMs: cfg.timeoutSeconds * 1000,
      tickMs: TICK_MS,
      onTick: async () => {
        activity.heartbeat({ containerId });
        if (activity.cancellationSignal.aborted) throw new CancelledFailure('node cancelled');
        await slot?.renewIfDue();
        await live?.flush();
        const sample = watcher?.latest();
        if (!sample || Date.now() - lastMetricsAt < METRICS_SAMPLE_EVERY_MS) return;
        lastMetricsAt = Date.now();
        await recordSample(deps, attempt, sample);
      },
    })
    .finally(() => watching.then((w) => w?.stop()));
  if (follower) await Promise.race([follower.ended, new Promise((r) => setTimeout(r, FOLLOW_GRACE_MS))]);
  follower?.stop();
  await live?.flush();
  return { exit, usage: watcher?.latest() };
}

function recordSample(
  deps: Pick<DockerExecutorDeps, 'executionMetrics'>,
  { input, run, attempt }: NodeAttempt,
  sample: ResourceSample,
) {
  return deps.executionMetrics.insertSample({
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
}

/** Live log lines for GET /runs/:id/events, batched into execution_logs on each tick. */
class LiveLog {
  private readonly lines: ExecutionLogDoc[] = [];
  private count = 0;

  constructor(
    private readonly deps: Pick<DockerExecutorDeps, 'executionLogs'>,
    private readonly attempt: NodeAttempt,
  ) {}

  add(stream: 'stdout' | 'stderr', line: string): void {
    if (this.count >= LIVE_LOG_MAX_LINES) return;
    const { input, run, attempt } = this.attempt;
    this.lines.push({
      _id: newId('log'),
      workspaceId: run.workspaceId,
      runId: input.runId,
      nodeId: input.nodeId,
      attempt,
      seq: this.count++,
      stream,
      line: this.attempt.masker.mask(line).slice(0, LOG_LINE_MAX_CHARS),
      createdAt: new Date(),
    });
  }

  /** Lines that cannot be written are dropped (the full log still reaches object storage). */
  async flush(): Promise<void> {
    if (!this.lines.length) return;
    const batch = this.lines.splice(0);
    await this.deps.executionLogs
      .insertLines(batch)
      .catch((err: unknown) => this.attempt.log.warn({ err }, 'live log lines dropped'));
  }
}
