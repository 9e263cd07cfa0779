import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Config } from '../config';
import type { StorageRef } from '../domain/run';

type S3Config = Pick<Config, 'S3_ENDPOINT' | 'S3_REGION' | 'S3_ACCESS_KEY_ID' | 'S3_SECRET_ACCESS_KEY' | 'S3_BUCKET'>;

/**
 * Multipart part size when the body's size is not known: memory per upload is bounded by PARTS_IN_FLIGHT + 1
 * parts. A known size picks parts large enough to stay under S3's 10,000-part limit.
 */
export const PART_BYTES = 16 * 1024 * 1024;
const MAX_PARTS = 9_000;
/** Parts uploading at once per object. */
const PARTS_IN_FLIGHT = 2;

/** The part size for a body of `size` bytes (unknown: the default), a whole MiB. */
function partSizeFor(size: number | undefined): number {
  if (size === undefined) return PART_BYTES;
  const mib = 1024 * 1024;
  return Math.max(PART_BYTES, Math.ceil(size / MAX_PARTS / mib) * mib);
}

/** Thrown when a body grows past the limit its caller set; the partial upload is aborted. */
export class ObjectTooLargeError extends Error {
  override name = 'ObjectTooLargeError';
  constructor(readonly limitBytes: number) {
    super(`more than ${limitBytes} bytes`);
  }
}

/** Thrown (as the stream's error) when bytes read back do not match the checksum recorded for them. */
export class ChecksumMismatchError extends Error {
  override name = 'ChecksumMismatchError';
  constructor(
    readonly key: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${key}: checksum mismatch (expected ${expected}, read ${actual})`);
  }
}

export interface StreamOptions {
  /** Called with the bytes moved so far, as they move. */
  onProgress?: (bytes: number) => void;
  /** Refuses a body larger than this (ObjectTooLargeError). */
  maxBytes?: number;
  /** The body's size when known in advance: picks the part size. */
  sizeHint?: number;
  /** `sha256:<hex>` the body must hash to: otherwise ChecksumMismatchError, and the object is never completed. */
  expectedChecksum?: string;
}

/** Thrown when a multipart upload is no longer there: completed, aborted, or expired by the store. */
export class NoSuchUploadError extends Error {
  override name = 'NoSuchUploadError';
  constructor(
    readonly key: string,
    readonly uploadId: string,
  ) {
    super(`${key}: no multipart upload ${uploadId}`);
  }
}

/** Thrown when a body streamed into a part ends before (or runs past) the length announced for it. */
export class BodyLengthError extends Error {
  override name = 'BodyLengthError';
  constructor(
    readonly expected: number,
    readonly received: number,
  ) {
    super(`expected ${expected} bytes, received ${received}`);
  }
}

export interface UploadedPart {
  partNumber: number;
  etag: string;
  size: number;
}

const isNoSuchUpload = (err: unknown) => (err as { name?: string } | null)?.name === 'NoSuchUpload';
const isNotFound = (err: unknown) =>
  ['NotFound', 'NoSuchKey'].includes((err as { name?: string } | null)?.name ?? '') ||
  (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode === 404;

/** A pass-through that hashes (sha256) and counts what flows, and reports progress. */
export function hashingStream(onProgress?: (bytes: number) => void) {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      onProgress?.(bytes);
      done(null, chunk);
    },
  });
  return { stream, bytes: () => bytes, checksum: () => `sha256:${hash.digest('hex')}` };
}

/** S3-compatible object storage: every byte a node produces, full logs and manifests. */
export class ObjectStore {
  readonly bucket: string;
  private readonly s3: S3Client;

  constructor(config: S3Config) {
    this.bucket = config.S3_BUCKET;
    this.s3 = new S3Client({
      endpoint: config.S3_ENDPOINT,
      region: config.S3_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY },
    });
  }

  async ping(): Promise<void> {
    await this.s3.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  private ref(key: string, checksum: string, contentType: string, size: number): StorageRef {
    return { bucket: this.bucket, key, uri: `s3://${this.bucket}/${key}`, checksum, contentType, size };
  }

  async putBuffer(key: string, body: Buffer, contentType = 'application/octet-stream'): Promise<StorageRef> {
    const checksum = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        Metadata: { checksum },
      }),
    );
    return this.ref(key, checksum, contentType, body.length);
  }

  /** Uploads a local file, hashing it first so the stored checksum is the one of the bytes sent. */
  async putFile(key: string, path: string, contentType: string): Promise<StorageRef> {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    const checksum = `sha256:${hash.digest('hex')}`;
    const { size } = await stat(path);
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: createReadStream(path),
        ContentLength: size,
        ContentType: contentType,
        Metadata: { checksum },
      }),
    );
    return this.ref(key, checksum, contentType, size);
  }

  async getStream(key: string): Promise<{ body: Readable; contentType?: string; size?: number }> {
    const out: GetObjectCommandOutput = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return { body: out.Body as Readable, contentType: out.ContentType, size: out.ContentLength };
  }

  async getBuffer(key: string): Promise<Buffer> {
    const { body } = await this.getStream(key);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /**
   * Streams a body of any length into an object, hashing it on the way: one PutObject when it fits one part,
   * otherwise a multipart upload whose parts go up as they fill. A failed upload is aborted, leaving nothing.
   */
  async putStream(key: string, body: Readable, contentType: string, opts: StreamOptions = {}): Promise<StorageRef> {
    const hash = createHash('sha256');
    const partBytes = partSizeFor(opts.sizeHint);
    let size = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let uploadId: string | undefined;
    const parts: Array<{ ETag?: string; PartNumber: number }> = [];
    const inFlight = new Set<Promise<void>>();
    let partFailure: unknown;
    const sendPart = async (data: Buffer) => {
      uploadId ??= (
        await this.s3.send(
          new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: contentType }),
        )
      ).UploadId!;
      const PartNumber = parts.length + 1;
      const slot = { PartNumber, ETag: undefined as string | undefined };
      parts.push(slot);
      // A few parts upload while the next fills: object storage takes parallel parts far faster than one at a
      // time, and memory stays bounded by PARTS_IN_FLIGHT + 1 parts.
      const upload: Promise<void> = this.s3
        .send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber,
            Body: data,
            ContentLength: data.length,
          }),
        )
        .then(
          (out) => {
            slot.ETag = out.ETag;
          },
          (err: unknown) => {
            partFailure ??= err;
          },
        )
        .finally(() => inFlight.delete(upload));
      inFlight.add(upload);
      while (inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(inFlight);
      if (partFailure) throw partFailure;
    };
    const allParts = async () => {
      await Promise.all(inFlight);
      if (partFailure) throw partFailure;
    };
    try {
      for await (const chunk of body) {
        const buf = chunk as Buffer;
        size += buf.length;
        if (opts.maxBytes !== undefined && size > opts.maxBytes) throw new ObjectTooLargeError(opts.maxBytes);
        hash.update(buf);
        pending.push(buf);
        pendingBytes += buf.length;
        opts.onProgress?.(size);
        if (pendingBytes >= partBytes) {
          const data = Buffer.concat(pending, pendingBytes);
          pending = [];
          pendingBytes = 0;
          await sendPart(data.subarray(0, partBytes));
          if (data.length > partBytes) {
            pending = [data.subarray(partBytes)];
            pendingBytes = data.length - partBytes;
          }
        }
      }
      const checksum = `sha256:${hash.digest('hex')}`;
      // Checked before the object exists: a body that is not what the caller said it is never becomes one.
      if (opts.expectedChecksum !== undefined && checksum !== opts.expectedChecksum)
        throw new ChecksumMismatchError(key, opts.expectedChecksum, checksum);
      const rest = Buffer.concat(pending, pendingBytes);
      if (uploadId === undefined) {
        await this.s3.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: rest,
            ContentLength: rest.length,
            ContentType: contentType,
            Metadata: { checksum },
          }),
        );
        return this.ref(key, checksum, contentType, size);
      }
      if (rest.length) await sendPart(rest);
      await allParts();
      await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
      return this.ref(key, checksum, contentType, size);
    } catch (err) {
      await Promise.all(inFlight);
      if (uploadId)
        await this.s3
          .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
          .catch(() => undefined);
      body.destroy();
      throw err;
    }
  }

  /**
   * An object's bytes as a stream that fails with ChecksumMismatchError at its end when they do not hash to
   * `checksum` (a consumer must not trust what it read until the stream has ended cleanly).
   */
  async getVerified(
    key: string,
    checksum: string,
    onProgress?: (bytes: number) => void,
  ): Promise<{ body: Readable; size?: number }> {
    const { body, size } = await this.getStream(key);
    const hash = createHash('sha256');
    let bytes = 0;
    const verified = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        bytes += chunk.length;
        onProgress?.(bytes);
        done(null, chunk);
      },
      flush(done) {
        const actual = `sha256:${hash.digest('hex')}`;
        done(actual === checksum ? null : new ChecksumMismatchError(key, checksum, actual));
      },
    });
    body.on('error', (err) => verified.destroy(err));
    return { body: body.pipe(verified), size };
  }

  /** An object's size, or undefined when there is no such object. */
  async stat(key: string): Promise<{ size: number } | undefined> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: out.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  // ---- multipart uploads a caller drives part by part (resumable uploads through the API) --------------------

  /** Starts a multipart upload of `key`; returns its upload id. */
  async createMultipartUpload(
    key: string,
    contentType: string,
    metadata: Record<string, string> = {},
  ): Promise<string> {
    const out = await this.s3.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: contentType, Metadata: metadata }),
    );
    return out.UploadId!;
  }

  /**
   * Streams `body` into one part without holding it: S3 needs the part's length up front, so the body must be
   * exactly `contentLength` bytes (BodyLengthError otherwise). A body that fails or stops early cancels the request
   * to S3 instead of leaving it waiting for bytes that will never come. Sending a part number again replaces it.
   */
  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    contentLength: number,
  ): Promise<UploadedPart> {
    const abort = new AbortController();
    let received = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        done(received > contentLength ? new BodyLengthError(contentLength, received) : null, chunk);
      },
      flush(done) {
        done(received === contentLength ? null : new BodyLengthError(contentLength, received));
      },
    });
    let failure: unknown;
    const fail = (err: unknown) => {
      failure ??= err;
      abort.abort();
    };
    counted.on('error', fail);
    body.on('error', fail);
    // A request whose client went away ends without an error of its own: `close` before `end` is that case.
    body.on('close', () => {
      if (!body.readableEnded) fail(new BodyLengthError(contentLength, received));
    });
    body.pipe(counted);
    try {
      const out = await this.s3.send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: counted,
          ContentLength: contentLength,
        }),
        { abortSignal: abort.signal },
      );
      if (failure) throw failure;
      return { partNumber, etag: out.ETag!, size: contentLength };
    } catch (err) {
      body.unpipe(counted);
      counted.destroy();
      if (failure) throw failure;
      if (isNoSuchUpload(err)) throw new NoSuchUploadError(key, uploadId);
      throw err;
    }
  }

  /** The parts uploaded so far, in part-number order. */
  async listParts(key: string, uploadId: string): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = [];
    let marker: string | undefined;
    try {
      do {
        const page = await this.s3.send(
          new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }),
        );
        for (const p of page.Parts ?? []) parts.push({ partNumber: p.PartNumber!, etag: p.ETag!, size: p.Size ?? 0 });
        marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
      } while (marker);
    } catch (err) {
      if (isNoSuchUpload(err)) throw new NoSuchUploadError(key, uploadId);
      throw err;
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  /** Joins the parts into the object. */
  async completeMultipartUpload(key: string, uploadId: string, parts: UploadedPart[]): Promise<void> {
    try {
      await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
        }),
      );
    } catch (err) {
      if (isNoSuchUpload(err)) throw new NoSuchUploadError(key, uploadId);
      throw err;
    }
  }

  /** Drops a multipart upload and its parts; one already gone is not an error. */
  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
    } catch (err) {
      if (!isNoSuchUpload(err) && !isNotFound(err)) throw err;
    }
  }

  /** Multipart uploads begun and neither completed nor aborted under a prefix, a page at a time. */
  async *listMultipartUploads(prefix: string): AsyncGenerator<{ key: string; uploadId: string; initiated?: Date }> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.s3.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: prefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      for (const u of page.Uploads ?? [])
        if (u.Key && u.UploadId) yield { key: u.Key, uploadId: u.UploadId, initiated: u.Initiated };
      if (!page.IsTruncated) return;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  /** Every object under a prefix, in key order, a page at a time. */
  async *listObjects(prefix: string): AsyncGenerator<{ key: string; size: number }> {
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) if (o.Key) yield { key: o.Key, size: o.Size ?? 0 };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Deletes objects (missing ones are not an error), a thousand per request. */
  async deleteKeys(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.s3.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
    }
  }

  presignGet(key: string, expiresInSeconds = 900): Promise<string> {
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }

  destroy(): void {
    this.s3.destroy();
  }
}
