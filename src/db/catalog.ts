// Data catalog (seed 000): assets and their probe reports, datasets and their immutable versions, storage
// connections, container registry credentials and the encrypted secrets they reference.
import type { Collection, Db, Filter } from 'mongodb';
import type {
  ASSET_STATUSES,
  ASSET_TYPES,
  AssetDoc,
  AssetUploadDoc,
  DatasetDoc,
  DatasetVersionDoc,
  ProbeReportDoc,
  RegistryCredentialDoc,
  SecretDoc,
  STORAGE_CONNECTION_TYPES,
  StorageConnectionDoc,
} from '../domain/catalog';
import { insertUnique, platformCollection } from './common';
import { paginate } from './pagination';
import type { Page, PageRequest } from './pagination';

interface Scope {
  workspaceId: string;
  projectId: string;
}

export interface AssetQuery {
  type?: (typeof ASSET_TYPES)[number];
  status?: (typeof ASSET_STATUSES)[number];
}

/** The filter the asset list route runs, served by the {projectId, type, createdAt} index. */
export function assetListFilter(scope: Scope, q: AssetQuery): Filter<AssetDoc> {
  const filter: Filter<AssetDoc> = { projectId: scope.projectId, workspaceId: scope.workspaceId };
  if (q.type) filter.type = q.type;
  if (q.status) filter.status = q.status;
  return filter;
}

/** What a docker node's context describes of each input asset. */
export type StagedAsset = Pick<AssetDoc, '_id' | 'type' | 'displayName' | 'sizeBytes' | 'storageRef'>;

/** What a dataset version's manifest keeps of each asset: enough to find and describe its bytes without MongoDB. */
const MANIFEST_FIELDS = {
  type: 1,
  displayName: 1,
  storageRef: 1,
  sizeBytes: 1,
  fileCount: 1,
  detectedFormats: 1,
  topLevelPaths: 1,
} as const;
export type ManifestAsset = Pick<AssetDoc, '_id' | keyof typeof MANIFEST_FIELDS>;

/**
 * Lookups of given assets lead with `_id` (equality or `$in`): the one filter FerretDB v1 (with the project's patch)
 * searches on an index, whatever else the filter holds.
 */
export class AssetRepository {
  private readonly assets: Collection<AssetDoc>;

  constructor(db: Db) {
    this.assets = platformCollection(db, 'assets');
  }

  get(assetId: string): Promise<AssetDoc | null> {
    return this.assets.findOne({ _id: assetId });
  }

  list(scope: Scope, q: AssetQuery, page: PageRequest): Promise<Page<AssetDoc>> {
    return paginate(this.assets, assetListFilter(scope, q), page);
  }

  async insert(asset: AssetDoc): Promise<void> {
    await this.assets.insertOne(asset);
  }

  /** Inserts the asset unless one with its _id exists (a repeated completion of the same upload); true if inserted. */
  insertIfAbsent(asset: AssetDoc): Promise<boolean> {
    return insertUnique(this.assets, asset);
  }

  /** The project's assets among `assetIds`, as a dataset version's manifest lists them. */
  findForManifest(assetIds: string[], scope: Scope): Promise<ManifestAsset[]> {
    return this.assets.find({ _id: { $in: assetIds }, ...scope }, { projection: MANIFEST_FIELDS }).toArray();
  }

  /** The workspace's assets among `assetIds`, with what a node needs to find their bytes. */
  findForStaging(assetIds: string[], workspaceId: string): Promise<StagedAsset[]> {
    return this.assets
      .find(
        { _id: { $in: assetIds }, workspaceId },
        { projection: { storageRef: 1, type: 1, displayName: 1, sizeBytes: 1 } },
      )
      .toArray();
  }

  /** Those of `assetIds` that are assets of the project. */
  async idsInProject(assetIds: string[], scope: Scope): Promise<string[]> {
    const found = await this.assets.find({ _id: { $in: assetIds }, ...scope }, { projection: { _id: 1 } }).toArray();
    return found.map((a) => a._id);
  }

  /**
   * Those of `assetIds` that are the workspace's assets and match `where` (a builtin filter node's field values;
   * its schema admits only asset fields, never _id or workspaceId).
   */
  async idsMatching(assetIds: string[], workspaceId: string, where: Record<string, unknown>): Promise<string[]> {
    const kept = await this.assets
      .find({ _id: { $in: assetIds }, workspaceId, ...where } as Filter<AssetDoc>, { projection: { _id: 1 } })
      .toArray();
    return kept.map((a) => a._id);
  }
}

export class ProbeReportRepository {
  private readonly reports: Collection<ProbeReportDoc>;

  constructor(db: Db) {
    this.reports = platformCollection(db, 'asset_probe_reports');
  }

  async insert(report: ProbeReportDoc): Promise<void> {
    await this.reports.insertOne(report);
  }

  /** An asset's reports, newest first. */
  listForAsset(asset: Pick<AssetDoc, '_id' | 'workspaceId'>, page: PageRequest): Promise<Page<ProbeReportDoc>> {
    return paginate(this.reports, { assetId: asset._id, workspaceId: asset.workspaceId }, page);
  }
}

export class DatasetRepository {
  private readonly datasets: Collection<DatasetDoc>;

  constructor(db: Db) {
    this.datasets = platformCollection(db, 'datasets');
  }

  get(datasetId: string): Promise<DatasetDoc | null> {
    return this.datasets.findOne({ _id: datasetId });
  }

  findInProject(datasetId: string, scope: Scope): Promise<DatasetDoc | null> {
    return this.datasets.findOne({ _id: datasetId, ...scope });
  }

  list(
    scope: Scope,
    q: { type?: string; status?: DatasetDoc['status'] },
    page: PageRequest,
  ): Promise<Page<DatasetDoc>> {
    const filter: Filter<DatasetDoc> = { projectId: scope.projectId, workspaceId: scope.workspaceId };
    if (q.type) filter.type = q.type;
    if (q.status) filter.status = q.status;
    return paginate(this.datasets, filter, page);
  }

  /** Whether the project has a dataset of this name (no unique index: a check, which two racing creates can pass). */
  async nameTaken(projectId: string, name: string): Promise<boolean> {
    return (await this.datasets.findOne({ projectId, name }, { projection: { _id: 1 } })) !== null;
  }

  async insert(dataset: DatasetDoc): Promise<void> {
    await this.datasets.insertOne(dataset);
  }

  async setLatestVersion(datasetId: string, versionId: string, at: Date): Promise<void> {
    await this.datasets.updateOne({ _id: datasetId }, { $set: { latestVersionId: versionId, updatedAt: at } });
  }
}

export class DatasetVersionRepository {
  private readonly versions: Collection<DatasetVersionDoc>;

  constructor(db: Db) {
    this.versions = platformCollection(db, 'dataset_versions');
  }

  /** A version of the dataset: a version id alone never reaches another dataset's version. */
  get(versionId: string, datasetId: string): Promise<DatasetVersionDoc | null> {
    return this.versions.findOne({ _id: versionId, datasetId });
  }

  async tagTaken(datasetId: string, versionTag: string): Promise<boolean> {
    return (await this.versions.findOne({ datasetId, versionTag }, { projection: { _id: 1 } })) !== null;
  }

  async insert(version: DatasetVersionDoc): Promise<void> {
    await this.versions.insertOne(version);
  }

  /** A dataset's versions, newest first, without their asset id lists. */
  list(dataset: Pick<DatasetDoc, '_id' | 'workspaceId'>, page: PageRequest): Promise<Page<DatasetVersionDoc>> {
    return paginate(
      this.versions,
      { datasetId: dataset._id, workspaceId: dataset.workspaceId },
      { ...page, projection: { assetIds: 0 } },
    );
  }
}

/**
 * Resumable uploads. Every state change is conditional on the state it leaves (`from`), so a complete, an abort
 * and the expiry sweep racing on one upload agree on a single outcome. Lookups lead with `_id`.
 */
export class AssetUploadRepository {
  private readonly uploads: Collection<AssetUploadDoc>;

  constructor(db: Db) {
    this.uploads = platformCollection(db, 'asset_uploads');
  }

  get(uploadId: string): Promise<AssetUploadDoc | null> {
    return this.uploads.findOne({ _id: uploadId });
  }

  async insert(upload: AssetUploadDoc): Promise<void> {
    await this.uploads.insertOne(upload);
  }

  /** Moves the upload from one of `from` to `status`; the document after, or null when it was in another state. */
  transition(
    uploadId: string,
    from: Array<AssetUploadDoc['status']>,
    status: AssetUploadDoc['status'],
    extra: Pick<Partial<AssetUploadDoc>, 'error'> = {},
  ): Promise<AssetUploadDoc | null> {
    return this.uploads.findOneAndUpdate(
      { _id: uploadId, status: { $in: from } },
      { $set: { status, ...extra, updatedAt: new Date() } },
      { returnDocument: 'after' },
    );
  }

  /**
   * Open uploads past their expiry, oldest first: served by {status, expiresAt} on MongoDB; FerretDB v1 scans the
   * collection for it, which stays small (records go 30 days after expiry) and is swept every few minutes.
   */
  findExpired(now: Date, limit: number): Promise<AssetUploadDoc[]> {
    return this.uploads
      .find({ status: 'uploading', expiresAt: { $lt: now } })
      .sort({ expiresAt: 1 })
      .limit(limit)
      .toArray();
  }
}

export interface StorageConnectionQuery {
  type?: (typeof STORAGE_CONNECTION_TYPES)[number];
  provider?: string;
}

export class StorageConnectionRepository {
  private readonly connections: Collection<StorageConnectionDoc>;

  constructor(db: Db) {
    this.connections = platformCollection(db, 'storage_connections');
  }

  get(connectionId: string): Promise<StorageConnectionDoc | null> {
    return this.connections.findOne({ _id: connectionId });
  }

  /** The workspace's object storage connection of this id. */
  findObjectStorage(connectionId: string, workspaceId: string): Promise<StorageConnectionDoc | null> {
    return this.connections.findOne({ _id: connectionId, workspaceId, type: 'object_storage' });
  }

  list(workspaceId: string, q: StorageConnectionQuery, page: PageRequest): Promise<Page<StorageConnectionDoc>> {
    const filter: Filter<StorageConnectionDoc> = { workspaceId };
    if (q.type) filter.type = q.type;
    if (q.provider) filter.provider = q.provider;
    return paginate(this.connections, filter, page);
  }

  async insert(connection: StorageConnectionDoc): Promise<void> {
    await this.connections.insertOne(connection);
  }
}

/** One credential per registry host and workspace (a unique index): the one a pull from that host uses. */
export class RegistryCredentialRepository {
  private readonly credentials: Collection<RegistryCredentialDoc>;

  constructor(db: Db) {
    this.credentials = platformCollection(db, 'registry_credentials');
  }

  /** False when the workspace already has a credential for this registry. */
  insert(credential: RegistryCredentialDoc): Promise<boolean> {
    return insertUnique(this.credentials, credential);
  }

  get(credentialId: string): Promise<RegistryCredentialDoc | null> {
    return this.credentials.findOne({ _id: credentialId });
  }

  findInWorkspace(credentialId: string, workspaceId: string): Promise<RegistryCredentialDoc | null> {
    return this.credentials.findOne({ _id: credentialId, workspaceId });
  }

  findForRegistry(workspaceId: string, registry: string): Promise<RegistryCredentialDoc | null> {
    return this.credentials.findOne({ workspaceId, registry });
  }

  list(workspaceId: string, page: PageRequest): Promise<Page<RegistryCredentialDoc>> {
    return paginate(this.credentials, { workspaceId }, page);
  }

  async delete(credentialId: string, workspaceId: string): Promise<boolean> {
    return (await this.credentials.deleteOne({ _id: credentialId, workspaceId })).deletedCount === 1;
  }
}

export class SecretRepository {
  private readonly secrets: Collection<SecretDoc>;

  constructor(db: Db) {
    this.secrets = platformCollection(db, 'secrets');
  }

  async insert(secret: SecretDoc): Promise<void> {
    await this.secrets.insertOne(secret);
  }

  async delete(secretRef: string, workspaceId: string): Promise<void> {
    await this.secrets.deleteOne({ _id: secretRef, workspaceId });
  }

  /** A secret of the workspace: a reference copied from another tenant's document finds nothing. */
  findInWorkspace(secretRef: string, workspaceId: string): Promise<SecretDoc | null> {
    return this.secrets.findOne({ _id: secretRef, workspaceId });
  }
}
