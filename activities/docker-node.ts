// The docker executor: one attempt of a docker node, as named steps (activities/docker/*), each callable alone:
// resolve the image, look up the cache, take a container slot, stage inputs, run (or re-attach to) the container,
// collect its log and outputs, upload them, record the outcome.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import type { NodeInput, NodeResult } from '../src/engine/contract';
import { checkOutputContract } from './contract';
import type { ActivityHandle, DockerExecutorDeps, NodeAttempt } from './docker/attempt';
import { lookUpCache } from './docker/cache';
import { findEarlierContainer, startContainer, superviseContainer } from './docker/container';
import { resolveImage } from './docker/image';
import { digestLogs, extractOutputs, storeLog, toRef, smallResult, uploadOutputs } from './docker/outputs';
import { isFinalFailure, recordCacheHit, recordedSuccess, recordFailure, recordRunning, recordSuccess, type ContainerOutcome } from './docker/record';
import { acquireSlot, type SlotLease } from './docker/slot';
import { stageInputs } from './docker/staging';
import { containerFailed, nodeConfigError, outputContractViolated, runNotFound } from './errors';

export type { DockerExecutorDeps } from './docker/attempt';
export { containerName } from './docker/attempt';
export { LOG_TAIL_LINES } from './docker/outputs';

function describeFailure(exit: ContainerOutcome['exit'], cfg: NodeAttempt['cfg']): string {
  if (exit.timedOut) return `timed out after ${cfg.timeoutSeconds}s (container killed)`;
  if (exit.oomKilled) return `out of memory: exceeded the ${cfg.memoryMb} MiB memory limit (exit ${exit.exitCode})`;
  return `container exited with code ${exit.exitCode}`;
}

/** The attempt's context: the run's frozen snapshot, the node, and the attempt number across generations. */
async function beginAttempt(deps: DockerExecutorDeps, input: NodeInput, activity: ActivityHandle): Promise<NodeAttempt> {
  const attempt = input.attemptBase + activity.info.attempt;
  const run = await deps.mirror.getRunSnapshot(input.runId);
  if (!run) throw runNotFound(input.runId);
  const node = run.runtimeSnapshot.nodes.find((n) => n.id === input.nodeId);
  if (!node || node.executorType !== 'docker') throw nodeConfigError(`node ${input.nodeId} is not a docker node`);
  return {
    input,
    run,
    node,
    cfg: node.executorConfig,
    attempt,
    startedAt: new Date(),
    log: deps.logger.child({ runId: input.runId, nodeId: input.nodeId, attempt }),
    activity,
    task: { nodeId: input.nodeId, generation: input.generation },
  };
}

export function createDockerNodeActivity(deps: DockerExecutorDeps) {
  return async function executeDockerNode(input: NodeInput): Promise<NodeResult> {
    const attempt = await beginAttempt(deps, input, Context.current());
    const recorded = await recordedSuccess(deps, attempt);
    if (recorded) return recorded;
    await recordRunning(deps, attempt);
    const { image, contract } = await resolveImage(deps, attempt);

    const workDir = await mkdtemp(join(tmpdir(), 'emboflow-node-'));
    let containerId: string | undefined;
    let slot: SlotLease | undefined;
    try {
      const earlier = await findEarlierContainer(deps, attempt);
      containerId = earlier?.id;
      const { cacheKey, cached } = earlier ? {} : await lookUpCache(deps, attempt, image);
      if (cacheKey && cached) return await recordCacheHit(deps, attempt, cacheKey, cached, image);

      if (!containerId) {
        slot = await acquireSlot(deps, attempt);
        const endStart = deps.metrics.containerStart.startTimer();
        containerId = await startContainer(deps, attempt, image, await stageInputs(deps, attempt, workDir));
        endStart();
      }
      const { exit, usage } = await superviseContainer(deps, attempt, containerId, { reattached: earlier, slot });

      const logs = digestLogs(await deps.containers.logs(containerId));
      const succeeded = exit.exitCode === 0 && !exit.timedOut && !exit.oomKilled;
      // The log goes to storage while the outputs are read; settled together, so neither is left unobserved.
      const [logRef, produced] = await Promise.all([
        storeLog(deps, attempt, logs.text),
        succeeded ? extractOutputs(deps, containerId, workDir) : undefined,
      ]);
      const outcome: ContainerOutcome = { containerId, exit, usage, logs, logRef, finishedAt: new Date() };

      if (!succeeded) {
        const reason = describeFailure(exit, attempt.cfg);
        const errorMessage = logs.lastStderr ? `${reason}; last stderr: ${logs.lastStderr}` : reason;
        const final = await isFinalFailure(deps, attempt);
        await recordFailure(deps, attempt, outcome, errorMessage, final);
        throw containerFailed(errorMessage, final);
      }
      const { files, preview } = produced!;
      const violations = checkOutputContract(contract?.outputs ?? [], files);
      if (violations.length) {
        const errorMessage = `output contract not met: ${violations.join('; ')}`;
        await recordFailure(deps, attempt, outcome, errorMessage, true);
        throw outputContractViolated(errorMessage);
      }
      const docs = await uploadOutputs(deps, attempt, files);
      await recordSuccess(deps, attempt, outcome, { docs, preview, cacheKey, image });
      return { artifacts: docs.map(toRef), assetIds: input.assetIds, cacheHit: false, result: smallResult(preview) };
    } finally {
      if (containerId) await deps.containers.remove(containerId).catch((err: unknown) => attempt.log.error({ err }, 'could not remove container'));
      if (slot) await slot.release().catch((err: unknown) => attempt.log.warn({ err }, 'could not release container slot'));
      await rm(workDir, { recursive: true, force: true });
    }
  };
}
