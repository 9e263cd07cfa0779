import { z } from 'zod';
import { TASK_STATUSES } from '../dag/scheduler';
import type { TaskStatus } from '../dag/scheduler';
import type { UpstreamOutput } from '../engine/contract';
import { JsonObjectSchema } from './common';
import type { ExecutorType, RuntimeGraph } from './runtime-graph';

/** `timed_out`: the run's own settings.timeoutSeconds passed (its exit nodes still ran). */
export type RunStatus = 'pending' | 'running' | 'success' | 'failed' | 'cancelled' | 'timed_out';
export const RUN_STATUSES: readonly RunStatus[] = ['pending', 'running', 'success', 'failed', 'cancelled', 'timed_out'];
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['success', 'failed', 'cancelled', 'timed_out'];

/** Where a byte blob lives in object storage; MongoDB keeps only this. */
export interface StorageRef {
  bucket: string;
  key: string;
  uri: string;
  checksum: string; // sha256:<hex>
  contentType: string;
  size: number;
}

export const InputBindingSchema = z
  .object({
    kind: z.enum(['dataset', 'asset']),
    id: z.string().min(1).max(64),
    /** Datasets only: the version to use (default: the dataset's latest). */
    versionId: z.string().min(1).max(64).optional(),
  })
  .strict()
  .refine((b) => b.kind === 'dataset' || b.versionId === undefined, {
    message: 'only dataset bindings have a version',
    path: ['versionId'],
  })
  .meta({ if: { properties: { kind: { const: 'asset' } } }, then: { not: { required: ['versionId'] } } });
export type InputBinding = z.infer<typeof InputBindingSchema>;

export const StartRunBodySchema = z
  .object({
    versionNumber: z.number().int().min(1).optional(),
    /** Temporal task priority, 1 (first) to 5 (last); default 3. Applies where the server supports priorities. */
    priority: z.number().int().min(1).max(5).optional(),
    inputBindings: z.array(InputBindingSchema).max(1000).default([]),
    // Storable by every MongoDB-compatible server: no dotted keys, no arrays directly in arrays, finite numbers.
    params: JsonObjectSchema.pipe(
      z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'param names are letters, digits, _ or -'), z.unknown()),
    )
      .meta({ propertyNames: { pattern: '^[A-Za-z0-9_-]{1,64}$' } })
      .default({}),
  })
  .strict();
export type StartRunBody = z.infer<typeof StartRunBodySchema>;

export interface DatasetVersionBinding {
  datasetId: string;
  versionId: string;
}

export interface RunSummary {
  taskCounts: Record<TaskStatus, number>;
  completedTaskCount: number;
  artifactCount: number;
  stdoutLines: number;
  stderrLines: number;
  failedTaskIds: string[];
}

export interface WorkflowRunDoc {
  _id: string;
  workspaceId: string;
  projectId: string;
  workflowDefinitionId: string;
  workflowVersionId: string;
  versionNumber: number;
  temporalWorkflowId: string;
  inputBindings: InputBinding[];
  assetIds: string[];
  datasetIds: string[];
  /** The version each bound dataset resolved to when the run was created. */
  datasetVersions?: DatasetVersionBinding[];
  params: Record<string, unknown>;
  /** A user id, or what started it without one: schedule:<triggerId>, event:<triggerId>, webhook:<triggerId>. */
  triggeredBy: string;
  /** The trigger that started it, and for a schedule the time the run was scheduled for (jitter aside). */
  triggerId?: string;
  scheduledAt?: Date;
  status: RunStatus;
  runtimeSnapshot: RuntimeGraph;
  summary: RunSummary;
  retryOfRunId?: string;
  /** A sub-workflow's run: the run and workflow node that started it, and how deep it nests (1: a child). */
  parentRunId?: string;
  parentNodeId?: string;
  depth?: number;
  /** A sub-workflow's run: the parent node's upstream outputs, which its root nodes receive as their inputs. */
  upstreamInputs?: UpstreamOutput[];
  /** The runs its workflow nodes started (one per node generation). */
  childRunIds?: string[];
  priority?: number;
  errorMessage?: string;
  startedAt?: Date;
  finishedAt?: Date;
  /**
   * The Temporal run id of the execution whose end the mirror shows. A terminal mirror finished by another
   * execution than the one now running is stale: Temporal reset or resumed the run (see RunStore.reopenRun).
   */
  finishedByExecution?: string;
  /** Set while the run is paused: no node starts until it is resumed. */
  paused?: { at: Date; by: string };
  durationMs?: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface AttemptRecord {
  attempt: number;
  status: 'running' | 'success' | 'failed' | 'cancelled';
  startedAt: Date;
  finishedAt?: Date;
  errorMessage?: string;
  exitCode?: number;
  containerId?: string;
}

export interface RunTaskDoc {
  _id: string;
  workflowRunId: string;
  workspaceId: string;
  projectId: string;
  workflowVersionId: string;
  nodeId: string;
  nodeType: string;
  nodeDefinitionId?: string;
  executorType: ExecutorType;
  executorConfig: Record<string, unknown>;
  artifactType?: string;
  artifactTitle?: string;
  status: TaskStatus;
  /** The execution attempt: Temporal's activity attempt, offset by earlier task retries. */
  attempt: number;
  /** Bumped when a task retry resets the node; mirror writes of an older generation are ignored. */
  generation: number;
  /** Keyed by attempt number, so recording an attempt is one idempotent $set. */
  attempts: Record<string, AttemptRecord>;
  /** A templated command as it ran ({{params.x}} and the rest rendered). */
  renderedCommand?: string[];
  assetIds: string[];
  upstreamNodeIds: string[];
  outputArtifactIds: string[];
  /** When the outputs are too many for workflow history: their manifest (see ArtifactManifestRef). */
  outputManifest?: { key: string; checksum: string; count: number };
  logRef?: StorageRef;
  cacheKey?: string;
  cacheHit: boolean;
  /** The id (content digest) of the image a docker node ran, resolved after any pull; it is in the cache key. */
  imageId?: string;
  /** That image's registry manifest digest (`sha256:…`), when it was pulled from (or pushed to) a registry. */
  imageDigest?: string;
  logLines: string[];
  stdoutLines: number;
  stderrLines: number;
  errorMessage?: string;
  skipReason?: string;
  summary: Record<string, unknown>;
  lastResultPreview?: unknown;
  resources?: { peakMemoryBytes?: number; cpuTimeMs?: number; exitCode?: number; oomKilled?: boolean };
  queuedAt?: Date;
  startedAt?: Date;
  finishedAt?: Date;
  /** Set when the run's end closed the task while it was still open: a reopened run resumes it. */
  interruptedAt?: Date;
  durationMs?: number;
  /** A workflow node's task: the child run its current generation started. */
  childRunId?: string;
  /** A map item's task: the map node, the item's key and position, and its value (list maps). */
  mapNodeId?: string;
  itemKey?: string;
  itemIndex?: number;
  itemValue?: unknown;
  /** A map node's task: the generation whose items are planned, and the items a retry re-runs (absent: every unfinished one). */
  mapPlannedGeneration?: number;
  retryItems?: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface ArtifactDoc {
  _id: string;
  workspaceId: string;
  projectId: string;
  type: string;
  title?: string;
  path: string;
  producerType: 'run_task';
  producerId: string;
  runId: string;
  nodeId: string;
  attempt: number;
  storageRef: StorageRef;
  previewable: boolean;
  summary: Record<string, unknown>;
  lineage: { inputArtifactIds: string[]; runId: string; nodeId: string; taskId: string; assetIds: string[] };
  createdBy: string;
  createdAt: Date;
}

/** The references a node hands downstream: ids and storage keys, never bytes. */
export interface ArtifactRef {
  id: string;
  path: string;
  key: string;
  checksum: string;
  size: number;
}

/** A docker node's cache entry: one per workspace and cache key, pointing at the task that last produced it. */
export interface TaskCacheEntry {
  _id: string;
  workspaceId: string;
  cacheKey: string;
  taskId: string;
  updatedAt: Date;
}

export function cacheEntryId(workspaceId: string, cacheKey: string): string {
  return `${workspaceId}:${cacheKey}`;
}

export function runTaskId(runId: string, nodeId: string): string {
  return `${runId}.${nodeId}`;
}

/** What a task holds before it has executed: set when a run creates it, and again when a task retry resets it. */
export function unexecutedTaskFields(now: Date) {
  return {
    status: 'pending' as const,
    outputArtifactIds: [] as string[],
    cacheHit: false,
    logLines: [] as string[],
    stdoutLines: 0,
    stderrLines: 0,
    summary: {},
    updatedAt: now,
  };
}

/** A node's task as a run creates it: pending, attempt 0, generation 0, nothing produced yet. */
export function pendingTask(
  run: Pick<WorkflowRunDoc, '_id' | 'workspaceId' | 'projectId' | 'workflowVersionId' | 'assetIds'>,
  node: {
    id: string;
    executorType: ExecutorType;
    executorConfig?: unknown;
    artifactType?: string;
    artifactTitle?: string;
  },
  upstreamNodeIds: string[],
  now: Date,
): RunTaskDoc {
  const config = (node.executorConfig ?? {}) as Record<string, unknown>;
  return {
    _id: runTaskId(run._id, node.id),
    workflowRunId: run._id,
    workspaceId: run.workspaceId,
    projectId: run.projectId,
    workflowVersionId: run.workflowVersionId,
    nodeId: node.id,
    nodeType: node.executorType,
    nodeDefinitionId: typeof config.customNodeId === 'string' ? config.customNodeId : undefined,
    executorType: node.executorType,
    executorConfig: config,
    artifactType: node.artifactType,
    artifactTitle: node.artifactTitle,
    ...unexecutedTaskFields(now),
    attempt: 0,
    generation: 0,
    attempts: {},
    assetIds: run.assetIds,
    upstreamNodeIds,
    createdAt: now,
  };
}

function emptySummary(pending: number): RunSummary {
  const taskCounts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  taskCounts.pending = pending;
  return { taskCounts, completedTaskCount: 0, artifactCount: 0, stdoutLines: 0, stderrLines: 0, failedTaskIds: [] };
}

/** What a run is created with, beside the version's graph: whatever the caller (the API, a parent run) decides. */
export type NewRun = Omit<
  WorkflowRunDoc,
  'workflowVersionId' | 'versionNumber' | 'status' | 'runtimeSnapshot' | 'summary' | 'createdAt' | 'updatedAt'
>;

/** A new run (pending, the version's graph frozen into it) and its pending tasks. */
export function newRunDocs(
  fields: NewRun,
  version: { _id: string; versionNumber: number; runtimeGraph: RuntimeGraph },
  now: Date,
): { run: WorkflowRunDoc; tasks: RunTaskDoc[] } {
  const graph = version.runtimeGraph;
  const upstream = new Map<string, string[]>(graph.nodes.map((n) => [n.id, []]));
  for (const e of graph.edges) upstream.get(e.target)?.push(e.source);
  const run: WorkflowRunDoc = {
    ...fields,
    workflowVersionId: version._id,
    versionNumber: version.versionNumber,
    status: 'pending',
    runtimeSnapshot: graph,
    summary: emptySummary(graph.nodes.length),
    createdAt: now,
    updatedAt: now,
  };
  return { run, tasks: graph.nodes.map((n) => pendingTask(run, n, upstream.get(n.id) ?? [], now)) };
}
