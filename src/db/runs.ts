// The run mirror: MongoDB's read model of what Temporal executes. Every write is idempotent and monotonic:
// a task moves forward only (pending < queued < running < terminal), within its generation, so a retried
// or late activity cannot move it back or overwrite a terminal status.
import type { AnyBulkWriteOperation, Collection, Db, Document, Filter, UpdateFilter } from 'mongodb';
import type { TaskStatus } from '../dag/scheduler';
import { isTerminal, TASK_STATUSES } from '../dag/scheduler';
import type { BulkRunFilter } from '../domain/bulk-runs';
import { cacheEntryId, runTaskId, unexecutedTaskFields, TERMINAL_RUN_STATUSES } from '../domain/run';
import type {
  TaskCacheEntry,
  ArtifactDoc,
  AttemptRecord,
  RunStatus,
  RunSummary,
  RunTaskDoc,
  WorkflowRunDoc,
} from '../domain/run';
import type { RuntimeNode } from '../domain/runtime-graph';
import { paginate } from './pagination';
import type { Page, PageRequest } from './pagination';

const BEFORE: Record<TaskStatus, TaskStatus[]> = {
  pending: [],
  queued: ['pending'],
  running: ['pending', 'queued', 'running'],
  success: ['pending', 'queued', 'running'],
  failed: ['pending', 'queued', 'running'],
  cancelled: ['pending', 'queued', 'running'],
  skipped: ['pending', 'queued', 'running'],
};

export interface TaskTransition {
  nodeId: string;
  generation: number;
  status: TaskStatus;
  set?: Partial<RunTaskDoc>;
  unset?: Array<keyof RunTaskDoc>;
  /** The attempt this write comes from; the stored attempt only ever grows. */
  attempt?: number;
  attemptRecord?: AttemptRecord;
}

const SNAPSHOT_CACHE_SIZE = 200;
/** FerretDB v1 never answers an update command of 100 or more statements; stay well below that everywhere. */
export const BULK_CHUNK = 50;
/** Ids per `$in` lookup. */
const ID_CHUNK = 1000;

/** What a finish left on a run: cleared when it runs again. */
const REOPENED_RUN_FIELDS = { finishedAt: '', durationMs: '', errorMessage: '', finishedByExecution: '' } as const;

const OPEN_TASK_STATUSES: TaskStatus[] = ['pending', 'queued', 'running'];
const UNFINISHED_RUN_STATUSES: RunStatus[] = ['pending', 'running'];

/** What a task's execution left on it: cleared when the task is to execute again (task retry, reopened run). */
export const EXECUTION_FIELDS: Record<string, ''> = {
  errorMessage: '',
  skipReason: '',
  lastResultPreview: '',
  logRef: '',
  resources: '',
  queuedAt: '',
  startedAt: '',
  finishedAt: '',
  durationMs: '',
  cacheKey: '',
  imageId: '',
  imageDigest: '',
  interruptedAt: '',
  childRunId: '',
};

/** How a run's end is recorded (RunStore.finishRun). */
export interface RunEnd {
  /** The Temporal run id of the execution that ended: what the mirror then shows (finishedByExecution). */
  execution?: string;
  /** Tasks still open become cancelled, with the run's errorMessage, marked interrupted. */
  closeOpenTasks?: boolean;
  /**
   * Whether a finish recorded for another execution gives way to this one: yes for a workflow finishing its own
   * execution (after a reset, the stale finish is the earlier execution's); no for the reconciler, whose view of a
   * closed execution may be older than what the mirror shows.
   */
  replacesOtherExecution?: boolean;
}

async function bulkInChunks<T extends Document>(
  collection: Collection<T>,
  ops: AnyBulkWriteOperation<T>[],
): Promise<void> {
  for (let i = 0; i < ops.length; i += BULK_CHUNK) {
    await collection.bulkWrite(ops.slice(i, i + BULK_CHUNK), { ordered: false });
  }
}

export class RunStore {
  constructor(
    private readonly db: Db,
    /** Observes each mirror write's latency (seconds), by operation. */
    private readonly observe: (op: string, seconds: number) => void = () => undefined,
  ) {}

  private async timed<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.observe(op, (performance.now() - started) / 1000);
    }
  }

  get runs() {
    return this.db.collection<WorkflowRunDoc>('workflow_runs');
  }
  get tasks() {
    return this.db.collection<RunTaskDoc>('run_tasks');
  }
  get cacheEntries() {
    return this.db.collection<TaskCacheEntry>('task_cache');
  }

  /** Points the workspace's cache key at the task that just produced it (after its success is recorded). */
  async recordCacheEntry(workspaceId: string, cacheKey: string, taskId: string): Promise<void> {
    const _id = cacheEntryId(workspaceId, cacheKey);
    await this.timed('cache_entry', () =>
      this.cacheEntries.replaceOne({ _id }, { workspaceId, cacheKey, taskId, updatedAt: new Date() }, { upsert: true }),
    );
  }

  get artifacts() {
    return this.db.collection<ArtifactDoc>('artifacts');
  }

  /** A project's runs, newest first, without their frozen graphs (served by {projectId, createdAt} on MongoDB). */
  listRuns(
    scope: { workspaceId: string; projectId: string },
    filter: { status?: RunStatus; workflowId?: string },
    page: PageRequest,
  ): Promise<Page<WorkflowRunDoc>> {
    const query: Filter<WorkflowRunDoc> = { ...scope };
    if (filter.status) query.status = filter.status;
    if (filter.workflowId) query.workflowDefinitionId = filter.workflowId;
    return paginate(this.runs, query, { ...page, projection: { runtimeSnapshot: 0 } });
  }

  /** The project's runs a bulk action selects (FerretDB v1 scans workflow_runs for it; MongoDB uses {projectId, createdAt}). */
  private bulkQuery(scope: { workspaceId: string; projectId: string }, f: BulkRunFilter): Filter<WorkflowRunDoc> {
    const query: Filter<WorkflowRunDoc> = { ...scope, status: { $in: [...f.statuses] } };
    if (f.workflowId) query.workflowDefinitionId = f.workflowId;
    if (f.createdAfter || f.createdBefore) {
      query.createdAt = {
        ...(f.createdAfter ? { $gte: f.createdAfter } : {}),
        ...(f.createdBefore ? { $lt: f.createdBefore } : {}),
      };
    }
    return query;
  }

  countBulkMatches(scope: { workspaceId: string; projectId: string }, f: BulkRunFilter): Promise<number> {
    return this.runs.countDocuments(this.bulkQuery(scope, f));
  }

  /** Up to `limit` of the runs a bulk action selects, oldest first, without their frozen graphs. */
  bulkMatches(
    scope: { workspaceId: string; projectId: string },
    f: BulkRunFilter,
    limit: number,
  ): Promise<WorkflowRunDoc[]> {
    return this.runs
      .find(this.bulkQuery(scope, f), { projection: { runtimeSnapshot: 0 } })
      .sort({ createdAt: 1, _id: 1 })
      .limit(limit)
      .toArray();
  }

  /** Which of `runIds` some run retries already. */
  async retriedAmong(runIds: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < runIds.length; i += ID_CHUNK) {
      const found = await this.runs
        .find({ retryOfRunId: { $in: runIds.slice(i, i + ID_CHUNK) } }, { projection: { retryOfRunId: 1 } })
        .toArray();
      for (const r of found) if (r.retryOfRunId) out.add(r.retryOfRunId);
    }
    return out;
  }

  /** Artifacts one producer recorded, in the given workspaces. */
  artifactsByProducer(
    producerType: ArtifactDoc['producerType'],
    producerId: string,
    workspaceIds: string[],
  ): Promise<ArtifactDoc[]> {
    return this.artifacts.find({ producerType, producerId, workspaceId: { $in: workspaceIds } }).toArray();
  }

  getArtifact(artifactId: string): Promise<ArtifactDoc | null> {
    return this.artifacts.findOne({ _id: artifactId });
  }

  /** Artifacts by id (`_id $in`: served by the `_id` index everywhere), within a workspace when one is given. */
  async artifactsByIds(ids: string[], workspaceId?: string, order?: 'by-node-and-path'): Promise<ArtifactDoc[]> {
    const out: ArtifactDoc[] = [];
    for (let i = 0; i < ids.length; i += ID_CHUNK) {
      const chunk = ids.slice(i, i + ID_CHUNK);
      out.push(
        ...(await this.artifacts.find({ _id: { $in: chunk }, ...(workspaceId ? { workspaceId } : {}) }).toArray()),
      );
    }
    if (order) out.sort((a, b) => a.nodeId.localeCompare(b.nodeId) || a.path.localeCompare(b.path));
    return out;
  }

  /**
   * The task a workspace's cache key points at, when it is still a success with that key (a retry of it clears the
   * key) and is not `exceptTaskId` (a node never hits its own earlier result). Two `_id` reads, no scan: the
   * task_cache entry, then the task.
   */
  async findCacheHit(workspaceId: string, cacheKey: string, exceptTaskId: string): Promise<RunTaskDoc | null> {
    const entry = await this.cacheEntries.findOne({ _id: cacheEntryId(workspaceId, cacheKey) });
    if (!entry || entry.taskId === exceptTaskId) return null;
    return this.tasks.findOne({ _id: entry.taskId, workspaceId, cacheKey, status: 'success' });
  }

  async insertRun(run: WorkflowRunDoc, tasks: RunTaskDoc[]): Promise<void> {
    // Tasks first: a run document never exists without its tasks. Both inserts are idempotent by _id.
    await this.tasks.insertMany(tasks, { ordered: false }).catch(ignoreDuplicates);
    await this.runs.insertOne(run).catch(ignoreDuplicates);
  }

  getRun(runId: string): Promise<WorkflowRunDoc | null> {
    return this.runs.findOne({ _id: runId });
  }

  /** Only a run's status and aggregates: what a live view polls. */
  getRunStatus(runId: string): Promise<Pick<WorkflowRunDoc, '_id' | 'status' | 'summary'> | null> {
    return this.runs.findOne({ _id: runId }, { projection: { status: 1, summary: 1 } });
  }

  /** The ids and kinds of a run's graph nodes, when the run belongs to the project. */
  async getRunNodesInProject(
    runId: string,
    scope: { workspaceId: string; projectId: string },
  ): Promise<Array<Pick<RuntimeNode, 'id' | 'executorType'>> | undefined> {
    const run = await this.runs.findOne({ _id: runId, ...scope }, { projection: { 'runtimeSnapshot.nodes': 1 } });
    return run?.runtimeSnapshot.nodes;
  }

  private readonly snapshots = new Map<string, Promise<WorkflowRunDoc | null>>();
  /**
   * A run's frozen parts (graph, scope, params, inputs) for executors: they never change, so each process reads
   * them once per run. Its status and summary are not to be read from here.
   */
  getRunSnapshot(runId: string): Promise<WorkflowRunDoc | null> {
    let cached = this.snapshots.get(runId);
    if (!cached) {
      cached = this.runs.findOne({ _id: runId }, { projection: { summary: 0 } });
      this.snapshots.set(runId, cached);
      cached.then(
        (r) => !r && this.snapshots.delete(runId),
        () => this.snapshots.delete(runId),
      );
      if (this.snapshots.size > SNAPSHOT_CACHE_SIZE) this.snapshots.delete(this.snapshots.keys().next().value!);
    }
    return cached;
  }

  /**
   * A run's tasks, read by their ids (`<runId>:<nodeId>`) rather than by `workflowRunId`: an `_id` lookup is served
   * by the `_id` index on every MongoDB-compatible server, while FerretDB v1 scans the whole collection for any
   * other filter. Without `nodeIds`, every node of the run's graph.
   */
  async listTasks(runId: string, nodeIds?: string[], projection?: Document): Promise<RunTaskDoc[]> {
    const ids = nodeIds ?? (await this.getRunSnapshot(runId))?.runtimeSnapshot.nodes.map((n) => n.id) ?? [];
    const out: RunTaskDoc[] = [];
    for (let i = 0; i < ids.length; i += ID_CHUNK) {
      const chunk = ids.slice(i, i + ID_CHUNK).map((id) => runTaskId(runId, id));
      out.push(...(await this.tasks.find({ _id: { $in: chunk } }, projection ? { projection } : {}).toArray()));
    }
    return out;
  }

  getTask(runId: string, nodeId: string): Promise<RunTaskDoc | null> {
    return this.tasks.findOne({ _id: runTaskId(runId, nodeId) });
  }

  /** Only a task's status and generation: whether an attempt of it can still be live. */
  getTaskState(runId: string, nodeId: string): Promise<Pick<RunTaskDoc, '_id' | 'status' | 'generation'> | null> {
    return this.tasks.findOne({ _id: runTaskId(runId, nodeId) }, { projection: { status: 1, generation: 1 } });
  }

  async applyTransitions(runId: string, transitions: TaskTransition[]): Promise<void> {
    if (!transitions.length) return;
    const now = new Date();
    const ops: AnyBulkWriteOperation<RunTaskDoc>[] = transitions.map((t) => {
      const filter: Record<string, unknown> = {
        _id: runTaskId(runId, t.nodeId),
        generation: t.generation,
        status: { $in: BEFORE[t.status] },
      };
      const set: Record<string, unknown> = { ...t.set, status: t.status, updatedAt: now };
      if (t.attemptRecord) set[`attempts.${t.attemptRecord.attempt}`] = t.attemptRecord;
      if (t.status === 'queued') set.queuedAt = now;
      const update: Record<string, unknown> = { $set: set };
      // $max: whatever order attempts' writes arrive in, the attempt number never goes backwards.
      if (t.attempt !== undefined) update.$max = { attempt: t.attempt };
      if (t.unset?.length) update.$unset = Object.fromEntries(t.unset.map((k) => [k, '']));
      return { updateOne: { filter, update: update as UpdateFilter<RunTaskDoc> } };
    });
    await this.timed('transition', () => bulkInChunks(this.tasks, ops));
  }

  /** Records one attempt's end without changing the task's status (a retry follows). */
  async recordAttempt(runId: string, nodeId: string, generation: number, record: AttemptRecord): Promise<void> {
    await this.tasks.updateOne(
      { _id: runTaskId(runId, nodeId), generation },
      { $set: { [`attempts.${record.attempt}`]: record, errorMessage: record.errorMessage, updatedAt: new Date() } },
    );
  }

  /**
   * Resets a retried node and its subtree into a new generation: execution fields cleared, status pending.
   * Idempotent: each node moves to exactly `generation + 1` of what the caller saw, once; the retried
   * nodes' attempt counts go up by one. The run reopens (running) until the workflow finishes it again.
   */
  async resetTasks(
    runId: string,
    retriedNodeIds: string[],
    nodes: Array<{ nodeId: string; generation: number }>,
  ): Promise<Array<{ nodeId: string; generation: number; attemptBase: number }>> {
    const retried = new Set(retriedNodeIds);
    const now = new Date();
    await bulkInChunks(
      this.tasks,
      nodes.map((n): AnyBulkWriteOperation<RunTaskDoc> => ({
        updateOne: {
          filter: { _id: runTaskId(runId, n.nodeId), generation: { $lt: n.generation + 1 } },
          update: {
            $set: { ...unexecutedTaskFields(now), generation: n.generation + 1 },
            $unset: EXECUTION_FIELDS,
            ...(retried.has(n.nodeId) ? { $inc: { attempt: 1 } } : {}),
          } as UpdateFilter<RunTaskDoc>,
        },
      })),
    );
    await this.runs.updateOne(
      { _id: runId },
      { $set: { status: 'running', updatedAt: now }, $unset: REOPENED_RUN_FIELDS },
    );
    const docs = await this.tasks
      .find(
        { _id: { $in: nodes.map((n) => runTaskId(runId, n.nodeId)) } },
        { projection: { nodeId: 1, generation: 1, attempt: 1 } },
      )
      .toArray();
    // The next execution of each node is attempt + 1; the retried node's count was already bumped above.
    return docs.map((d) => ({
      nodeId: d.nodeId,
      generation: d.generation,
      attemptBase: retried.has(d.nodeId) ? d.attempt - 1 : d.attempt,
    }));
  }

  /** A paused run (no node starts) or a resumed one, by whom; only while it is not finished. */
  async markRunPaused(runId: string, paused: boolean, by: string): Promise<void> {
    const now = new Date();
    await this.runs.updateOne(
      { _id: runId, status: { $nin: [...TERMINAL_RUN_STATUSES] } },
      paused
        ? { $set: { paused: { at: now, by }, updatedAt: now } }
        : { $unset: { paused: '' }, $set: { updatedAt: now } },
    );
  }

  /** Links a sub-workflow's run to its parent run (idempotent: a set). */
  async linkChildRun(parentRunId: string, childRunId: string): Promise<void> {
    await this.runs.updateOne(
      { _id: parentRunId },
      { $addToSet: { childRunIds: childRunId }, $set: { updatedAt: new Date() } },
    );
  }

  async markRunStarted(runId: string): Promise<void> {
    const now = new Date();
    await this.runs.updateOne(
      { _id: runId, status: 'pending' },
      { $set: { status: 'running', startedAt: now, updatedAt: now } },
    );
  }

  /**
   * Recomputes the run's aggregates from its tasks and sets its final status: once per execution (see RunEnd for
   * when a later execution's end replaces an earlier one's).
   */
  async finishRun(runId: string, status: RunStatus, errorMessage?: string, end: RunEnd = {}): Promise<void> {
    return this.timed('finish_run', () => this.finishRunNow(runId, status, errorMessage, end));
  }

  private async finishRunNow(runId: string, status: RunStatus, errorMessage: string | undefined, end: RunEnd) {
    const run = await this.runs.findOne({ _id: runId }, { projection: { startedAt: 1, createdAt: 1 } });
    if (!run) return;
    const finishedAt = new Date();
    if (end.closeOpenTasks) await this.interruptOpenTasks(runId, errorMessage ?? `the run ended ${status}`, finishedAt);
    const summary = await this.computeSummary(runId);
    const startedAt = run.startedAt ?? run.createdAt;
    const unfinished: Filter<WorkflowRunDoc> = { status: { $nin: [...TERMINAL_RUN_STATUSES] } };
    await this.runs.updateOne(
      end.execution && end.replacesOtherExecution
        ? { _id: runId, $or: [unfinished, { finishedByExecution: { $ne: end.execution } }] }
        : { _id: runId, ...unfinished },
      {
        $set: {
          status,
          summary,
          finishedAt,
          durationMs: finishedAt.getTime() - startedAt.getTime(),
          updatedAt: finishedAt,
          ...(errorMessage ? { errorMessage } : {}),
          ...(end.execution ? { finishedByExecution: end.execution } : {}),
        },
        // A finish that replaces another execution's must not keep that one's reason; a finished run is not paused.
        $unset: { paused: '', ...(errorMessage ? {} : { errorMessage: '' }) },
      },
    );
  }

  /** The run's end closes what was still open: cancelled, with why, and marked so a reopened run resumes it. */
  private async interruptOpenTasks(runId: string, reason: string, at: Date): Promise<void> {
    // A map node's items are tasks too, outside the graph's node ids: closed with it.
    const run = await this.getRunSnapshot(runId);
    if (run?.runtimeSnapshot.nodes.some((n) => n.executorType === 'docker' && n.map)) {
      await this.tasks.updateMany(
        { workflowRunId: runId, mapNodeId: { $exists: true }, status: { $in: OPEN_TASK_STATUSES } },
        { $set: { status: 'cancelled', errorMessage: reason, finishedAt: at, interruptedAt: at, updatedAt: at } },
      );
    }
    const open = (await this.listTasks(runId, undefined, { nodeId: 1, status: 1 })).filter((t) =>
      OPEN_TASK_STATUSES.includes(t.status),
    );
    await bulkInChunks(
      this.tasks,
      open.map((t): AnyBulkWriteOperation<RunTaskDoc> => ({
        updateOne: {
          filter: { _id: t._id, status: { $in: OPEN_TASK_STATUSES } },
          update: {
            $set: { status: 'cancelled', errorMessage: reason, finishedAt: at, interruptedAt: at, updatedAt: at },
          },
        },
      })),
    );
  }

  /**
   * Reopens a finished run that Temporal executes again (a reset from the Web UI or CLI, or a task retry that resumes
   * it): status running, its finish cleared, and the tasks its end interrupted back to pending so the execution's
   * own writes carry them forward. With `allUnfinished` (the execution starts the run over from its first node),
   * every task that did not succeed goes back to pending too; succeeded docker tasks are collected, not re-run.
   * Only a run finished by another execution than `execution` is reopened; answers whether this call reopened it.
   */
  async reopenRun(runId: string, execution: string, opts: { allUnfinished?: boolean } = {}): Promise<boolean> {
    const now = new Date();
    const reopened = await this.runs.updateOne(
      { _id: runId, status: { $in: [...TERMINAL_RUN_STATUSES] }, finishedByExecution: { $ne: execution } },
      { $set: { status: 'running', updatedAt: now }, $unset: REOPENED_RUN_FIELDS },
    );
    if (!reopened.matchedCount) return false;
    const tasks = await this.listTasks(runId, undefined, { nodeId: 1, status: 1, interruptedAt: 1 });
    const again = tasks.filter(
      (t) => t.interruptedAt || (opts.allUnfinished && isTerminal(t.status) && t.status !== 'success'),
    );
    await bulkInChunks(
      this.tasks,
      again.map((t): AnyBulkWriteOperation<RunTaskDoc> => ({
        updateOne: {
          filter: { _id: t._id, status: t.status },
          update: { $set: unexecutedTaskFields(now), $unset: EXECUTION_FIELDS } as UpdateFilter<RunTaskDoc>,
        },
      })),
    );
    return true;
  }

  /**
   * A node whose task the run's end interrupted is running again in `execution`: the run reopens (when that is
   * another execution than the one that finished it: a late attempt of the finished one changes nothing). One `_id`
   * read when the task was not interrupted.
   */
  async resumeInterrupted(runId: string, nodeId: string, execution: string): Promise<void> {
    const interrupted = await this.tasks.findOne(
      { _id: runTaskId(runId, nodeId), interruptedAt: { $exists: true } },
      { projection: { _id: 1 } },
    );
    if (interrupted) await this.reopenRun(runId, execution);
  }

  /**
   * Up to `limit` runs that are not finished, oldest first (run ids sort by creation), after `after`: one page of
   * the reconciler's pass. FerretDB v1 scans workflow_runs for the status filter; the projection keeps it small.
   */
  listUnfinishedRuns(
    after: string | undefined,
    limit: number,
  ): Promise<Array<Pick<WorkflowRunDoc, '_id' | 'status' | 'temporalWorkflowId' | 'createdAt'>>> {
    return this.runs
      .find(
        { status: { $in: UNFINISHED_RUN_STATUSES }, ...(after ? { _id: { $gt: after } } : {}) },
        { projection: { status: 1, temporalWorkflowId: 1, createdAt: 1 } },
      )
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
  }

  /** Which of `runIds` are finished, with the execution each finish came from. */
  async finishedRunsAmong(runIds: string[]): Promise<Array<Pick<WorkflowRunDoc, '_id' | 'finishedByExecution'>>> {
    const out: Array<Pick<WorkflowRunDoc, '_id' | 'finishedByExecution'>> = [];
    for (let i = 0; i < runIds.length; i += ID_CHUNK) {
      const found = this.runs.find(
        { _id: { $in: runIds.slice(i, i + ID_CHUNK) }, status: { $in: [...TERMINAL_RUN_STATUSES] } },
        { projection: { finishedByExecution: 1 } },
      );
      out.push(...(await found.toArray()));
    }
    return out;
  }

  async computeSummary(runId: string): Promise<RunSummary> {
    const tasks = await this.listTasks(runId, undefined, {
      nodeId: 1,
      status: 1,
      outputArtifactIds: 1,
      stdoutLines: 1,
      stderrLines: 1,
    });
    const taskCounts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
    const summary: RunSummary = {
      taskCounts,
      completedTaskCount: 0,
      artifactCount: 0,
      stdoutLines: 0,
      stderrLines: 0,
      failedTaskIds: [],
    };
    for (const t of tasks) {
      taskCounts[t.status]++;
      if (t.status === 'success') summary.completedTaskCount++;
      if (t.status === 'failed') summary.failedTaskIds.push(t.nodeId);
      summary.artifactCount += t.outputArtifactIds?.length ?? 0;
      summary.stdoutLines += t.stdoutLines ?? 0;
      summary.stderrLines += t.stderrLines ?? 0;
    }
    summary.failedTaskIds.sort();
    return summary;
  }

  /** How many of `runIds` have one of `statuses`. */
  countRuns(runIds: string[], statuses: readonly RunStatus[]): Promise<number> {
    return this.runs.countDocuments({ _id: { $in: runIds }, status: { $in: [...statuses] } });
  }

  /** The status and end of each of `runIds`. */
  getRunOutcomes(runIds: string[]): Promise<Array<Pick<WorkflowRunDoc, '_id' | 'status' | 'finishedAt'>>> {
    return this.runs.find({ _id: { $in: runIds } }, { projection: { status: 1, finishedAt: 1 } }).toArray();
  }

  /**
   * When each of `runIds` first started a task (ms). Read by workflowRunId, which FerretDB v1 answers with a scan of
   * run_tasks: fine for a benchmark's tally, not for a hot path. The earliest start is taken here, not with $group:
   * FerretDB's $group has no $min.
   */
  async firstTaskStarts(runIds: string[]): Promise<Map<string, number>> {
    const first = new Map<string, number>();
    const started = this.tasks.find(
      { workflowRunId: { $in: runIds }, startedAt: { $exists: true } },
      { projection: { workflowRunId: 1, startedAt: 1 } },
    );
    for await (const t of started) {
      first.set(t.workflowRunId, Math.min(t.startedAt!.getTime(), first.get(t.workflowRunId) ?? Infinity));
    }
    return first;
  }

  /** Artifacts are keyed by run, node, generation and path, so a re-run attempt replaces rather than duplicates. */
  async upsertArtifacts(docs: ArtifactDoc[]): Promise<void> {
    if (!docs.length) return;
    await bulkInChunks(
      this.artifacts,
      docs.map((d): AnyBulkWriteOperation<ArtifactDoc> => ({
        replaceOne: { filter: { _id: d._id }, replacement: d, upsert: true },
      })),
    );
  }
}

/** An insert of documents that may already be there: duplicate keys are fine, anything else is not. */
export function ignoreDuplicates(err: { code?: number; writeErrors?: Array<{ code?: number }> }): void {
  const codes = err.writeErrors?.map((e) => e.code) ?? [err.code];
  if (codes.every((c) => c === 11000)) return;
  throw err;
}
