// Step: resolve the image to run and the output contract to hold it to — the node's own, or its custom node's.
import type { NodeContract } from '../../src/domain/runtime-graph';
import { nodeConfigError } from '../errors';
import type { DockerExecutorDeps, NodeAttempt } from './attempt';

export interface ResolvedImage {
  image: string;
  contract?: NodeContract;
}

export async function resolveImage(
  deps: Pick<DockerExecutorDeps, 'customNodes'>,
  { node, cfg, run }: NodeAttempt,
): Promise<ResolvedImage> {
  if (cfg.image) return { image: cfg.image, contract: node.contract };
  const custom = await deps.customNodes.findInWorkspace(cfg.customNodeId!, run.workspaceId);
  const image = custom && (custom.source.kind === 'image' ? custom.source.image : custom.source.imageTag);
  if (!image) throw nodeConfigError(`custom node ${cfg.customNodeId} not found or has no image`);
  return { image, contract: node.contract ?? custom?.contract };
}
