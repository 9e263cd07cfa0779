// Step: what the container sees before it starts — context.json, the run's assets (read-only) and its upstream
// nodes' outputs under inputs/<nodeId>/ — as archive entries opened one at a time while the tar stream reaches
// them: object storage -> tar -> the Docker archive API, checksums verified on the way, nothing on local disk.
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/activity';
import type { StagedAsset } from '../../src/db/catalog';
import { WORK_DIR } from '../../src/docker/container-runner';
import type { ArchiveEntry } from '../../src/docker/container-runner';
import type { ArtifactRef } from '../../src/domain/run';
import type { ArtifactManifestRef, UpstreamOutput } from '../../src/engine/contract';
import { hashingStream } from '../../src/storage/object-store';
import { nodeConfigError } from '../errors';
import type { DockerExecutorDeps, NodeAttempt } from './attempt';
import { readAhead, SMALL_FILE_BYTES, SMALL_FILE_WINDOW } from './bounded';
import type { ObjectReader } from './sources';
import type { TransferProgress } from './transfer';

/** The uid node containers run as: owns outputs/. */
export const NODE_UID = 65534;
/** context.json lists an input's artifacts up to this many; past it, the input's manifest file says what is there. */
const CONTEXT_ARTIFACTS_MAX = 1000;

type Deps = Pick<DockerExecutorDeps, 'assets' | 'store' | 'sources' | 'containers'>;

interface StagedAssetView {
  id: string;
  type: StagedAsset['type'];
  displayName: string;
  storageRef: StagedAsset['storageRef'];
  /** Where its bytes are in the container; null when it has none (a reference only). */
  dir: string | null;
  files: number;
  bytes: number;
}

/** The entries of the staging archive, produced lazily: each file's bytes are opened when the tar reaches it. */
export async function* stagingEntries(
  deps: Deps,
  attempt: NodeAttempt,
  progress: TransferProgress,
): AsyncGenerator<ArchiveEntry> {
  const { input, run } = attempt;
  yield { type: 'directory', path: 'inputs', mode: 0o555 };
  yield { type: 'directory', path: 'assets', mode: 0o555 };
  yield { type: 'directory', path: 'manifests', mode: 0o555 };
  // Root in a node keeps no capability to write others' folders (CAP_DAC_OVERRIDE is dropped): outputs/ is its own.
  yield { type: 'directory', path: 'outputs', mode: 0o755, uid: attempt.cfg.runAsRoot ? 0 : NODE_UID };
  const assets = input.assetIds.length ? await deps.assets.findForStaging(input.assetIds, run.workspaceId) : [];
  const staged: StagedAssetView[] = [];
  for (const a of assets) {
    const view: StagedAssetView = {
      id: a._id,
      type: a.type,
      displayName: a.displayName,
      storageRef: a.storageRef,
      dir: null,
      files: 0,
      bytes: 0,
    };
    staged.push(view);
    if (!a.storageRef?.key) continue;
    view.dir = `${WORK_DIR}/assets/${a._id}`;
    yield { type: 'directory', path: `assets/${a._id}`, mode: 0o555 };
    const reader = await deps.sources.readerFor(run.workspaceId, a.storageRef);
    for await (const entry of assetFiles(reader, a, progress)) {
      view.files++;
      if (entry.type === 'file' && 'size' in entry) view.bytes += entry.size;
      yield entry;
    }
  }
  yield {
    type: 'file',
    path: 'context.json',
    mode: 0o444,
    content: Buffer.from(JSON.stringify(contextJson(attempt, staged), null, 2)),
  };
  for (const u of input.upstream) yield* upstreamEntries(deps.store, u, progress);
}

/**
 * The bytes staging will write, as far as they are known before reading anything: every listed input artifact and
 * every single-object asset (a manifest's files and a prefix's objects are counted as they stream).
 */
export async function knownStagingBytes(deps: Pick<Deps, 'assets'>, { input, run }: NodeAttempt): Promise<number> {
  const assets = input.assetIds.length ? await deps.assets.findForStaging(input.assetIds, run.workspaceId) : [];
  const assetBytes = assets.reduce(
    (n, a) => n + (a.storageRef?.kind === 'prefix' ? 0 : (a.storageRef?.size ?? a.sizeBytes ?? 0)),
    0,
  );
  return input.upstream.reduce((n, u) => n + u.artifacts.reduce((m, a) => m + a.size, 0), assetBytes);
}

/** Refuses to stage inputs that cannot fit where the engine keeps the container's volume. */
export async function checkStagingSpace(
  deps: Pick<Deps, 'assets' | 'containers'>,
  attempt: NodeAttempt,
): Promise<void> {
  const need = await knownStagingBytes(deps, attempt);
  if (need === 0) return;
  const free = await deps.containers.freeBytes();
  if (free === undefined) return;
  if (need > free) {
    throw ApplicationFailure.nonRetryable(
      `staging inputs: ${need} bytes would not fit: the Docker engine has ${free} bytes free for container volumes`,
      'StagingSpaceError',
    );
  }
}

/** An asset's files: its one object, or every object under its prefix, each under assets/<id>/. */
async function* assetFiles(
  reader: ObjectReader,
  asset: StagedAsset,
  progress: TransferProgress,
): AsyncGenerator<ArchiveEntry> {
  const ref = asset.storageRef!;
  const base = `assets/${asset._id}`;
  const open = (key: string, checksum?: string) => async () => {
    const count = progress.counter();
    const body = checksum
      ? (await reader.getVerified(key, checksum, count)).body
      : countingStream((await reader.getStream(key)).body, count);
    progress.fileDone();
    return body;
  };
  if (ref.kind === 'prefix') {
    const dirs = new Set<string>();
    for await (const o of reader.listObjects(ref.key)) {
      const rel = o.key.slice(ref.key.length).replace(/^\/+/, '');
      if (!rel || rel.endsWith('/') || rel.split('/').includes('..')) continue;
      yield* parentDirs(base, rel, dirs);
      yield { type: 'file', path: `${base}/${rel}`, mode: 0o444, size: o.size, open: open(o.key) };
    }
    return;
  }
  const size = ref.size ?? asset.sizeBytes;
  if (size === undefined)
    throw nodeConfigError(`asset ${asset._id} has no recorded size; register it with storageRef.size`);
  yield {
    type: 'file',
    path: `${base}/${ref.key.split('/').pop()!}`,
    mode: 0o444,
    size,
    open: open(ref.key, ref.checksum),
  };
}

/** An upstream node's artifacts under inputs/<nodeId>/, read-only, each verified against its checksum. */
async function* upstreamEntries(
  store: Deps['store'],
  u: UpstreamOutput,
  progress: TransferProgress,
): AsyncGenerator<ArchiveEntry> {
  const base = `inputs/${u.nodeId}`;
  yield { type: 'directory', path: base, mode: 0o555 };
  const dirs = new Set<string>();
  const refs = u.manifest ? manifestRefs(store, u.manifest) : u.artifacts;
  // Small files are read a window ahead (their round trips overlap); large ones stream when the tar reaches them.
  const small = (a: ArtifactRef) => (a.size <= SMALL_FILE_BYTES ? readVerified(store, a.key, a.checksum) : undefined);
  for await (const [a, data] of readAhead(refs, SMALL_FILE_WINDOW, small)) {
    yield* parentDirs(base, a.path, dirs);
    const path = `${base}/${a.path}`;
    if (data) {
      progress.add(data.length);
      progress.fileDone();
      yield { type: 'file', path, mode: 0o444, content: data };
      continue;
    }
    yield {
      type: 'file',
      path,
      mode: 0o444,
      size: a.size,
      open: async () => {
        const { body } = await store.getVerified(a.key, a.checksum, progress.counter());
        progress.fileDone();
        return body;
      },
    };
  }
  if (u.manifest) {
    const manifest = u.manifest;
    yield {
      type: 'file',
      path: `manifests/${u.nodeId}.jsonl`,
      mode: 0o444,
      size: await manifestSize(store, manifest),
      open: async () => (await store.getVerified(manifest.key, manifest.checksum)).body,
    };
  }
}

/** A small object's bytes, verified against its checksum. */
async function readVerified(store: Pick<Deps['store'], 'getVerified'>, key: string, checksum: string): Promise<Buffer> {
  const { body } = await store.getVerified(key, checksum);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The refs a manifest lists, read line by line (never the whole file), checksum verified as it is read. */
export async function* manifestRefs(
  store: Pick<DockerExecutorDeps['store'], 'getVerified'>,
  manifest: ArtifactManifestRef,
): AsyncGenerator<ArtifactRef> {
  const { body } = await store.getVerified(manifest.key, manifest.checksum);
  for await (const line of createInterface({ input: body, crlfDelay: Infinity }))
    if (line) yield JSON.parse(line) as ArtifactRef;
}

async function manifestSize(
  store: Pick<DockerExecutorDeps['store'], 'getStream'>,
  manifest: ArtifactManifestRef,
): Promise<number> {
  const { body, size } = await store.getStream(manifest.key);
  body.destroy();
  if (size === undefined) throw new Error(`manifest ${manifest.key}: object storage gave no size`);
  return size;
}

/** Directory entries for a file's parent folders not yet emitted. */
function* parentDirs(base: string, rel: string, seen: Set<string>): Generator<ArchiveEntry> {
  const parts = rel.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const d = `${base}/${parts.slice(0, i).join('/')}`;
    if (!seen.has(d)) {
      seen.add(d);
      yield { type: 'directory', path: d, mode: 0o555 };
    }
  }
}

/** Counts what flows through (no checksum to verify: objects listed under a prefix carry none). */
function countingStream(body: Readable, onTotal: (bytes: number) => void): Readable {
  const counted = hashingStream(onTotal).stream;
  body.on('error', (err) => counted.destroy(err));
  return body.pipe(counted);
}

/** /emboflow/context.json: the run, the node, the attempt, the assets (and where each is) and the inputs. */
function contextJson({ input, run, attempt, item, node }: NodeAttempt, assets: StagedAssetView[]) {
  return {
    runId: input.runId,
    nodeId: input.nodeId,
    attempt,
    ...(item ? { mapNodeId: node.id, item } : {}),
    ...(input.runOutcome ? { runOutcome: input.runOutcome } : {}),
    workspaceId: run.workspaceId,
    projectId: run.projectId,
    assetIds: input.assetIds,
    assets,
    datasetIds: run.datasetIds,
    params: run.params,
    inputs: input.upstream.map((u) => ({
      nodeId: u.nodeId,
      dir: `${WORK_DIR}/inputs/${u.nodeId}`,
      artifactCount: u.manifest?.count ?? u.artifacts.length,
      artifacts:
        u.artifacts.length <= CONTEXT_ARTIFACTS_MAX && !u.manifest
          ? u.artifacts.map((a) => ({ id: a.id, path: a.path, checksum: a.checksum, size: a.size }))
          : null,
      manifest: u.manifest ? `${WORK_DIR}/manifests/${u.nodeId}.jsonl` : null,
    })),
  };
}
