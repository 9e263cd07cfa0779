import { Context } from '@temporalio/activity';
import type { Db } from 'mongodb';
import { CustomNodeRepository } from '../src/db/definitions';
import type { RunStore } from '../src/db/runs';
import type { ContainerRunner } from '../src/docker/container-runner';
import { ensureImage, ImageBuildError } from '../src/docker/image-builder';
import type { NodeInput } from '../src/engine/contract';
import type { Logger } from '../src/logger';
import { nodeConfigError, runNotFound } from './errors';

/**
 * Builds a Dockerfile-sourced custom node's image on this worker's Docker engine before the node first runs.
 * Cached by the Dockerfile's hash: an image already built from the same body is reused.
 */
export function createBuildImageActivity(deps: { db: Db; runs: RunStore; runner: ContainerRunner; logger: Logger }) {
  const customNodes = new CustomNodeRepository(deps.db);
  return async function buildNodeImage(
    input: Pick<NodeInput, 'runId' | 'nodeId'>,
  ): Promise<{ image: string; built: boolean }> {
    const run = await deps.runs.getRunSnapshot(input.runId);
    if (!run) throw runNotFound(input.runId);
    const node = run.runtimeSnapshot.nodes.find((n) => n.id === input.nodeId);
    if (node?.executorType !== 'docker' || !node.executorConfig.customNodeId) {
      throw nodeConfigError(`node ${input.nodeId} has no custom node to build`);
    }
    const custom = await customNodes.findInWorkspace(node.executorConfig.customNodeId, run.workspaceId);
    if (!custom) throw nodeConfigError(`custom node ${node.executorConfig.customNodeId} not found`);
    if (custom.source.kind !== 'dockerfile') return { image: custom.source.image, built: false };

    const ctx = Context.current();
    try {
      const { built, hash } = await ensureImage(
        deps.runner.docker,
        custom.source.dockerfile,
        custom.source.imageTag,
        () => ctx.heartbeat(),
      );
      await customNodes.markBuilt(custom._id);
      if (built)
        deps.logger.info({ customNodeId: custom._id, image: custom.source.imageTag, hash }, 'built custom node image');
      return { image: custom.source.imageTag, built };
    } catch (err) {
      if (!(err instanceof ImageBuildError)) throw err;
      await customNodes.markBuildFailed(custom._id, err.message.slice(0, 2000));
      throw nodeConfigError(err.message);
    }
  };
}
