import { extname } from 'node:path';
import type { Readable } from 'node:stream';
import type { Db } from 'mongodb';
import { AssetRepository, ProbeReportRepository, StorageConnectionRepository } from '../db/catalog';
import type { AssetQuery } from '../db/catalog';
import type { PageRequest } from '../db/pagination';
import type { AssetDoc, CreateAssetInput, CreateProbeReportInput, ProbeReportDoc } from '../domain/catalog';
import type { AssetStorageRef } from '../domain/common';
import type { StorageRef } from '../domain/run';
import { newId } from '../ids';
import { ChecksumMismatchError, ObjectTooLargeError } from '../storage/object-store';
import type { ObjectStore } from '../storage/object-store';
import type { AuditLog } from './audit';
import { pick } from './common';
import { invalidField, tooLarge } from './errors';
import type { CatalogEvents } from './triggers';

const SUMMARY = ['type', 'sourceType', 'displayName', 'status', 'sizeBytes', 'fileCount'] as const;

export { assetListFilter, type AssetQuery } from '../db/catalog';

interface Scope {
  workspaceId: string;
  projectId: string;
}

/** Every object a workspace owns in the platform bucket lives under this prefix. */
export function workspaceKeyPrefix(workspaceId: string): string {
  return `workspaces/${workspaceId}/`;
}

const FORMAT_BY_EXTENSION: Record<string, string> = {
  '.h5': 'hdf5',
  '.hdf5': 'hdf5',
  '.bag': 'rosbag',
  '.mcap': 'mcap',
  '.mp4': 'mp4',
  '.json': 'json',
  '.jsonl': 'jsonl',
  '.csv': 'csv',
  '.parquet': 'parquet',
  '.tar': 'tar',
  '.gz': 'gzip',
  '.zip': 'zip',
};

/** What an upload's caller says of the file. */
export interface UploadedAsset {
  displayName: string;
  type: AssetDoc['type'];
}

/** Where an uploaded asset's bytes go: under its workspace, project and asset id. */
export function uploadKey(scope: Scope, assetId: string, displayName: string): string {
  return `${workspaceKeyPrefix(scope.workspaceId)}projects/${scope.projectId}/assets/${assetId}/${keySafeName(displayName)}`;
}

/** A storage key segment from a display name: no separators, no dot-only names, nothing unprintable. */
function keySafeName(displayName: string): string {
  const name = displayName
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 200);
  return name || 'upload.bin';
}

export class AssetService {
  private readonly assets: AssetRepository;
  private readonly probeReports: ProbeReportRepository;
  private readonly connections: StorageConnectionRepository;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
    private readonly store: ObjectStore,
    private readonly events?: CatalogEvents,
  ) {
    this.assets = new AssetRepository(db);
    this.probeReports = new ProbeReportRepository(db);
    this.connections = new StorageConnectionRepository(db);
  }

  get(assetId: string): Promise<AssetDoc | null> {
    return this.assets.get(assetId);
  }

  list(scope: Scope, q: AssetQuery, page: PageRequest) {
    return this.assets.list(scope, q, page);
  }

  /** Tells the triggers listening in the asset's project (src/services/triggers.ts) that it was registered. */
  private announce(asset: AssetDoc): Promise<void> | undefined {
    return this.events?.record({
      _id: `asset.registered:${asset._id}`,
      workspaceId: asset.workspaceId,
      projectId: asset.projectId,
      event: 'asset.registered',
      assetId: asset._id,
      assetTypes: [asset.type],
      formats: asset.detectedFormats,
    });
  }

  /** Registers bytes that already sit in object storage: one object, or everything under a prefix. */
  async register(scope: Scope, input: CreateAssetInput, actorId: string): Promise<AssetDoc> {
    const storageRef = await this.resolveStorageRef(scope.workspaceId, input);
    const now = new Date();
    const asset: AssetDoc = {
      _id: newId('ast'),
      ...scope,
      type: input.type,
      sourceType: input.sourceType,
      displayName: input.displayName,
      status: 'ready',
      ...(storageRef ? { storageRef } : {}),
      ...(input.sizeBytes !== undefined ? { sizeBytes: input.sizeBytes } : {}),
      ...(input.fileCount !== undefined ? { fileCount: input.fileCount } : {}),
      topLevelPaths: input.topLevelPaths,
      detectedFormats: input.detectedFormats,
      summary: input.summary,
      createdBy: actorId,
      createdAt: now,
      updatedAt: now,
    };
    await this.assets.insert(asset);
    await this.announce(asset);
    await this.audit.record({
      actorId,
      ...scope,
      resourceType: 'asset',
      resourceId: asset._id,
      action: 'create',
      after: pick(asset, SUMMARY),
    });
    return asset;
  }

  /**
   * Without a storage connection, a reference must point into this workspace's part of the platform bucket: an
   * asset can never name another tenant's objects. Through a connection, it must use that connection's bucket.
   */
  private async resolveStorageRef(workspaceId: string, input: CreateAssetInput): Promise<AssetStorageRef | undefined> {
    if (!input.storageRef && input.prefix === undefined) {
      if (input.storageConnectionId)
        throw invalidField('storageConnectionId', 'only meaningful with storageRef or prefix');
      return undefined;
    }
    let bucket: string | undefined;
    if (input.storageConnectionId) {
      const connection = await this.connections.findObjectStorage(input.storageConnectionId, workspaceId);
      if (!connection) throw invalidField('storageConnectionId', 'no such object storage connection in this workspace');
      bucket = typeof connection.config.bucket === 'string' ? connection.config.bucket : undefined;
    } else {
      bucket = this.store.bucket;
    }
    const kind = input.prefix !== undefined ? 'prefix' : 'object';
    const key = input.prefix ?? input.storageRef!.key;
    const keyField = input.prefix !== undefined ? 'prefix' : 'storageRef.key';
    const givenBucket = input.storageRef?.bucket ?? bucket;
    if (!givenBucket)
      throw invalidField('storageConnectionId', 'the connection names no bucket; pass storageRef.bucket');
    if (bucket && givenBucket !== bucket)
      throw invalidField(
        'storageRef.bucket',
        `must be ${bucket}, the bucket of ${input.storageConnectionId ? 'the connection' : 'this platform'}`,
      );
    if (!input.storageConnectionId && !key.startsWith(workspaceKeyPrefix(workspaceId))) {
      throw invalidField(keyField, `objects in the platform bucket must be under ${workspaceKeyPrefix(workspaceId)}`);
    }
    return {
      kind,
      bucket: givenBucket,
      key,
      uri: `s3://${givenBucket}/${key}`,
      ...(input.storageRef?.checksum ? { checksum: input.storageRef.checksum } : {}),
      ...(input.storageRef?.contentType ? { contentType: input.storageRef.contentType } : {}),
      ...(input.storageRef?.size !== undefined ? { size: input.storageRef.size } : {}),
      ...(input.storageConnectionId ? { storageConnectionId: input.storageConnectionId } : {}),
    };
  }

  /**
   * Streams an upload into object storage, then records the asset (an orphan object, never a dangling asset). The
   * body is never held whole: putStream moves it a part at a time, hashing as it goes. A body that does not hash to
   * `checksum` is never completed in storage, so nothing is left behind.
   */
  async upload(
    scope: Scope,
    input: UploadedAsset,
    body: Readable,
    opts: { checksum?: string; maxBytes: number },
    actorId: string,
  ): Promise<AssetDoc> {
    const _id = newId('ast');
    const key = uploadKey(scope, _id, input.displayName);
    let ref: StorageRef;
    try {
      ref = await this.store.putStream(key, body, 'application/octet-stream', {
        maxBytes: opts.maxBytes,
        expectedChecksum: opts.checksum,
      });
    } catch (err) {
      if (err instanceof ChecksumMismatchError)
        throw invalidField('x-checksum', `the bytes received hash to ${err.actual}, not ${err.expected}`);
      if (err instanceof ObjectTooLargeError) throw tooLarge(`an upload is at most ${err.limitBytes} bytes`);
      throw err;
    }
    if (ref.size === 0) {
      // Only a chunked body can be found empty this late; a declared length of 0 is refused before reading.
      await this.store.deleteKeys([key]);
      throw invalidField('body', 'an upload needs at least one byte');
    }
    return (await this.recordUpload(scope, _id, input, ref, actorId)).asset;
  }

  /**
   * Records the asset of uploaded bytes, once: recording the same asset id again (a repeated completion) answers
   * the asset already there and writes no second audit record.
   */
  async recordUpload(
    scope: Scope,
    _id: string,
    input: UploadedAsset,
    ref: StorageRef,
    actorId: string,
  ): Promise<{ asset: AssetDoc; created: boolean }> {
    const name = keySafeName(input.displayName);
    const format = FORMAT_BY_EXTENSION[extname(name).toLowerCase()];
    const now = new Date();
    const asset: AssetDoc = {
      _id,
      ...scope,
      type: input.type,
      sourceType: 'upload',
      displayName: input.displayName,
      status: 'ready',
      storageRef: { kind: 'object', ...ref },
      sizeBytes: ref.size,
      fileCount: 1,
      topLevelPaths: [name],
      detectedFormats: format ? [format] : [],
      summary: {},
      createdBy: actorId,
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.assets.insertIfAbsent(asset))) {
      const existing = await this.assets.get(_id);
      if (!existing) throw new Error(`asset ${_id}: the insert clashed, yet there is no such asset`);
      return { asset: existing, created: false };
    }
    await this.announce(asset);
    await this.audit.record({
      actorId,
      ...scope,
      resourceType: 'asset',
      resourceId: _id,
      action: 'upload',
      after: pick(asset, SUMMARY),
      metadata: { checksum: ref.checksum },
    });
    return { asset, created: true };
  }

  async createProbeReport(asset: AssetDoc, input: CreateProbeReportInput, actorId: string): Promise<ProbeReportDoc> {
    const report: ProbeReportDoc = {
      _id: newId('apr'),
      assetId: asset._id,
      workspaceId: asset.workspaceId,
      projectId: asset.projectId,
      ...input,
      createdBy: actorId,
      createdAt: new Date(),
    };
    await this.probeReports.insert(report);
    await this.audit.record({
      actorId,
      workspaceId: asset.workspaceId,
      projectId: asset.projectId,
      resourceType: 'asset_probe_report',
      resourceId: report._id,
      action: 'create',
      after: { assetId: asset._id, reportVersion: report.reportVersion, warningCount: report.warnings.length },
    });
    return report;
  }

  listProbeReports(asset: AssetDoc, page: PageRequest) {
    return this.probeReports.listForAsset(asset, page);
  }
}
