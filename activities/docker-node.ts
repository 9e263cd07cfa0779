// The docker executor: one attempt of a docker node, as named steps (activities/docker/*), each callable alone:
// resolve the image, look up the cache, take a container slot, stage inputs, run (or re-attach to) the container,
// collect its log and outputs, record the outcome. Bytes stream between object storage and the container (tar in,
// tar out, multipart up): nothing is held whole in memory or written to the worker's disk.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { itemTaskNodeId } from '../src/dag/map';
import type { NodeInput, NodeResult } from '../src/engine/contract';
import { ChecksumMismatchError } from '../src/storage/object-store';
import { checkOutputContract } from './contract';
import { containerName } from './docker/attempt';
import type { ActivityHandle, DockerExecutorDeps, NodeAttempt } from './docker/attempt';
import { lookUpCache } from './docker/cache';
import {
  checkPrivileges,
  createContainer,
  findEarlierContainer,
  stageAndStart,
  superviseContainer,
} from './docker/container';
import { resolveImage } from './docker/image';
import {
  collectOutputs,
  digestLogs,
  maskDigest,
  recordArtifacts,
  smallResult,
  storeLog,
  toRef,
} from './docker/outputs';
import type { CollectedOutputs } from './docker/outputs';
import { ensureImage, reattachedImage } from './docker/pull';
import {
  isFinalFailure,
  recordCacheHit,
  recordedSuccess,
  recordFailure,
  recordLimitFailure,
  recordRunning,
  recordSuccess,
} from './docker/record';
import type { ContainerOutcome } from './docker/record';
import { removeSecretFiles, resolveSecrets, SecretMasker, writeSecretFiles } from './docker/secrets';
import { acquireSlot } from './docker/slot';
import type { SlotLease } from './docker/slot';
import { checkStagingSpace, NODE_UID, stagingEntries } from './docker/staging';
import { renderConfig } from './docker/template';
import { TransferProgress } from './docker/transfer';
import { containerFailed, nodeConfigError, outputContractViolated, runNotFound } from './errors';

export type { DockerExecutorDeps } from './docker/attempt';
export { containerName } from './docker/attempt';
export { LOG_TAIL_LINES } from './docker/outputs';

function describeFailure(exit: ContainerOutcome['exit'], cfg: NodeAttempt['cfg']): string {
  if (exit.timedOut) return `timed out after ${cfg.timeoutSeconds}s (container killed)`;
  if (exit.oomKilled) return `out of memory: exceeded the ${cfg.memoryMb} MiB memory limit (exit ${exit.exitCode})`;
  return `container exited with code ${exit.exitCode}`;
}

/** S3 answers that mean the credentials (or the bucket) are wrong: retrying the same request cannot help. */
const REFUSED_BY_STORAGE = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'NoSuchBucket',
  'NoSuchKey',
]);

/** Staging failures a task should show as they are: corrupt bytes, refused credentials, a full Docker volume. */
function stagingFailure(err: unknown): unknown {
  if (err instanceof ChecksumMismatchError)
    return ApplicationFailure.nonRetryable(`staging inputs: ${err.message}`, 'InputChecksumError');
  const name = (err as { name?: string } | null)?.name;
  if (name && REFUSED_BY_STORAGE.has(name))
    return nodeConfigError(`staging inputs: object storage refused the read (${name}): ${(err as Error).message}`);
  if (/no space left on device/i.test(String((err as Error | null)?.message))) {
    return ApplicationFailure.nonRetryable(
      `staging inputs: the Docker engine has no space left for this node's inputs (${(err as Error).message})`,
      'StagingSpaceError',
    );
  }
  return err;
}

/** The attempt's context: the run's frozen snapshot, the node, and the attempt number across generations. */
async function beginAttempt(
  deps: DockerExecutorDeps,
  input: NodeInput,
  activity: ActivityHandle,
): Promise<NodeAttempt> {
  const attempt = input.attemptBase + activity.info.attempt;
  const run = await deps.mirror.getRunSnapshot(input.runId);
  if (!run) throw runNotFound(input.runId);
  const node = run.runtimeSnapshot.nodes.find((n) => n.id === input.nodeId);
  if (!node || node.executorType !== 'docker') throw nodeConfigError(`node ${input.nodeId} is not a docker node`);
  // A map item runs as a task of its own: every step below names, labels and records it by the item's task id.
  const item = input.item ? await itemOf(deps, input) : undefined;
  const unit = item ? { ...input, nodeId: item.taskNodeId, assetIds: item.assetIds } : input;
  const itemView = item ? { key: item.key, index: item.index, value: item.value } : undefined;
  const { cfg, rendered } = await renderConfig(deps, { cfg: node.executorConfig, run, input: unit, item: itemView });
  const secrets = await resolveSecrets(deps, { cfg, run });
  return {
    input: unit,
    run,
    node,
    cfg,
    secrets,
    masker: new SecretMasker(secrets.map((s) => s.value)),
    ...(rendered ? { rendered: true } : {}),
    attempt,
    startedAt: new Date(),
    log: deps.logger.child({ runId: input.runId, nodeId: unit.nodeId, attempt }),
    activity,
    task: { nodeId: unit.nodeId, generation: input.generation },
    ...(itemView ? { item: itemView } : {}),
  };
}

/** A map item's task: its assets and value, as the planner recorded them. */
async function itemOf(deps: DockerExecutorDeps, input: NodeInput) {
  const taskNodeId = itemTaskNodeId(input.nodeId, input.item!.key);
  const task = await deps.mirror.getTask(input.runId, taskNodeId);
  if (!task || task.itemKey === undefined)
    throw nodeConfigError(`item ${input.item!.key} of ${input.nodeId} was not planned`);
  return { taskNodeId, key: task.itemKey, index: task.itemIndex ?? 0, value: task.itemValue, assetIds: task.assetIds };
}

export function createDockerNodeActivity(deps: DockerExecutorDeps) {
  return async function executeDockerNode(input: NodeInput): Promise<NodeResult> {
    const attempt = await beginAttempt(deps, input, Context.current());
    const recorded = await recordedSuccess(deps, attempt);
    if (recorded) return recorded;
    await recordRunning(deps, attempt);
    const { image, contract } = await resolveImage(deps, attempt);

    let containerId: string | undefined;
    let slot: SlotLease | undefined;
    /** Objects this attempt wrote and has not recorded: taken back if it fails. */
    const unrecorded: string[] = [];
    /**
     * Set while the log and outputs go to object storage: a container that exited 0 is kept when only that failed
     * (storage down), so the retry re-attaches to it and uploads again instead of running the node again.
     */
    let uploading = false;
    let keepContainer = false;
    /** The host tmpfs folder of the node's file secrets, bind-mounted read-only while its container lives. */
    let secretsDir: string | undefined;
    try {
      const earlier = await findEarlierContainer(deps, attempt);
      containerId = earlier?.id;
      // The exact image this attempt runs (pulled first when the policy says so): recorded on the task, keyed by
      // the cache, and what the container is created from, so a tag moved meanwhile cannot swap it.
      attempt.image = earlier?.imageId
        ? await reattachedImage(deps, image, earlier.imageId)
        : await ensureImage(deps, attempt, image);
      const { cacheKey, cached } = earlier ? {} : await lookUpCache(deps, attempt, attempt.image);
      if (cacheKey && cached) return await recordCacheHit(deps, attempt, cacheKey, cached, image);

      if (!containerId) {
        await checkPrivileges(deps, attempt);
        slot = await acquireSlot(deps, attempt);
        const endStart = deps.metrics.containerStart.startTimer();
        await checkStagingSpace(deps, attempt);
        secretsDir = await writeSecretFiles(
          deps,
          attempt.secrets,
          containerName(attempt.input.runId, attempt.input.nodeId, attempt.input.generation),
          attempt.cfg.runAsRoot ? 0 : NODE_UID,
        );
        containerId = await createContainer(deps, attempt, attempt.image, secretsDir);
        const staging = new TransferProgress(attempt.activity, 'staging');
        await stageAndStart(deps, containerId, stagingEntries(deps, attempt, staging), stagingFailure);
        endStart();
        attempt.log.debug(staging.totals, 'inputs staged');
      }
      const { exit, usage } = await superviseContainer(deps, attempt, containerId, { reattached: earlier, slot });

      const logs = maskDigest(digestLogs(await deps.containers.logs(containerId)), attempt.masker);
      const succeeded = exit.exitCode === 0 && !exit.timedOut && !exit.oomKilled;
      const maxOutputBytes =
        attempt.cfg.maxOutputBytes ?? (await deps.workspaces.executionLimits(attempt.run.workspaceId)).maxOutputBytes;
      const collecting = succeeded
        ? collectOutputs(deps, attempt, containerId, {
            maxOutputBytes,
            progress: new TransferProgress(attempt.activity, 'uploading'),
            uploaded: unrecorded,
          })
        : undefined;
      // The log goes to storage while the outputs stream out; settled together, so neither is left unobserved.
      uploading = true;
      const [logRef, produced] = await Promise.all([storeLog(deps, attempt, logs.text), collecting]);
      uploading = false;
      const outcome: ContainerOutcome = { containerId, exit, usage, logs, logRef, finishedAt: new Date() };

      if (!succeeded) {
        const reason = describeFailure(exit, attempt.cfg);
        const errorMessage = logs.lastStderr ? `${reason}; last stderr: ${logs.lastStderr}` : reason;
        const final = await isFinalFailure(deps, attempt);
        await recordFailure(deps, attempt, outcome, errorMessage, final);
        throw containerFailed(errorMessage, final);
      }
      const { docs, files, manifest } = produced as CollectedOutputs;
      const preview = attempt.masker.maskJson((produced as CollectedOutputs).preview);
      const violations = checkOutputContract(contract?.outputs ?? [], files);
      if (violations.length) {
        const errorMessage = `output contract not met: ${violations.join('; ')}`;
        await recordFailure(deps, attempt, outcome, errorMessage, true);
        throw outputContractViolated(errorMessage);
      }
      await recordArtifacts(deps, attempt, docs);
      unrecorded.length = 0;
      await recordSuccess(deps, attempt, outcome, { docs, manifest, preview, cacheKey, image });
      return {
        artifacts: manifest ? [] : docs.map(toRef),
        ...(manifest ? { manifest } : {}),
        assetIds: input.assetIds,
        cacheHit: false,
        result: smallResult(preview),
      };
    } catch (err) {
      // An output limit is the node's own doing: the task fails with the size in its message.
      if (err instanceof ApplicationFailure && err.type === 'OutputLimitError')
        await recordLimitFailure(deps, attempt, err.message);
      const final = err instanceof ApplicationFailure && err.nonRetryable;
      keepContainer = uploading && !final && !attempt.activity.cancellationSignal.aborted;
      if (keepContainer) attempt.log.warn({ err }, 'uploading outputs failed: the container is kept for the retry');
      throw err;
    } finally {
      if (unrecorded.length)
        await deps.store
          .deleteKeys(unrecorded)
          .catch((err: unknown) => attempt.log.warn({ err }, 'could not delete unrecorded outputs'));
      if (containerId && !keepContainer) {
        await deps.containers
          .remove(containerId)
          .catch((err: unknown) => attempt.log.error({ err }, 'could not remove container'));
        await removeSecretFiles(secretsDir).catch((err: unknown) =>
          attempt.log.warn({ err }, 'could not remove secret files'),
        );
      }
      if (slot)
        await slot.release().catch((err: unknown) => attempt.log.warn({ err }, 'could not release container slot'));
    }
  };
}
