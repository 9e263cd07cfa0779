// Resumable uploads of files of any size: the caller sends the parts of an S3 multipart upload through the API,
// one request each, in any order and as often as it takes; completing joins them, checks the whole file against
// the sha256 declared up front, and records the asset the way a simple upload does.
import type { Readable } from 'node:stream';
import type { Db } from 'mongodb';
import { AssetUploadRepository } from '../db/catalog';
import { expectedPartBytes, UPLOAD_LIFETIME_MS } from '../domain/catalog';
import type { AssetDoc, AssetUploadDoc, CreateAssetUploadInput } from '../domain/catalog';
import { newId } from '../ids';
import { BodyLengthError, ChecksumMismatchError, NoSuchUploadError } from '../storage/object-store';
import type { ObjectStore, UploadedPart } from '../storage/object-store';
import type { AssetService } from './assets';
import { uploadKey } from './assets';
import { clash, invalidField, missing } from './errors';

interface Scope {
  workspaceId: string;
  projectId: string;
}

const CONTENT_TYPE = 'application/octet-stream';

/** What callers see of an upload: never the store's upload id or the key. */
export interface UploadView {
  id: string;
  status: AssetUploadDoc['status'];
  displayName: string;
  type: AssetUploadDoc['type'];
  sizeBytes: number;
  checksum: string;
  partSizeBytes: number;
  partCount: number;
  /** Part numbers the store holds, ascending (only while the upload is open). */
  partsDone: number[];
  bytesDone: number;
  assetId?: string;
  error?: string;
  createdAt: Date;
  expiresAt: Date;
}

/** `now` decides whether an open upload has expired (the sweep only catches up with it later). */
export function uploadView(u: AssetUploadDoc, parts: UploadedPart[] = [], now = new Date()): UploadView {
  return {
    id: u._id,
    status: u.status === 'uploading' && u.expiresAt.getTime() <= now.getTime() ? 'expired' : u.status,
    displayName: u.displayName,
    type: u.type,
    sizeBytes: u.sizeBytes,
    checksum: u.checksum,
    partSizeBytes: u.partSizeBytes,
    partCount: u.partCount,
    partsDone: parts.map((p) => p.partNumber),
    bytesDone: parts.reduce((n, p) => n + p.size, 0),
    ...(u.status === 'completed' ? { assetId: u.assetId } : {}),
    ...(u.error ? { error: u.error } : {}),
    createdAt: u.createdAt,
    expiresAt: u.expiresAt,
  };
}

export class AssetUploadService {
  private readonly uploads: AssetUploadRepository;

  constructor(
    db: Db,
    private readonly store: ObjectStore,
    private readonly assets: AssetService,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.uploads = new AssetUploadRepository(db);
  }

  get(uploadId: string): Promise<AssetUploadDoc | null> {
    return this.uploads.get(uploadId);
  }

  /** Opens the store's multipart upload first, then records it; a record that cannot be written takes the upload back. */
  async create(scope: Scope, input: CreateAssetUploadInput, actorId: string): Promise<AssetUploadDoc> {
    const assetId = newId('ast');
    const key = uploadKey(scope, assetId, input.displayName);
    const s3UploadId = await this.store.createMultipartUpload(key, CONTENT_TYPE, { checksum: input.checksum });
    const now = this.now();
    const upload: AssetUploadDoc = {
      _id: newId('upl'),
      ...scope,
      assetId,
      displayName: input.displayName,
      type: input.type,
      sizeBytes: input.sizeBytes,
      checksum: input.checksum,
      partSizeBytes: input.partSizeBytes,
      partCount: Math.ceil(input.sizeBytes / input.partSizeBytes),
      bucket: this.store.bucket,
      key,
      s3UploadId,
      status: 'uploading',
      createdBy: actorId,
      createdAt: now,
      updatedAt: now,
      expiresAt: new Date(now.getTime() + UPLOAD_LIFETIME_MS),
    };
    try {
      await this.uploads.insert(upload);
    } catch (err) {
      await this.store.abortMultipartUpload(key, s3UploadId).catch(() => undefined);
      throw err;
    }
    return upload;
  }

  /** The upload and, while it is open, the parts the store holds: what a client resuming it needs. */
  async status(upload: AssetUploadDoc): Promise<UploadView> {
    const now = this.now();
    if (upload.status !== 'uploading') return uploadView(upload, [], now);
    try {
      return uploadView(upload, await this.store.listParts(upload.key, upload.s3UploadId), now);
    } catch (err) {
      // Completed (or aborted) in the store by a request still finishing: its record moves on in a moment.
      if (err instanceof NoSuchUploadError) return uploadView(upload, [], now);
      throw err;
    }
  }

  /** Streams one part to the store. Its length is checked before any byte moves; sending it again replaces it. */
  async putPart(
    upload: AssetUploadDoc,
    partNumber: number,
    body: Readable,
    contentLength: number,
  ): Promise<UploadedPart> {
    this.assertOpen(upload);
    if (partNumber > upload.partCount)
      throw invalidField('partNumber', `this upload has ${upload.partCount} part(s); got part ${partNumber}`);
    const expected = expectedPartBytes(upload, partNumber);
    if (contentLength !== expected)
      throw invalidField('content-length', `part ${partNumber} is ${expected} bytes; got ${contentLength}`);
    try {
      return await this.store.uploadPart(upload.key, upload.s3UploadId, partNumber, body, contentLength);
    } catch (err) {
      if (err instanceof NoSuchUploadError) throw clash('the upload is no longer open', 'uploadId');
      if (err instanceof BodyLengthError)
        throw invalidField('body', `the part ended after ${err.received} of its ${err.expected} bytes`);
      throw err;
    }
  }

  /**
   * Joins the parts, reads the object back through a sha256 and, when it is the declared file, records the asset.
   * Every step can be repeated: a completion that died half-way, or two racing ones, end with the one asset.
   */
  async complete(upload: AssetUploadDoc, actorId: string): Promise<AssetDoc> {
    if (upload.status === 'completed') return this.record(upload, actorId);
    this.assertOpen(upload);
    await this.joinParts(upload);
    const failure = await this.verify(upload);
    if (failure) {
      await this.store.deleteKeys([upload.key]);
      await this.uploads.transition(upload._id, ['uploading'], 'failed', { error: failure.message });
      throw invalidField(failure.field, failure.message);
    }
    const done = await this.uploads.transition(upload._id, ['uploading', 'completed'], 'completed');
    if (!done) throw clash('the upload was aborted or expired while it was being completed', 'uploadId');
    return this.record(done, actorId);
  }

  /** Aborts an open upload and drops its parts; aborting an ended one again only repeats the clean-up. */
  async abort(upload: AssetUploadDoc): Promise<UploadView> {
    // `upload` may be stale: what decides is the state the transition finds (or, when it finds another, the current one).
    const ended =
      (await this.uploads.transition(upload._id, ['uploading'], 'aborted')) ?? (await this.uploads.get(upload._id));
    if (!ended) throw missing('upload');
    if (ended.status === 'completed') throw clash('the upload is completed: its bytes are an asset now', 'uploadId');
    await dropBytes(this.store, ended);
    return uploadView(ended);
  }

  private assertOpen(upload: AssetUploadDoc): void {
    if (upload.status !== 'uploading') throw clash(`the upload is ${upload.status}; start a new one`, 'uploadId');
    if (upload.expiresAt.getTime() <= this.now().getTime())
      throw clash(`the upload expired at ${upload.expiresAt.toISOString()}; start a new one`, 'uploadId');
  }

  /** Completes the store's multipart upload once every part is there at its size; a repeat finds it done. */
  private async joinParts(upload: AssetUploadDoc): Promise<void> {
    let parts: UploadedPart[];
    try {
      parts = await this.store.listParts(upload.key, upload.s3UploadId);
    } catch (err) {
      if (!(err instanceof NoSuchUploadError)) throw err;
      return this.assertJoined(upload);
    }
    const sizes = new Map(parts.map((p) => [p.partNumber, p.size]));
    const absent: number[] = [];
    for (let n = 1; n <= upload.partCount; n++) if (sizes.get(n) !== expectedPartBytes(upload, n)) absent.push(n);
    if (absent.length) {
      const shown = absent.length > 20 ? `${absent.slice(0, 20).join(', ')}, ...` : absent.join(', ');
      throw clash(`${absent.length} of ${upload.partCount} part(s) are not uploaded: ${shown}`, 'parts');
    }
    try {
      await this.store.completeMultipartUpload(
        upload.key,
        upload.s3UploadId,
        parts.filter((p) => p.partNumber <= upload.partCount),
      );
    } catch (err) {
      if (!(err instanceof NoSuchUploadError)) throw err;
      await this.assertJoined(upload);
    }
  }

  /** The store has no multipart upload any more: fine only if another completion already made the object. */
  private async assertJoined(upload: AssetUploadDoc): Promise<void> {
    const object = await this.store.stat(upload.key);
    if (object?.size !== upload.sizeBytes)
      throw clash('the upload is no longer open in storage; start a new one', 'uploadId');
  }

  /** Reads the whole object back through a hash; the field and message that condemn it, or undefined. */
  private async verify(upload: AssetUploadDoc): Promise<{ field: string; message: string } | undefined> {
    const { body } = await this.store.getVerified(upload.key, upload.checksum);
    let bytes = 0;
    try {
      for await (const chunk of body) bytes += (chunk as Buffer).length;
    } catch (err) {
      if (!(err instanceof ChecksumMismatchError)) throw err;
      return {
        field: 'checksum',
        message: `the bytes uploaded hash to ${err.actual}, not the declared ${err.expected}`,
      };
    }
    if (bytes !== upload.sizeBytes)
      return { field: 'sizeBytes', message: `the parts hold ${bytes} bytes, not the declared ${upload.sizeBytes}` };
    return undefined;
  }

  private async record(upload: AssetUploadDoc, actorId: string): Promise<AssetDoc> {
    const ref = {
      bucket: upload.bucket,
      key: upload.key,
      uri: `s3://${upload.bucket}/${upload.key}`,
      checksum: upload.checksum,
      contentType: CONTENT_TYPE,
      size: upload.sizeBytes,
    };
    const scope = { workspaceId: upload.workspaceId, projectId: upload.projectId };
    const { asset } = await this.assets.recordUpload(scope, upload.assetId, upload, ref, actorId);
    return asset;
  }
}

/** Aborts the store's multipart upload and removes any object a half-finished completion made. */
async function dropBytes(store: ObjectStore, upload: AssetUploadDoc): Promise<void> {
  await store.abortMultipartUpload(upload.key, upload.s3UploadId);
  await store.deleteKeys([upload.key]);
}

/**
 * Ends uploads left open past their expiry: each is marked expired first (so a completion racing it fails rather
 * than recording an asset over bytes about to go), then its parts are dropped. Run by the worker; returns how many.
 */
export async function sweepAbandonedUploads(
  db: Db,
  store: ObjectStore,
  now = new Date(),
  batch = 100,
): Promise<number> {
  const uploads = new AssetUploadRepository(db);
  let swept = 0;
  for (const upload of await uploads.findExpired(now, batch)) {
    const ended = await uploads.transition(upload._id, ['uploading'], 'expired');
    if (!ended) continue;
    await dropBytes(store, ended);
    swept++;
  }
  return swept;
}
