import type { Db } from 'mongodb';
import { AssetRepository, DatasetRepository, DatasetVersionRepository } from '../db/catalog';
import type { ManifestAsset } from '../db/catalog';
import type { PageRequest } from '../db/pagination';
import type { CreateDatasetInput, CreateDatasetVersionInput, DatasetDoc, DatasetVersionDoc } from '../domain/catalog';
import { newId } from '../ids';
import type { ObjectStore } from '../storage/object-store';
import { workspaceKeyPrefix } from './assets';
import type { AuditLog } from './audit';
import { pick } from './common';
import { clash, invalidField, ServiceError } from './errors';
import type { CatalogEvents } from './triggers';

const SUMMARY = ['name', 'type', 'status', 'latestVersionId'] as const;
const MANIFEST_FORMAT_VERSION = 1;
const MISSING_LISTED = 100;

interface Scope {
  workspaceId: string;
  projectId: string;
}

export class DatasetService {
  private readonly datasets: DatasetRepository;
  private readonly versions: DatasetVersionRepository;
  private readonly assets: AssetRepository;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
    private readonly store: ObjectStore,
    private readonly events?: CatalogEvents,
  ) {
    this.datasets = new DatasetRepository(db);
    this.versions = new DatasetVersionRepository(db);
    this.assets = new AssetRepository(db);
  }

  get(datasetId: string): Promise<DatasetDoc | null> {
    return this.datasets.get(datasetId);
  }

  list(scope: Scope, q: { type?: string; status?: DatasetDoc['status'] }, page: PageRequest) {
    return this.datasets.list(scope, q, page);
  }

  /** Dataset names are unique per project (checked, not indexed: two racing creates could both pass). */
  async create(scope: Scope, input: CreateDatasetInput, actorId: string): Promise<DatasetDoc> {
    if (await this.datasets.nameTaken(scope.projectId, input.name)) {
      throw clash(`a dataset named "${input.name}" already exists in this project`, 'name');
    }
    const now = new Date();
    const dataset: DatasetDoc = {
      _id: newId('dst'),
      ...scope,
      name: input.name,
      type: input.type,
      description: input.description,
      status: 'active',
      latestVersionId: null,
      summary: input.summary,
      createdBy: actorId,
      createdAt: now,
      updatedAt: now,
    };
    await this.datasets.insert(dataset);
    await this.audit.record({
      actorId,
      ...scope,
      resourceType: 'dataset',
      resourceId: dataset._id,
      action: 'create',
      after: pick(dataset, SUMMARY),
    });
    return dataset;
  }

  /**
   * An immutable snapshot: every asset must belong to the dataset's project. The manifest (the full asset list with
   * storage references) goes to object storage; the version keeps assetIds for run input expansion, and becomes
   * the dataset's latest.
   */
  async createVersion(
    dataset: DatasetDoc,
    input: CreateDatasetVersionInput,
    actorId: string,
  ): Promise<DatasetVersionDoc> {
    const scope = { workspaceId: dataset.workspaceId, projectId: dataset.projectId };
    if (await this.versions.tagTaken(dataset._id, input.versionTag)) {
      throw clash(`version ${input.versionTag} of this dataset already exists`, 'versionTag');
    }
    const wanted = input.sourceAssetId ? [input.sourceAssetId, ...input.assetIds] : input.assetIds;
    const found = await this.assets.findForManifest(wanted, scope);
    const byId = new Map(found.map((a) => [a._id, a]));
    if (input.sourceAssetId && !byId.has(input.sourceAssetId))
      throw invalidField('sourceAssetId', 'no such asset in this project');
    this.assertAllFound(input.assetIds, byId);

    const _id = newId('dsv');
    const now = new Date();
    const manifest = {
      formatVersion: MANIFEST_FORMAT_VERSION,
      datasetId: dataset._id,
      versionId: _id,
      versionTag: input.versionTag,
      canonicalSchemaVersion: input.canonicalSchemaVersion ?? null,
      sourceAsset: input.sourceAssetId ? manifestEntry(byId.get(input.sourceAssetId)!) : null,
      assets: input.assetIds.map((id) => manifestEntry(byId.get(id)!)),
      createdBy: actorId,
      createdAt: now.toISOString(),
    };
    const key = `${workspaceKeyPrefix(scope.workspaceId)}projects/${scope.projectId}/datasets/${dataset._id}/versions/${_id}/manifest.json`;
    const manifestRef = await this.store.putBuffer(key, Buffer.from(JSON.stringify(manifest)), 'application/json');

    const version: DatasetVersionDoc = {
      _id,
      datasetId: dataset._id,
      ...scope,
      ...(input.sourceAssetId ? { sourceAssetId: input.sourceAssetId } : {}),
      parentVersionId: dataset.latestVersionId,
      versionTag: input.versionTag,
      ...(input.canonicalSchemaVersion ? { canonicalSchemaVersion: input.canonicalSchemaVersion } : {}),
      manifestRef,
      assetIds: input.assetIds,
      assetCount: input.assetIds.length,
      stats: input.stats,
      summary: input.summary,
      status: 'ready',
      createdBy: actorId,
      createdAt: now,
    };
    await this.versions.insert(version);
    await this.datasets.setLatestVersion(dataset._id, _id, now);
    await this.events?.record({
      _id: `dataset.version_created:${_id}`,
      ...scope,
      event: 'dataset.version_created',
      datasetId: dataset._id,
      datasetVersionId: _id,
      assetTypes: [...new Set(found.map((a) => a.type))],
      formats: [...new Set(found.flatMap((a) => a.detectedFormats ?? []))],
    });
    await this.audit.record({
      actorId,
      ...scope,
      resourceType: 'dataset_version',
      resourceId: _id,
      action: 'create',
      after: { datasetId: dataset._id, versionTag: version.versionTag, assetCount: version.assetCount },
    });
    return version;
  }

  private assertAllFound(assetIds: string[], byId: Map<string, unknown>): void {
    const missing = assetIds.flatMap((id, i) =>
      byId.has(id) ? [] : [{ field: `assetIds.${i}`, message: `no asset ${id} in this project` }],
    );
    if (!missing.length) return;
    throw new ServiceError(
      400,
      'validation_failed',
      `assetIds: ${missing.length} asset(s) are not in this project, first ${missing[0]!.field}`,
      missing.slice(0, MISSING_LISTED),
    );
  }

  /** Versions newest first, without their asset id lists (GET one version for that). */
  listVersions(dataset: DatasetDoc, page: PageRequest) {
    return this.versions.list(dataset, page);
  }

  getVersion(dataset: DatasetDoc, versionId: string): Promise<DatasetVersionDoc | null> {
    return this.versions.get(versionId, dataset._id);
  }
}

/** What the manifest keeps of each asset: enough to find and describe its bytes without reading MongoDB. */
function manifestEntry(a: ManifestAsset) {
  const { _id, ...rest } = a;
  return { id: _id, ...rest };
}
