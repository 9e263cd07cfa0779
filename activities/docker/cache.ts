// Step: the content-addressed cache. A succeeded task in the workspace with the same key is reused: its
// artifacts are linked and no container starts.
import { createHash } from 'node:crypto';
import type { ArtifactDoc, RunTaskDoc } from '../../src/domain/run';
import { runTaskId } from '../../src/domain/run';
import type { DockerExecutorDeps, NodeAttempt } from './attempt';
import type { RunImage } from './pull';
import { secretKeyMaterial } from './secrets';

/**
 * The cache key: the image actually run (its id, resolved after any pull — never its tag), command, env, network,
 * ordered input checksums, asset ids, params, and the secrets' names and versions.
 */
export function cacheKeyFor({ cfg, input, run, item, secrets }: NodeAttempt, image: RunImage): string {
  // A manifest's checksum covers every ref it lists (paths and checksums), so it stands for them all.
  const inputs = input.upstream
    .flatMap((u) => [
      ...u.artifacts.map((a) => `${u.nodeId}/${a.path}=${a.checksum}`),
      ...(u.manifest ? [`${u.nodeId}/*=${u.manifest.checksum}`] : []),
    ])
    .sort();
  const material = JSON.stringify({
    v: 1,
    image: image.id,
    command: cfg.command ?? null,
    env: Object.entries(cfg.env).sort(([a], [b]) => a.localeCompare(b)),
    network: cfg.network,
    inputs,
    assets: [...input.assetIds].sort(),
    params: run.params,
    // A map item's value is its input as much as its assets are (absent for other nodes: their keys are unchanged).
    ...(item && item.value !== undefined ? { item: item.value } : {}),
    // A secret's name and version, never its value (absent without secrets: other keys are unchanged).
    ...(secrets.length ? { secrets: secretKeyMaterial(secrets) } : {}),
  });
  return `docker:${createHash('sha256').update(material).digest('hex')}`;
}

export interface CachedResult {
  hit: RunTaskDoc;
  artifacts: ArtifactDoc[];
}

/** The task that last produced this key, if it is still a success with every one of its artifacts. */
export async function findCachedResult(
  deps: Pick<DockerExecutorDeps, 'mirror'>,
  { run, input }: NodeAttempt,
  cacheKey: string,
): Promise<CachedResult | undefined> {
  const hit = await deps.mirror.findCacheHit(run.workspaceId, cacheKey, runTaskId(input.runId, input.nodeId));
  if (!hit) return undefined;
  const artifacts = await deps.mirror.artifactsByIds(hit.outputArtifactIds, run.workspaceId);
  // A partial hit would hand downstream nodes an incomplete input.
  if (artifacts.length !== hit.outputArtifactIds.length) return undefined;
  return { hit, artifacts };
}

/** Looks the key up (the node may opt out; a re-attached attempt never does), counting hits and misses. */
export async function lookUpCache(
  deps: Pick<DockerExecutorDeps, 'mirror' | 'metrics'>,
  attempt: NodeAttempt,
  image: RunImage,
): Promise<{ cacheKey?: string; cached?: CachedResult }> {
  if (attempt.node.cache?.enabled === false) return {};
  const cacheKey = cacheKeyFor(attempt, image);
  const cached = await findCachedResult(deps, attempt, cacheKey);
  deps.metrics.cacheLookups.inc({ result: cached ? 'hit' : 'miss' });
  return { cacheKey, cached };
}
