import type { Db, IndexDescription } from 'mongodb';

/** Every collection EmboFlow uses (seed 000, plus api_keys, execution_logs and execution_metrics). */
export const COLLECTIONS = [
  'users',
  'workspaces',
  'projects',
  'memberships',
  'api_keys',
  'assets',
  'asset_probe_reports',
  /** Resumable (multipart) uploads on their way to becoming assets. */
  'asset_uploads',
  'datasets',
  'dataset_versions',
  'workflow_definitions',
  'workflow_definition_versions',
  'workflow_runs',
  'run_tasks',
  'artifacts',
  'annotation_tasks',
  'annotations',
  'plugins',
  'storage_connections',
  /** Workspaces' container registry logins (their passwords in `secrets`). */
  'registry_credentials',
  'custom_nodes',
  'audit_logs',
  'execution_logs',
  'execution_metrics',
  'idempotency_keys',
  /** Encrypted credentials, referenced by id (secretRef) from the documents that use them. */
  'secrets',
  /** Slots of each workspace's running containers (see src/db/leases.ts). */
  'container_leases',
  /** Docker nodes' cache: workspace + cache key -> the task that produced it (looked up by _id). */
  'task_cache',
  /** Schedules, event triggers and webhooks that start runs (src/domain/triggers.ts). */
  /** Named secrets of a workspace that nodes receive (values encrypted in `secrets`). */
  'workspace_secrets',
  'triggers',
  /** Catalog events triggers may start runs for: the outbox the reconciler sweeps until each is dispatched. */
  'trigger_events',
  /** Where each workspace's run ends are POSTed, and each delivery's record (src/db/notifications.ts). */
  'notification_endpoints',
  'notification_deliveries',
] as const;
export type CollectionName = (typeof COLLECTIONS)[number];

const DAY = 86_400;
/** Retention of high-volume execution records (seeds 002 and 003). */
export const EXECUTION_LOG_TTL_SECONDS = 30 * DAY;
export const EXECUTION_METRICS_TTL_SECONDS = 14 * DAY;
/**
 * How long an upload's record outlives its expiry. The worker aborts an abandoned upload's parts at expiresAt
 * (sweepAbandonedUploads); the record stays a while after, so a late complete or status read gets a clear answer.
 */
export const ASSET_UPLOAD_RECORD_TTL_SECONDS = 30 * DAY;

/** Fields seed 000 says to always index, where a collection has them. */
const ALWAYS: Partial<Record<CollectionName, Array<'workspaceId' | 'projectId' | 'status' | 'createdAt'>>> = {
  users: ['status', 'createdAt'],
  workspaces: ['status', 'createdAt'],
  projects: ['workspaceId', 'status', 'createdAt'],
  memberships: ['workspaceId', 'projectId', 'status', 'createdAt'],
  api_keys: ['workspaceId', 'status', 'createdAt'],
  assets: ['workspaceId', 'projectId', 'status', 'createdAt'],
  asset_probe_reports: ['createdAt'],
  asset_uploads: ['workspaceId', 'projectId', 'createdAt'],
  datasets: ['workspaceId', 'projectId', 'status', 'createdAt'],
  dataset_versions: ['workspaceId', 'projectId', 'status', 'createdAt'],
  workflow_definitions: ['workspaceId', 'projectId', 'status', 'createdAt'],
  workflow_definition_versions: ['workspaceId', 'projectId', 'createdAt'],
  workflow_runs: ['workspaceId', 'projectId', 'status', 'createdAt'],
  run_tasks: ['status', 'createdAt'],
  artifacts: ['workspaceId', 'projectId', 'createdAt'],
  annotation_tasks: ['workspaceId', 'projectId', 'status', 'createdAt'],
  annotations: ['workspaceId', 'projectId', 'status', 'createdAt'],
  plugins: ['workspaceId', 'status', 'createdAt'],
  storage_connections: ['workspaceId', 'status', 'createdAt'],
  registry_credentials: ['createdAt'],
  custom_nodes: ['workspaceId', 'projectId', 'status', 'createdAt'],
  audit_logs: ['workspaceId', 'projectId', 'createdAt'],
  triggers: ['workspaceId', 'projectId', 'status', 'createdAt'],
  notification_endpoints: ['workspaceId', 'createdAt'],
  notification_deliveries: ['workspaceId', 'createdAt'],
};

/** Seed 000's compound indexes, plus the ones EmboFlow's own queries need. */
const COMPOUND: Partial<Record<CollectionName, IndexDescription[]>> = {
  users: [{ key: { email: 1 }, unique: true, name: 'email_unique' }],
  workspaces: [{ key: { slug: 1 }, unique: true, name: 'slug_unique' }],
  memberships: [
    { key: { workspaceId: 1, userId: 1 }, name: 'workspaceId_userId' },
    { key: { userId: 1, status: 1 }, name: 'userId_status' },
  ],
  api_keys: [
    { key: { prefix: 1 }, unique: true, name: 'prefix_unique' },
    { key: { userId: 1, createdAt: -1 }, name: 'userId_createdAt' },
  ],
  projects: [{ key: { workspaceId: 1, slug: 1 }, unique: true, name: 'workspaceId_slug' }],
  assets: [{ key: { projectId: 1, type: 1, createdAt: -1 }, name: 'projectId_type_createdAt' }],
  asset_probe_reports: [{ key: { assetId: 1, createdAt: -1 }, name: 'assetId_createdAt' }],
  asset_uploads: [
    // The abandoned-upload sweep: open uploads past their expiry.
    { key: { status: 1, expiresAt: 1 }, name: 'status_expiresAt' },
    { key: { expiresAt: 1 }, expireAfterSeconds: ASSET_UPLOAD_RECORD_TTL_SECONDS, name: 'expiresAt_ttl' },
  ],
  datasets: [{ key: { projectId: 1, name: 1 }, name: 'projectId_name' }],
  dataset_versions: [{ key: { datasetId: 1, createdAt: -1 }, name: 'datasetId_createdAt' }],
  workflow_definitions: [{ key: { projectId: 1, slug: 1 }, unique: true, name: 'projectId_slug' }],
  workflow_definition_versions: [
    { key: { workflowDefinitionId: 1, versionNumber: 1 }, unique: true, name: 'workflowDefinitionId_versionNumber' },
  ],
  workflow_runs: [
    { key: { projectId: 1, createdAt: -1 }, name: 'projectId_createdAt' },
    { key: { workflowDefinitionId: 1, status: 1 }, name: 'workflowDefinitionId_status' },
    // Bulk retry skips the runs some run already retries (RunStore.retriedAmong).
    { key: { retryOfRunId: 1 }, name: 'retryOfRunId' },
  ],
  run_tasks: [
    { key: { workflowRunId: 1, nodeId: 1 }, unique: true, name: 'workflowRunId_nodeId' },
    { key: { workspaceId: 1, cacheKey: 1, status: 1 }, name: 'workspaceId_cacheKey_status' },
    // A map node's items, in key order (src/db/map-items.ts).
    { key: { workflowRunId: 1, mapNodeId: 1, itemKey: 1 }, name: 'workflowRunId_mapNodeId_itemKey' },
  ],
  artifacts: [{ key: { producerType: 1, producerId: 1 }, name: 'producerType_producerId' }],
  notification_deliveries: [{ key: { endpointId: 1, createdAt: -1 }, name: 'endpointId_createdAt' }],
  annotation_tasks: [{ key: { projectId: 1, status: 1 }, name: 'projectId_status' }],
  annotations: [{ key: { annotationTaskId: 1, createdAt: -1 }, name: 'annotationTaskId_createdAt' }],
  custom_nodes: [{ key: { projectId: 1, slug: 1 }, unique: true, name: 'projectId_slug' }],
  registry_credentials: [{ key: { workspaceId: 1, registry: 1 }, unique: true, name: 'workspaceId_registry' }],
  audit_logs: [{ key: { workspaceId: 1, createdAt: -1 }, name: 'workspaceId_createdAt' }],
  execution_logs: [
    { key: { workspaceId: 1, runId: 1, nodeId: 1, seq: 1 }, name: 'tenant_run_step_seq' },
    { key: { runId: 1, createdAt: 1 }, name: 'runId_createdAt' },
    { key: { createdAt: 1 }, expireAfterSeconds: EXECUTION_LOG_TTL_SECONDS, name: 'createdAt_ttl' },
  ],
  execution_metrics: [
    { key: { runId: 1, nodeId: 1, at: 1 }, name: 'runId_nodeId_at' },
    { key: { createdAt: 1 }, expireAfterSeconds: EXECUTION_METRICS_TTL_SECONDS, name: 'createdAt_ttl' },
  ],
  container_leases: [{ key: { workspaceId: 1, holder: 1 }, name: 'workspaceId_holder' }],
  workspace_secrets: [{ key: { workspaceId: 1, name: 1 }, unique: true, name: 'workspaceId_name' }],
  triggers: [
    { key: { workflowDefinitionId: 1, createdAt: -1 }, name: 'workflowDefinitionId_createdAt' },
    // The event triggers a catalog event may start.
    { key: { projectId: 1, kind: 1, 'event.on': 1 }, name: 'projectId_kind_event' },
  ],
  trigger_events: [
    // The reconciler's sweep: events not dispatched yet, oldest first.
    { key: { dispatchedAt: 1, createdAt: 1 }, name: 'dispatchedAt_createdAt' },
    { key: { createdAt: 1 }, expireAfterSeconds: 30 * DAY, name: 'createdAt_ttl' },
  ],
  idempotency_keys: [
    { key: { workspaceId: 1, key: 1 }, unique: true, name: 'workspaceId_key' },
    { key: { createdAt: 1 }, expireAfterSeconds: DAY, name: 'createdAt_ttl' },
  ],
};

export function indexSpecs(): Map<CollectionName, IndexDescription[]> {
  const specs = new Map<CollectionName, IndexDescription[]>();
  for (const name of COLLECTIONS) {
    const single: IndexDescription[] = (ALWAYS[name] ?? []).map((field) => ({
      key: { [field]: field === 'createdAt' ? -1 : 1 },
      name: field,
    }));
    specs.set(name, [...single, ...(COMPOUND[name] ?? [])]);
  }
  return specs;
}

/** A retention rule the server could not enforce itself with a TTL index; the worker sweeps these. */
export interface SweptRetention {
  collection: CollectionName;
  field: string;
  seconds: number;
}

/**
 * Creates collections and indexes; safe to run at every start-up and from several processes at once.
 * Servers without TTL indexes (FerretDB v1) get a plain index instead, and the retention is returned for sweeping.
 */
export async function ensureIndexes(db: Db): Promise<SweptRetention[]> {
  const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  const swept: SweptRetention[] = [];
  for (const [name, indexes] of indexSpecs()) {
    if (!existing.has(name)) {
      await db.createCollection(name).catch((err: { codeName?: string }) => {
        if (err.codeName !== 'NamespaceExists') throw err;
      });
    }
    for (const index of indexes) {
      try {
        await db.collection(name).createIndexes([index]);
      } catch (err) {
        if ((err as { code?: number }).code !== 238 || index.expireAfterSeconds === undefined) throw err;
        const { expireAfterSeconds, ...plain } = index;
        await db.collection(name).createIndexes([plain]);
        swept.push({ collection: name, field: Object.keys(index.key)[0]!, seconds: expireAfterSeconds });
      }
    }
  }
  return swept;
}

/** Deletes what a TTL index would have expired; returns how many documents went. */
export async function sweepExpired(db: Db, rules: SweptRetention[], now = Date.now()): Promise<number> {
  let deleted = 0;
  for (const r of rules) {
    const res = await db.collection(r.collection).deleteMany({ [r.field]: { $lt: new Date(now - r.seconds * 1000) } });
    deleted += res.deletedCount;
  }
  return deleted;
}
