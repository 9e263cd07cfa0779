// Steps after the container exits: its log (tail for the mirror, full text to object storage), and its outputs
// streamed into object storage and read (small JSON only) for the contract check and result.json.
import { createHash } from 'node:crypto';
import { extname } from 'node:path';
import { Readable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/activity';
import { WORK_DIR } from '../../src/docker/container-runner';
import type { ArtifactDoc, ArtifactRef, StorageRef } from '../../src/domain/run';
import { runTaskId } from '../../src/domain/run';
import { ARTIFACT_REFS_IN_HISTORY_MAX } from '../../src/engine/contract';
import type { ArtifactManifestRef } from '../../src/engine/contract';
import type { DockerExecutorDeps, NodeAttempt } from './attempt';
import { SMALL_FILE_BYTES, SMALL_FILE_WINDOW, TaskPool } from './bounded';
import { LOG_LINE_MAX_CHARS } from './container';
import type { LogFrame } from './port';
import type { SecretMasker } from './secrets';
import type { TransferProgress } from './transfer';

export const LOG_TAIL_LINES = 200;
const RESULT_PREVIEW_MAX_BYTES = 64 * 1024;
/** What edge conditions read: the result.json, when small enough to pass through workflow history. */
const RESULT_IN_HISTORY_MAX_BYTES = 4096;

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

export function smallResult(preview: unknown): unknown {
  if (preview === undefined) return undefined;
  return JSON.stringify(preview).length <= RESULT_IN_HISTORY_MAX_BYTES ? preview : undefined;
}

export function toRef(d: ArtifactDoc): ArtifactRef {
  return { id: d._id, path: d.path, key: d.storageRef.key, checksum: d.storageRef.checksum, size: d.storageRef.size };
}

export function artifactId(runId: string, nodeId: string, generation: number, path: string): string {
  return `art_${createHash('sha256').update(`${runId}/${nodeId}/${generation}/${path}`).digest('hex').slice(0, 26)}`;
}

export interface LogDigest {
  text: Buffer;
  tail: string[];
  stdoutLines: number;
  stderrLines: number;
  lastStderr?: string;
}

/** Line counts per stream, the bounded tail and the last non-empty stderr line (for the failure message). */
export function digestLogs(frames: LogFrame[]): LogDigest {
  const lines: string[] = [];
  let stdoutLines = 0;
  let stderrLines = 0;
  let lastStderr: string | undefined;
  const partial = { stdout: '', stderr: '' };
  const take = (stream: 'stdout' | 'stderr', line: string, last: boolean) => {
    lines.push(line);
    if (stream === 'stdout') stdoutLines++;
    else {
      stderrLines++;
      if (last || line.trim()) lastStderr = line;
    }
  };
  for (const f of frames) {
    const parts = (partial[f.stream] + f.data.toString('utf8')).split('\n');
    partial[f.stream] = parts.pop() ?? '';
    for (const line of parts) take(f.stream, line, false);
  }
  for (const stream of ['stdout', 'stderr'] as const) if (partial[stream]) take(stream, partial[stream], true);
  return {
    text: Buffer.concat(frames.map((f) => f.data)),
    tail: lines.slice(-LOG_TAIL_LINES).map((l) => l.slice(0, LOG_LINE_MAX_CHARS)),
    stdoutLines,
    stderrLines,
    lastStderr: lastStderr?.slice(0, 500),
  };
}

/** The digest with every secret value masked: the tail, the last stderr line and the full text alike. */
export function maskDigest(digest: LogDigest, masker: SecretMasker): LogDigest {
  if (!masker.active) return digest;
  return {
    ...digest,
    text: Buffer.from(masker.mask(digest.text.toString('utf8'))),
    tail: digest.tail.map((l) => masker.mask(l)),
    ...(digest.lastStderr !== undefined ? { lastStderr: masker.mask(digest.lastStderr) } : {}),
  };
}

export interface ProducedFile {
  path: string;
  /** For small .json files: whether the content parsed. */
  validJson?: boolean;
}

export interface CollectedOutputs {
  /** Artifact documents for the uploaded files, not yet recorded. */
  docs: ArtifactDoc[];
  files: ProducedFile[];
  preview: unknown;
  /** Every object this attempt wrote, so a failed attempt can take them back. */
  keys: string[];
  /** When the outputs are too many to list in workflow history. */
  manifest?: ArtifactManifestRef;
}

/** Thrown when a node's outputs grow past its maxOutputBytes; never retried (the same command would do it again). */
export function outputsTooLarge(limit: number, path: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `outputs exceed maxOutputBytes (${limit} bytes): ${path} brought them past it`,
    'OutputLimitError',
  );
}

/**
 * Streams the container's outputs straight into object storage — the archive API's tar stream, one file at a
 * time, each uploaded (multipart when large) and hashed on the way; nothing touches the worker's disk. Small
 * .json files are also read for the contract check and result.json.
 */
export async function collectOutputs(
  deps: Pick<DockerExecutorDeps, 'containers' | 'store'>,
  attempt: NodeAttempt,
  containerId: string,
  opts: { maxOutputBytes?: number; progress: TransferProgress; uploaded: string[] },
): Promise<CollectedOutputs> {
  const { input } = attempt;
  const out: CollectedOutputs = { docs: [], files: [], preview: undefined, keys: [] };
  // Small files go up several at a time while the archive moves on; large ones stream one by one.
  const pool = new TaskPool(SMALL_FILE_WINDOW);
  let total = 0;
  const streaming = deps.containers.streamDir(containerId, `${WORK_DIR}/outputs`, async ({ path, size, body }) => {
    total += size;
    if (opts.maxOutputBytes !== undefined && total > opts.maxOutputBytes)
      throw outputsTooLarge(opts.maxOutputBytes, path);
    const key = `runs/${input.runId}/${input.nodeId}/g${input.generation}/outputs/${path}`;
    const contentType = CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
    opts.uploaded.push(key);
    out.keys.push(key);
    const slot = out.docs.length;
    out.docs.push(undefined as unknown as ArtifactDoc);
    const record = (ref: StorageRef) => {
      out.docs[slot] = artifactDoc(attempt, path, ref, contentType);
      opts.progress.fileDone();
    };
    if (size > SMALL_FILE_BYTES) {
      out.files.push({ path });
      record(
        await deps.store.putStream(key, body, contentType, {
          onProgress: opts.progress.counter(),
          maxBytes: size,
          sizeHint: size,
        }),
      );
      return;
    }
    const data = await readSmall(body, size);
    out.files.push({
      path,
      validJson: path.toLowerCase().endsWith('.json') ? readJson(data, path === 'result.json', out) : undefined,
    });
    await pool.add(async () => {
      const ref = await deps.store.putBuffer(key, data, contentType);
      opts.progress.add(data.length);
      record(ref);
    });
  });
  try {
    await streaming;
  } catch (err) {
    // Uploads still in flight land before the caller takes this attempt's objects back.
    await pool.drain().catch(() => undefined);
    throw err;
  }
  await pool.drain();
  if (out.docs.length > ARTIFACT_REFS_IN_HISTORY_MAX) {
    out.manifest = await writeManifest(deps.store, attempt, out.docs, opts.progress);
    opts.uploaded.push(out.manifest.key);
    out.keys.push(out.manifest.key);
  }
  return out;
}

/** Whether a small .json output parses; result.json's content becomes the task's preview. */
function readJson(data: Buffer, isResult: boolean, out: CollectedOutputs): boolean | undefined {
  if (data.length > RESULT_PREVIEW_MAX_BYTES) return undefined;
  try {
    const parsed: unknown = JSON.parse(data.toString('utf8'));
    if (isResult) out.preview = parsed;
    return true;
  } catch {
    if (isResult) out.preview = { error: 'result.json is not valid JSON' };
    return false;
  }
}

async function readSmall(body: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    n += (chunk as Buffer).length;
    if (n > max) throw new Error(`expected at most ${max} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, n);
}

function artifactDoc(
  { input, run, node, attempt }: NodeAttempt,
  path: string,
  ref: StorageRef,
  contentType: string,
): ArtifactDoc {
  const taskId = runTaskId(input.runId, input.nodeId);
  return {
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
    previewable:
      contentType.startsWith('text/') || contentType === 'application/json' || contentType.startsWith('image/'),
    summary: { path, size: ref.size },
    lineage: {
      inputArtifactIds: input.upstream.flatMap((u) => u.artifacts.map((a) => a.id)),
      runId: input.runId,
      nodeId: input.nodeId,
      taskId,
      assetIds: input.assetIds,
    },
    createdBy: run.triggeredBy,
    createdAt: new Date(),
  };
}

/** The outputs' refs as JSON lines in object storage, generated line by line. */
async function writeManifest(
  store: Pick<DockerExecutorDeps['store'], 'putStream'>,
  { input }: NodeAttempt,
  docs: ArtifactDoc[],
  progress: TransferProgress,
): Promise<ArtifactManifestRef> {
  const key = `runs/${input.runId}/${input.nodeId}/g${input.generation}/manifest.jsonl`;
  const lines = Readable.from(
    (function* () {
      for (const d of docs) yield Buffer.from(`${JSON.stringify(toRef(d))}\n`);
    })(),
  );
  const ref = await store.putStream(key, lines, 'application/x-ndjson', { onProgress: progress.counter() });
  return { key, checksum: ref.checksum, count: docs.length };
}

/** Artifact documents per write: a node of thousands of outputs heartbeats between them. */
const ARTIFACTS_PER_WRITE = 500;

/** Records the uploaded outputs as artifacts (after the contract check passed), heartbeating as it goes. */
export async function recordArtifacts(
  deps: Pick<DockerExecutorDeps, 'mirror'>,
  { activity }: NodeAttempt,
  docs: ArtifactDoc[],
): Promise<void> {
  for (let i = 0; i < docs.length; i += ARTIFACTS_PER_WRITE) {
    await deps.mirror.upsertArtifacts(docs.slice(i, i + ARTIFACTS_PER_WRITE));
    activity.heartbeat({
      phase: 'recording',
      artifacts: Math.min(i + ARTIFACTS_PER_WRITE, docs.length),
      of: docs.length,
    });
  }
}
/** The attempt's full log, stored beside its outputs. */
export async function storeLog(
  deps: Pick<DockerExecutorDeps, 'store'>,
  { input, attempt }: NodeAttempt,
  text: Buffer,
): Promise<StorageRef | undefined> {
  // A container that printed nothing has no log to keep.
  if (!text.length) return undefined;
  return deps.store.putBuffer(
    `runs/${input.runId}/${input.nodeId}/g${input.generation}/attempt-${attempt}/log.txt`,
    text,
    'text/plain',
  );
}
