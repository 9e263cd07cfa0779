// Steps that write the attempt to the run mirror: running, a cache hit, a failure (counted against the node's
// retry budget) and a success. Every write is an idempotent, monotonic transition (src/db/runs.ts).
import type { TaskTransition } from '../../src/db/runs';
import type { ExitState, ResourceSample } from '../../src/docker/container-runner';
import { runTaskId } from '../../src/domain/run';
import type { ArtifactDoc, AttemptRecord, RunTaskDoc } from '../../src/domain/run';
import type { ArtifactManifestRef, NodeResult } from '../../src/engine/contract';
import type { DockerExecutorDeps, NodeAttempt } from './attempt';
import type { CachedResult } from './cache';
import type { LogDigest } from './outputs';
import { smallResult, toRef } from './outputs';

/**
 * A worker that died after recording this node's success but before Temporal heard of it: that result, collected
 * instead of running the node again.
 */
export async function recordedSuccess(
  deps: Pick<DockerExecutorDeps, 'mirror'>,
  { input }: Pick<NodeAttempt, 'input'>,
): Promise<NodeResult | undefined> {
  const recorded = await deps.mirror.getTask(input.runId, input.nodeId);
  if (recorded?.generation !== input.generation || recorded.status !== 'success') return undefined;
  return {
    ...(await outputsOf(deps, recorded)),
    assetIds: recorded.assetIds,
    cacheHit: recorded.cacheHit,
    result: smallResult(recorded.lastResultPreview),
  };
}

/** What a succeeded task passes downstream: its manifest when it has one, otherwise its artifacts' refs. */
export async function outputsOf(
  deps: Pick<DockerExecutorDeps, 'mirror'>,
  task: Pick<RunTaskDoc, 'outputArtifactIds' | 'outputManifest'>,
): Promise<Pick<NodeResult, 'artifacts' | 'manifest'>> {
  if (task.outputManifest) return { artifacts: [], manifest: task.outputManifest };
  return { artifacts: (await deps.mirror.artifactsByIds(task.outputArtifactIds)).map(toRef) };
}

export async function recordRunning(
  deps: Pick<DockerExecutorDeps, 'mirror'>,
  { input, task, attempt, startedAt, activity, rendered, cfg }: NodeAttempt,
): Promise<void> {
  // A node the run's end interrupted, run again by a newer execution (a reset to a point after it started): the run
  // reopens now, so this attempt's writes land, rather than when the reconciler next looks.
  const execution = activity.info.workflowExecution?.runId;
  if (execution) await deps.mirror.resumeInterrupted?.(input.runId, input.nodeId, execution);
  await deps.mirror.applyTransitions(input.runId, [
    {
      ...task,
      status: 'running',
      attempt,
      attemptRecord: { attempt, status: 'running', startedAt },
      set: {
        startedAt,
        assetIds: input.assetIds,
        ...(rendered && cfg.command ? { renderedCommand: cfg.command } : {}),
      },
    },
  ]);
}

/** The task's terminal transition for this attempt: its attempt record, and the fields it ends with. */
function ended(
  { task, attempt, startedAt, image }: NodeAttempt,
  status: 'success' | 'failed',
  finishedAt: Date,
  record: Partial<AttemptRecord>,
  set: Partial<RunTaskDoc>,
): TaskTransition {
  return {
    ...task,
    status,
    attempt,
    attemptRecord: { attempt, status, startedAt, finishedAt, ...record },
    set: {
      ...set,
      // The image actually run: its id always, its registry digest when it came from one.
      ...(image ? { imageId: image.id, ...(image.digest ? { imageDigest: image.digest } : {}) } : {}),
      finishedAt,
      durationMs: finishedAt.getTime() - startedAt.getTime(),
    },
  };
}

export async function recordCacheHit(
  deps: Pick<DockerExecutorDeps, 'mirror'>,
  a: NodeAttempt,
  cacheKey: string,
  cached: CachedResult,
  image: string,
): Promise<NodeResult> {
  const { input, log } = a;
  await deps.mirror.applyTransitions(input.runId, [
    ended(
      a,
      'success',
      new Date(),
      {},
      {
        cacheKey,
        cacheHit: true,
        outputArtifactIds: cached.hit.outputArtifactIds,
        ...(cached.hit.outputManifest ? { outputManifest: cached.hit.outputManifest } : {}),
        lastResultPreview: cached.hit.lastResultPreview,
        summary: { executor: 'docker', outcome: 'success', cacheHit: true, cachedFromTaskId: cached.hit._id, image },
      },
    ),
  ]);
  log.info({ cachedFrom: cached.hit._id }, 'cache hit: no container started');
  const outputs = cached.hit.outputManifest
    ? { artifacts: [], manifest: cached.hit.outputManifest }
    : { artifacts: cached.artifacts.map(toRef) };
  return { ...outputs, assetIds: input.assetIds, cacheHit: true, result: smallResult(cached.hit.lastResultPreview) };
}

/** What the mirror keeps of an ended container: the log's tail and counts, and its resources. */
export interface ContainerOutcome {
  containerId: string;
  exit: ExitState;
  usage?: ResourceSample;
  logs: LogDigest;
  logRef: RunTaskDoc['logRef'];
  finishedAt: Date;
}

function outcomeFields(o: ContainerOutcome): Partial<RunTaskDoc> {
  return {
    logRef: o.logRef,
    logLines: o.logs.tail,
    stdoutLines: o.logs.stdoutLines,
    stderrLines: o.logs.stderrLines,
    resources: {
      peakMemoryBytes: o.usage?.peakMemoryBytes || undefined,
      cpuTimeMs: o.usage?.cpuTimeMs || undefined,
      exitCode: o.exit.exitCode,
      oomKilled: o.exit.oomKilled,
    },
  };
}

/**
 * Whether this container failure spends the node's retry budget. The budget counts container failures only: an
 * attempt lost with a crashed worker (Temporal's crash allowance) does not use it.
 */
export async function isFinalFailure(
  deps: Pick<DockerExecutorDeps, 'mirror'>,
  { input, attempt }: NodeAttempt,
): Promise<boolean> {
  const task = await deps.mirror.getTask(input.runId, input.nodeId);
  const earlierFailures = Object.values(task?.generation === input.generation ? (task.attempts ?? {}) : {}).filter(
    (a) => a.status === 'failed' && a.attempt !== attempt,
  ).length;
  return earlierFailures + 1 >= input.maxAttempts;
}

/** A failed attempt: the task fails when `final`, otherwise only the attempt is recorded and Temporal retries. */
export async function recordFailure(
  deps: Pick<DockerExecutorDeps, 'mirror'>,
  a: NodeAttempt,
  outcome: ContainerOutcome,
  errorMessage: string,
  final: boolean,
): Promise<void> {
  const { input, attempt, startedAt, log } = a;
  const { exit, finishedAt, containerId } = outcome;
  const record = {
    attempt,
    status: 'failed' as const,
    startedAt,
    finishedAt,
    errorMessage,
    exitCode: exit.exitCode,
    containerId,
  };
  if (final) {
    await deps.mirror.applyTransitions(input.runId, [
      ended(a, 'failed', finishedAt, record, {
        ...outcomeFields(outcome),
        errorMessage,
        summary: { executor: 'docker', outcome: 'failed', exitCode: exit.exitCode, assetCount: input.assetIds.length },
      }),
    ]);
  } else {
    await deps.mirror.recordAttempt(input.runId, input.nodeId, input.generation, record);
  }
  log.warn({ exit }, errorMessage);
}

export async function recordSuccess(
  deps: Pick<DockerExecutorDeps, 'mirror' | 'workerId'>,
  a: NodeAttempt,
  outcome: ContainerOutcome,
  result: { docs: ArtifactDoc[]; manifest?: ArtifactManifestRef; preview: unknown; cacheKey?: string; image: string },
): Promise<void> {
  const { input, run } = a;
  const { finishedAt, containerId, logs } = outcome;
  const transition = ended(
    a,
    'success',
    finishedAt,
    { exitCode: 0, containerId },
    {
      ...outcomeFields(outcome),
      outputArtifactIds: result.docs.map((d) => d._id),
      ...(result.manifest ? { outputManifest: result.manifest } : {}),
      lastResultPreview: result.preview,
      cacheHit: false,
      ...(result.cacheKey ? { cacheKey: result.cacheKey } : {}),
      summary: {
        executor: 'docker',
        outcome: 'success',
        worker: deps.workerId,
        taskQueue: a.activity.info.taskQueue,
        image: result.image,
        assetCount: input.assetIds.length,
        artifactCount: result.docs.length,
        stdoutLines: logs.stdoutLines,
        stderrLines: logs.stderrLines,
      },
    },
  );
  await deps.mirror.applyTransitions(input.runId, [{ ...transition, unset: ['errorMessage'] }]);
  if (result.cacheKey)
    await deps.mirror.recordCacheEntry(run.workspaceId, result.cacheKey, runTaskId(input.runId, input.nodeId));
}

/** A node whose outputs passed its maxOutputBytes: the task fails (its objects were already taken back). */
export async function recordLimitFailure(
  deps: Pick<DockerExecutorDeps, 'mirror'>,
  a: NodeAttempt,
  errorMessage: string,
): Promise<void> {
  await deps.mirror.applyTransitions(a.input.runId, [
    ended(
      a,
      'failed',
      new Date(),
      { errorMessage },
      { errorMessage, summary: { executor: 'docker', outcome: 'failed' } },
    ),
  ]);
}
