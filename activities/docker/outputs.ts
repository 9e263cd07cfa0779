// Steps after the container exits: its log (tail for the mirror, full text to object storage), its outputs
// copied out and read for the contract check and result.json, and their upload as artifacts.
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { WORK_DIR } from '../../src/docker/container-runner';
import type { ArtifactDoc, ArtifactRef } from '../../src/domain/run';
import { runTaskId } from '../../src/domain/run';
import type { DockerExecutorDeps, NodeAttempt } from './attempt';
import { LOG_LINE_MAX_CHARS } from './container';
import type { LogFrame } from './port';

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

function artifactId(runId: string, nodeId: string, generation: number, path: string): string {
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

export interface ProducedOutput {
  path: string;
  local: string;
  validJson?: boolean;
}

/** Copies the container's outputs out and reads what the contract check and the preview need. */
export async function extractOutputs(
  deps: Pick<DockerExecutorDeps, 'containers'>,
  containerId: string,
  workDir: string,
): Promise<{ files: ProducedOutput[]; preview: unknown }> {
  const outDir = join(workDir, 'out');
  await mkdir(outDir, { recursive: true });
  const paths = await deps.containers.extractDir(containerId, `${WORK_DIR}/outputs`, outDir);
  let preview: unknown;
  const files: ProducedOutput[] = [];
  for (const path of paths) {
    const local = join(outDir, path);
    let validJson: boolean | undefined;
    if (path.toLowerCase().endsWith('.json') && (await stat(local)).size <= RESULT_PREVIEW_MAX_BYTES) {
      try {
        const parsed: unknown = JSON.parse(await readFile(local, 'utf8'));
        validJson = true;
        if (path === 'result.json') preview = parsed;
      } catch {
        validJson = false;
        if (path === 'result.json') preview = { error: 'result.json is not valid JSON' };
      }
    }
    files.push({ path, local, validJson });
  }
  return { files, preview };
}

/** Uploads each output file and records it as an artifact, with lineage to its inputs and the producing task. */
export async function uploadOutputs(
  deps: Pick<DockerExecutorDeps, 'store' | 'mirror'>,
  { input, run, node, attempt }: NodeAttempt,
  files: ProducedOutput[],
): Promise<ArtifactDoc[]> {
  const inputArtifactIds = input.upstream.flatMap((u) => u.artifacts.map((a) => a.id));
  const taskId = runTaskId(input.runId, input.nodeId);
  const docs: ArtifactDoc[] = [];
  for (const { path, local } of files) {
    const key = `runs/${input.runId}/${input.nodeId}/g${input.generation}/outputs/${path}`;
    const contentType = CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
    const ref = await deps.store.putFile(key, local, contentType);
    docs.push({
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
      previewable: contentType.startsWith('text/') || contentType === 'application/json' || contentType.startsWith('image/'),
      summary: { path, size: ref.size },
      lineage: { inputArtifactIds, runId: input.runId, nodeId: input.nodeId, taskId, assetIds: input.assetIds },
      createdBy: run.triggeredBy,
      createdAt: new Date(),
    });
  }
  await deps.mirror.upsertArtifacts(docs);
  return docs;
}

/** The attempt's full log, stored beside its outputs. */
export function storeLog(deps: Pick<DockerExecutorDeps, 'store'>, { input, attempt }: NodeAttempt, text: Buffer) {
  return deps.store.putBuffer(`runs/${input.runId}/${input.nodeId}/g${input.generation}/attempt-${attempt}/log.txt`, text, 'text/plain');
}
