// The contract between the run workflow and its activities: ids and references only, never payloads.
import type { RunOutcome, RunWhen, SkipReason } from '../dag/scheduler';
import type { ArtifactRef } from '../domain/run';
import type { MapConfig, RetryPolicy, RuntimeEdge, RuntimeNode } from '../domain/runtime-graph';

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
  /** Map nodes: run once per item, in a child workflow of their own. */
  map?: MapConfig;
  /** A trigger rule other than all_success. */
  runWhen?: RunWhen;
  /** An exit node: runs after every other node has ended. */
  onExit?: true;
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
  /** settings.timeoutSeconds, when the run has one. */
  timeoutSeconds?: number;
  assetIds: string[];
  /** A sub-workflow's run: its parent node's upstream outputs, the inputs of its root nodes. */
  upstreamInputs?: UpstreamOutput[];
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
  /**
   * One item of a map node (nodeId is the map node): the executor reads the item's assets and value from its task,
   * and generation and attemptBase are the item's own.
   */
  item?: { key: string };
  /** Exit nodes: how the rest of the run ended. */
  runOutcome?: RunOutcome | 'timed_out';
}

/** What a map node's child workflow is given: the node's own input and how to run its items. */
export interface MapNodeInput {
  input: NodeInput;
  map: MapConfig;
  taskQueue: string;
  timeoutSeconds: number;
  retry?: RetryPolicy;
  /** The upstream result the list is read from, when it was small enough to pass through history. */
  upstreamResult?: unknown;
  /** Continue as new past this many events (absent: the map workflow's default); the run's own setting. */
  continueAfterEvents?: number;
  /** Carried across continue-as-new: items are run in key order after this key. */
  progress?: MapProgress;
}

export interface MapProgress {
  total: number;
  succeeded: number;
  failed: number;
  afterKey?: string;
}

/** An item to run: its key, and its own numbering. */
export type MapItemTicket = [key: string, generation: number, attemptBase: number];

export interface MapPlan {
  total: number;
  /** Items already succeeded (in an earlier generation of the node): not run again. */
  succeeded: number;
  /** Items that failed before and are not being retried. */
  failed: number;
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

/** A workflow node's child run, created and ready to start: what its workflow is started with. */
export interface ChildRunStart {
  childRunId: string;
  workflowDefinitionId: string;
  projectId: string;
  workspaceId: string;
  /** The child workflow's summary in the Temporal Web UI. */
  summary: string;
}

/** How a workflow node's child run ended: its outputs, or why the node fails. */
export type ChildRunEnd = { result: NodeResult } | { failed: string };

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
    alsoRetried?: string[],
  ): Promise<Array<{ nodeId: string; generation: number; attemptBase: number }>>;
  markRunStarted(runId: string): Promise<void>;
  markTasks(runId: string, updates: TaskUpdate[]): Promise<void>;
  executeDockerNode(input: NodeInput): Promise<NodeResult>;
  executeBuiltinNode(input: NodeInput): Promise<NodeResult>;
  buildNodeImage(input: Pick<NodeInput, 'runId' | 'nodeId'>): Promise<{ image: string; built: boolean }>;
  finishRun(runId: string, outcome: RunOutcome | 'timed_out', errorMessage?: string): Promise<void>;
}

/** The activities of workflow nodes (local activities: they touch MongoDB only). */
export interface SubWorkflowActivityContract {
  /**
   * Workflow nodes: creates the child run (once per node generation: the same input and `at` give the same run) with
   * the node's assets and upstream outputs, links it both ways and marks the node running.
   */
  startChildRun(input: NodeInput, at: number): Promise<ChildRunStart>;
  /** Workflow nodes: the child run's leaf outputs become the node's; a child that did not succeed fails it. */
  finishChildRun(input: Pick<NodeInput, 'runId' | 'nodeId' | 'generation'>, childRunId: string): Promise<ChildRunEnd>;
}

/** Run-level control the workflow records in the mirror. */
export interface RunControlContract {
  /** The run is paused (no node starts) or resumed, by whom. */
  markRunPaused(runId: string, paused: boolean, by: string): Promise<void>;
}

/** The activities of a map node's child workflow (local activities: they touch MongoDB and object storage only). */
export interface MapActivityContract {
  /** Map nodes: resolves the items (idempotently, once per node generation) and marks the node running. */
  planMapItems(input: MapNodeInput): Promise<MapPlan>;
  /** The next items to run, in key order after `afterKey`. */
  mapItemsPage(runId: string, nodeId: string, afterKey: string | undefined, limit: number): Promise<MapItemTicket[]>;
  /** Live progress on the map node's task. */
  reportMapProgress(runId: string, nodeId: string, generation: number, progress: MapProgress): Promise<void>;
  /**
   * Ends a map node: items never run are cancelled; the index of items and every succeeded item's outputs become the
   * node's outputs; the node's task records its outcome. Returns the node's result, or fails with `failure`.
   */
  finishMapNode(
    runId: string,
    nodeId: string,
    generation: number,
    end: { status: 'success' | 'failed' | 'cancelled'; errorMessage?: string },
  ): Promise<NodeResult>;
}

/** What a trigger's launcher workflow (workflows/triggered-run.ts) asks for: its run, inserted but not started. */
export interface TriggeredRunRequest {
  triggerId: string;
  /** Event triggers: the catalog event (trigger_events) the run is for. */
  eventId?: string;
  /** The launcher's workflow id: a retried activity finds the run it already inserted by it. */
  launcherId: string;
  /** Schedules: the time Temporal scheduled this start for (ms since the epoch). */
  scheduledAt?: number;
}

/** The run a launcher starts as its child, with what the child's search attributes need. */
export interface TriggeredRun {
  runId: string;
  workflowId: string;
  projectId: string;
  workspaceId: string;
  summary: string;
  priority?: number;
}

export interface TriggerContract {
  /** Inserts the trigger's run (idempotently, by launcher) from the trigger's template and the event's subject. */
  createTriggeredRun(request: TriggeredRunRequest): Promise<TriggeredRun>;
}

/** Error type names the workflow treats as final; activities throw errors with these names. */
export const NON_RETRYABLE_ERRORS = [
  'NodeConfigError',
  'RunNotFoundError',
  'OutputContractError',
  'MapItemsError',
  'TriggerError',
];
