// Step: what the container sees before it starts — context.json, the run's assets (read-only) and its upstream
// nodes' outputs under inputs/<nodeId>/ — as archive entries for the Docker archive API.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { WORK_DIR, type ArchiveEntry } from '../../src/docker/container-runner';
import type { StagedAsset } from '../../src/db/catalog';
import type { DockerExecutorDeps, NodeAttempt } from './attempt';

/** The uid node containers run as: owns outputs/. */
export const NODE_UID = 65534;
/** Assets in EmboFlow's bucket up to these sizes are copied in read-only; larger ones are passed by reference. */
const STAGED_ASSET_MAX_BYTES = 64 * 1024 * 1024;
const STAGED_ASSETS_TOTAL_MAX_BYTES = 256 * 1024 * 1024;

export async function stageInputs(
  deps: Pick<DockerExecutorDeps, 'assets' | 'store'>,
  attempt: NodeAttempt,
  workDir: string,
): Promise<ArchiveEntry[]> {
  const { input, run } = attempt;
  const assets = input.assetIds.length ? await deps.assets.findForStaging(input.assetIds, run.workspaceId) : [];
  const entries: ArchiveEntry[] = [
    { type: 'directory', path: 'inputs', mode: 0o555 },
    { type: 'directory', path: 'assets', mode: 0o555 },
    { type: 'directory', path: 'outputs', mode: 0o755, uid: NODE_UID },
  ];
  const stagedDirs = await stageAssets(deps.store, assets, workDir, entries);
  entries.unshift({ type: 'file', path: 'context.json', mode: 0o444, content: Buffer.from(JSON.stringify(contextJson(attempt, assets, stagedDirs), null, 2)) });
  await stageUpstreamOutputs(deps.store, attempt, workDir, entries);
  return entries;
}

/** Copies the assets EmboFlow's bucket holds, within the size caps; returns where each staged one is. */
async function stageAssets(store: DockerExecutorDeps['store'], assets: StagedAsset[], workDir: string, entries: ArchiveEntry[]): Promise<Map<string, string>> {
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
  return stagedDirs;
}

/** /emboflow/context.json: the run, the node, the attempt, the assets (and where each is) and the inputs. */
function contextJson({ input, run, attempt }: NodeAttempt, assets: StagedAsset[], stagedDirs: Map<string, string>) {
  return {
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
}

/** Each upstream node's artifacts under inputs/<nodeId>/, with their folders, read-only. */
async function stageUpstreamOutputs(store: DockerExecutorDeps['store'], { input }: NodeAttempt, workDir: string, entries: ArchiveEntry[]): Promise<void> {
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
}
