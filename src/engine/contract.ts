// The contract between the run workflow and its activities: ids and references only, never payloads.
import type { RunOutcome, SkipReason } from '../dag/scheduler';
import type { ArtifactRef } from '../domain/run';
import type { RetryPolicy, RuntimeEdge, RuntimeNode } from '../domain/runtime-graph';

/**
 * What the workflow needs to schedule a node; the executor reads the node's full config itself.
 * Kept small (a 10,000-node plan must fit one payload): fields at their default are left out.
 */
export interface PlanNode {
  id: string;
  executorType: RuntimeNode['executorType'];
  /** Absent: the plan's defaultTaskQueue. */
  taskQueue?: string;
  retry?: RetryPolicy;
  /** Container timeout; the activity's own timeout adds a margin for staging files in and out. */
  timeoutSeconds?: number;
  generation?: number;
  attemptBase?: number;
  /** Timer nodes only: the durable sleep. */
  timerSeconds?: number;
  /** Docker nodes of a Dockerfile-sourced custom node: build (or find) the image first. */
  build?: boolean;
  /** Decision nodes: the expression over upstream results. */
  expression?: string;
  /** Approval nodes: the deadline, and the outcome it applies (none: the node fails when it passes). */
  approval?: { timeoutSeconds?: number; defaultOutcome?: 'approved' | 'rejected'; routesRejection: boolean };
}

/** A node's state carried into a resumed execution (a task retry after the run had finished). */
export interface NodeCarryOver {
  nodeId: string;
  status: 'success' | 'failed' | 'cancelled' | 'skipped';
  skipReason?: SkipReason;
  result?: NodeResult;
}

export interface RunPlan {
  runId: string;
  defaultTaskQueue: string;
  /** Continue as new past this many history events (absent: the workflow's default). */
  continueAfterEvents?: number;
  /** Only when resuming: what each finished node left. */
  carryOver?: NodeCarryOver[];
  nodes: PlanNode[];
  edges: RuntimeEdge[];
  maxParallelism: number;
  failFast: boolean;
  assetIds: string[];
}

/**
 * A node's outputs when they are too many to list in workflow history: a JSON-lines file in object storage, one
 * ArtifactRef per line. `artifacts` is then empty.
 */
export interface ArtifactManifestRef {
  key: string;
  checksum: string;
  count: number;
}

/** Past this many outputs, a node passes a manifest instead of the list (each ref is ~200 bytes of history). */
export const ARTIFACT_REFS_IN_HISTORY_MAX = 200;

export interface UpstreamOutput {
  nodeId: string;
  artifacts: ArtifactRef[];
  manifest?: ArtifactManifestRef;
  assetIds: string[];
}

export interface NodeInput {
  runId: string;
  nodeId: string;
  generation: number;
  attemptBase: number;
  maxAttempts: number;
  /** The run's assets for a root node; otherwise the union of what the upstream nodes passed on. */
  assetIds: string[];
  upstream: UpstreamOutput[];
}

export interface NodeResult {
  /** The node's result.json (or decision value, or approval), when small: what edge conditions read. */
  result?: unknown;
  artifacts: ArtifactRef[];
  manifest?: ArtifactManifestRef;
  /** The asset set this node passes downstream (narrowed by set operations). */
  assetIds: string[];
  cacheHit: boolean;
}

export interface TaskUpdate {
  nodeId: string;
  generation: number;
  status: 'queued' | 'running' | 'success' | 'skipped' | 'cancelled' | 'failed';
  skipReason?: SkipReason;
  errorMessage?: string;
  /** Becomes the task's lastResultPreview (decision values, approval outcomes). */
  result?: unknown;
  summary?: Record<string, unknown>;
}

export interface ActivityContract {
  loadRunPlan(runId: string, resume?: boolean): Promise<RunPlan>;
  /** Resets a retried node and its subtree to pending in a new generation; returns each node's new numbering. */
  resetTasks(
    runId: string,
    retriedNodeId: string,
    nodes: Array<{ nodeId: string; generation: number }>,
  ): Promise<Array<{ nodeId: string; generation: number; attemptBase: number }>>;
  markRunStarted(runId: string): Promise<void>;
  markTasks(runId: string, updates: TaskUpdate[]): Promise<void>;
  executeDockerNode(input: NodeInput): Promise<NodeResult>;
  executeBuiltinNode(input: NodeInput): Promise<NodeResult>;
  buildNodeImage(input: Pick<NodeInput, 'runId' | 'nodeId'>): Promise<{ image: string; built: boolean }>;
  finishRun(runId: string, outcome: RunOutcome, errorMessage?: string): Promise<void>;
}

/** Error type names the workflow treats as final; activities throw errors with these names. */
export const NON_RETRYABLE_ERRORS = ['NodeConfigError', 'RunNotFoundError', 'OutputContractError'];
