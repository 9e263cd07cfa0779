// Uploading a file of any size: read from disk in streams (never whole), hashed first so the API can check what it
// received, then sent in one request when it fits one part, or as a resumable upload whose parts go a few at a time
// and are retried on their own. Resuming asks the API which parts it already holds.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline, Transform } from 'node:stream';
import { ApiClientError } from '../../client/api-client';
import type { ApiClient } from '../../client/api-client';
import { CliError, ExitCode, UsageError } from './errors';

const MiB = 1024 * 1024;
export const DEFAULT_PART_MIB = 64;
export const MIN_PART_MIB = 5;
export const MAX_PART_MIB = 5 * 1024;
export const DEFAULT_PARALLEL = 3;
/** Attempts per part before the upload stops (and can be resumed). */
const PART_ATTEMPTS = 3;

export interface AssetView {
  id: string;
  displayName: string;
  type: string;
  sizeBytes?: number;
  storageRef?: { checksum?: string; key?: string; uri?: string };
}

export interface UploadView {
  id: string;
  status: string;
  sizeBytes: number;
  checksum: string;
  partSizeBytes: number;
  partCount: number;
  partsDone: number[];
  bytesDone: number;
}

export interface UploadRequest {
  file: string;
  displayName: string;
  type: string;
  /** Required unless resuming (the upload knows its project). */
  projectId?: string;
  partSizeBytes: number;
  parallel: number;
  /** An upload to continue: only the parts the API lacks are sent. */
  resumeId?: string;
}

/** What the upload reports as it goes; a display draws it. */
export interface UploadEvents {
  phase(label: string, total: number, done?: number): void;
  progress(done: number): void;
  /** The resumable upload's id, as soon as there is one (to print how to resume after a failure). */
  opened?(uploadId: string): void;
  sleep?(ms: number): Promise<void>;
}

/** The byte range of part `n` (1-based); `end` is inclusive, as fs streams take it. */
export function partRange(size: number, partSize: number, n: number): { start: number; end: number; length: number } {
  const start = (n - 1) * partSize;
  const length = Math.min(partSize, size - start);
  return { start, end: start + length - 1, length };
}

/** The file's sha256 as `sha256:<hex>`, read as a stream. */
export async function hashFile(path: string, onBytes: (done: number) => void = () => {}): Promise<string> {
  const hash = createHash('sha256');
  let done = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) {
    hash.update(chunk as Buffer);
    done += (chunk as Buffer).length;
    onBytes(done);
  }
  return `sha256:${hash.digest('hex')}`;
}

/** A byte range of the file as a stream, reporting each chunk's length as it is handed on. */
function readRange(path: string, start: number, end: number, onChunk: (n: number) => void): Transform {
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      onChunk(chunk.length);
      done(null, chunk);
    },
  });
  // pipeline: a read error reaches the request through `counter`, and destroying `counter` closes the file.
  pipeline(createReadStream(path, { start, end, highWaterMark: MiB }), counter, () => {});
  return counter;
}

/** Sends a byte range of the file; the file is closed however the request ends. */
async function sendRange<T>(
  client: ApiClient,
  method: string,
  path: string,
  range: { file: string; start: number; end: number; headers: Record<string, string> },
  onChunk: (n: number) => void,
): Promise<T> {
  const body = readRange(range.file, range.start, range.end, onChunk);
  try {
    return await client.request<T>(method, path, body, {
      'Content-Length': String(range.end - range.start + 1),
      ...range.headers,
    });
  } finally {
    body.destroy();
  }
}

/** Network failures, 5xx and 429 are worth another attempt; a 4xx is an answer. */
function retryable(err: unknown): boolean {
  if (err instanceof ApiClientError) return err.status >= 500 || err.status === 429 || err.status === 408;
  // fetch's network failures: a TypeError whose cause is the socket's error.
  return (
    err instanceof TypeError && (err.message === 'fetch failed' || (err as { cause?: unknown }).cause !== undefined)
  );
}

const id = encodeURIComponent;

export async function uploadFile(client: ApiClient, r: UploadRequest, ev: UploadEvents): Promise<AssetView> {
  const size = await stat(r.file).then(
    (s) => (s.isFile() ? s.size : -1),
    () => -1,
  );
  if (size < 0) throw new UsageError(`cannot read ${r.file}: not a file`, 'assets upload');
  if (size === 0) throw new UsageError(`${r.file} is empty: an asset needs at least one byte`, 'assets upload');

  ev.phase('hashing', size);
  const checksum = await hashFile(r.file, ev.progress);

  if (!r.resumeId && size <= r.partSizeBytes) {
    ev.phase('uploading', size);
    let sent = 0;
    const query = new URLSearchParams({ displayName: r.displayName, type: r.type });
    return sendRange<AssetView>(
      client,
      'POST',
      `/v1/projects/${id(r.projectId!)}/assets/upload?${query}`,
      { file: r.file, start: 0, end: size - 1, headers: { 'X-Checksum': checksum } },
      (n) => ev.progress((sent += n)),
    );
  }

  const upload = r.resumeId
    ? await resumable(client, r.resumeId, size, checksum, r.file)
    : await client.post<UploadView>(`/v1/projects/${id(r.projectId!)}/asset-uploads`, {
        displayName: r.displayName,
        type: r.type,
        sizeBytes: size,
        checksum,
        partSizeBytes: r.partSizeBytes,
      });
  ev.opened?.(upload.id);
  await sendParts(client, r, upload, size, ev);
  ev.phase('verifying', 0);
  return client.post<AssetView>(`/v1/asset-uploads/${id(upload.id)}/complete`);
}

/** The upload to resume, once it is known to be open and to be this very file. */
async function resumable(
  client: ApiClient,
  uploadId: string,
  size: number,
  checksum: string,
  file: string,
): Promise<UploadView> {
  const upload = await client.get<UploadView>(`/v1/asset-uploads/${id(uploadId)}`);
  if (upload.status !== 'uploading')
    throw new CliError(`upload ${uploadId} is ${upload.status}: it cannot be resumed`, ExitCode.conflict);
  if (upload.sizeBytes !== size || upload.checksum !== checksum)
    throw new UsageError(`${file} is not the file upload ${uploadId} was started with`, 'assets upload');
  return upload;
}

/** The parts the API lacks, `parallel` at a time; a part that fails is retried alone before the upload gives up. */
async function sendParts(
  client: ApiClient,
  r: UploadRequest,
  upload: UploadView,
  size: number,
  ev: UploadEvents,
): Promise<void> {
  const have = new Set(upload.partsDone);
  const todo = Array.from({ length: upload.partCount }, (_, i) => i + 1).filter((n) => !have.has(n));
  let done = upload.partsDone.reduce((sum, n) => sum + partRange(size, upload.partSizeBytes, n).length, 0);
  ev.phase('uploading', size, done);
  const sleep = ev.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  const sendPart = async (n: number) => {
    const { start, end } = partRange(size, upload.partSizeBytes, n);
    for (let attempt = 1; ; attempt++) {
      let counted = 0;
      try {
        const path = `/v1/asset-uploads/${id(upload.id)}/parts/${n}`;
        await sendRange(client, 'PUT', path, { file: r.file, start, end, headers: {} }, (bytes) => {
          counted += bytes;
          ev.progress((done += bytes));
        });
        return;
      } catch (err) {
        // The bytes of a failed attempt were not uploaded after all.
        ev.progress((done -= counted));
        if (attempt >= PART_ATTEMPTS || !retryable(err)) throw err;
        await sleep(1000 * 2 ** (attempt - 1));
      }
    }
  };

  let next = 0;
  let failed: unknown;
  await Promise.all(
    Array.from({ length: Math.min(r.parallel, todo.length) }, async () => {
      while (next < todo.length && failed === undefined) {
        const n = todo[next++]!;
        await sendPart(n).catch((err: unknown) => {
          failed ??= err;
        });
      }
    }),
  );
  if (failed !== undefined) throw failed;
}
