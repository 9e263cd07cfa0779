import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Db } from 'mongodb';
import { approveUpdate, pauseUpdate, retryTaskUpdate } from '../../workflows/messages';
import { runWorkflow } from '../../workflows/run';
import type { Config } from '../config';
import { indexGraph, subtree } from '../dag/graph';
import { resolveParams } from '../dag/params';
import { isTerminal } from '../dag/scheduler';
import type { TaskStatus } from '../dag/scheduler';
import { AssetRepository, DatasetRepository, DatasetVersionRepository } from '../db/catalog';
import { WorkflowDefinitionRepository, WorkflowVersionRepository } from '../db/definitions';
import { IdempotencyKeyRepository } from '../db/idempotency';
import { MapItemStore } from '../db/map-items';
import type { ItemCounts } from '../db/map-items';
import { RunStore } from '../db/runs';
import { newRunDocs, runTaskId, TERMINAL_RUN_STATUSES } from '../domain/run';
import type { DatasetVersionBinding, InputBinding, RunTaskDoc, StartRunBody, WorkflowRunDoc } from '../domain/run';
import type { RuntimeGraph } from '../domain/runtime-graph';
import { EmboflowError } from '../errors';
import { newId } from '../ids';
import { gpuQueue, runSearchAttributes, runWebUiUrl, runWorkflowId } from '../temporal/names';

/** A failure the API renders as a 4xx: status, code, message and the offending field. */
export class RunRequestError extends EmboflowError {
  override name = 'RunRequestError';
  constructor(status: 400 | 404 | 409 | 503, code: string, message: string, field?: string, cause?: unknown) {
    super(status, code, message, { details: field ? { field } : undefined, cause });
  }
}

export interface WorkflowDefinitionDoc {
  _id: string;
  workspaceId: string;
  projectId: string;
  name: string;
  slug: string;
  status: string;
  latestVersionNumber: number;
  publishedVersionNumber?: number | null;
  createdAt: Date;
}

export interface WorkflowVersionDoc {
  _id: string;
  workflowDefinitionId: string;
  workspaceId: string;
  projectId: string;
  versionNumber: number;
  runtimeGraph: RuntimeGraph;
  createdAt: Date;
}

export interface RunView extends Omit<WorkflowRunDoc, '_id'> {
  id: string;
  temporalUiUrl: string;
}

/** How a trigger started a run; `launchedBy`: its launcher workflow starts the run workflow, not this service. */
export interface RunTrigger {
  triggerId?: string;
  scheduledAt?: Date;
  launchedBy?: string;
}

type RunsConfig = Pick<Config, 'RUN_TASK_QUEUE' | 'TASK_QUEUE_PREFIX' | 'TEMPORAL_NAMESPACE' | 'TEMPORAL_UI_URL'>;

export class RunService {
  readonly store: RunStore;
  readonly items: MapItemStore;
  private readonly definitions: WorkflowDefinitionRepository;
  private readonly versions: WorkflowVersionRepository;
  private readonly assets: AssetRepository;
  private readonly datasets: DatasetRepository;
  private readonly datasetVersions: DatasetVersionRepository;
  private readonly idempotencyKeys: IdempotencyKeyRepository;

  constructor(
    db: Db,
    private readonly temporal: Client,
    private readonly config: RunsConfig,
  ) {
    this.store = new RunStore(db);
    this.items = new MapItemStore(db);
    this.definitions = new WorkflowDefinitionRepository(db);
    this.versions = new WorkflowVersionRepository(db);
    this.assets = new AssetRepository(db);
    this.datasets = new DatasetRepository(db);
    this.datasetVersions = new DatasetVersionRepository(db);
    this.idempotencyKeys = new IdempotencyKeyRepository(db);
  }

  uiUrl(runId: string): string {
    return runWebUiUrl(this.config.TEMPORAL_UI_URL, this.config.TEMPORAL_NAMESPACE, runId);
  }

  view(run: WorkflowRunDoc): RunView {
    const { _id, ...rest } = run;
    return { id: _id, ...rest, temporalUiUrl: this.uiUrl(_id) };
  }

  /**
   * A GPU node runs on its queue's `.gpu` twin, which only workers with WORKER_GPUS poll: with none polling there, the
   * run would wait forever, so it is refused before it starts (409 naming the node).
   */
  private async checkGpuWorkers(version: Pick<WorkflowVersionDoc, 'runtimeGraph'>): Promise<void> {
    const queues = new Map<string, string>();
    version.runtimeGraph.nodes.forEach((n, i) => {
      if (n.executorType === 'docker' && n.executorConfig.gpus !== undefined) {
        const queue = this.config.TASK_QUEUE_PREFIX + gpuQueue(n.executorConfig.taskQueue, n.executorConfig.gpus);
        if (!queues.has(queue)) queues.set(queue, `runtimeGraph.nodes.${i}.executorConfig.gpus`);
      }
    });
    for (const [queue, field] of queues) {
      const { pollers } = await this.temporal.workflowService.describeTaskQueue({
        namespace: this.config.TEMPORAL_NAMESPACE,
        taskQueue: { name: queue },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      });
      if (!pollers?.length) {
        throw new RunRequestError(
          409,
          'no_gpu_workers',
          `no worker with GPUs serves task queue ${queue} (start one with WORKER_GPUS set)`,
          field,
        );
      }
    }
  }

  version(workflowId: string, versionNumber: number): Promise<WorkflowVersionDoc | null> {
    return this.versions.getByNumber(workflowId, versionNumber);
  }

  /** The definition head; the caller authorizes against its workspace and project. */
  getDefinition(workflowId: string): Promise<WorkflowDefinitionDoc | null> {
    return this.definitions.get(workflowId);
  }

  /** Resolves dataset and asset bindings into deduplicated asset ids, all inside the run's project. */
  async resolveBindings(
    bindings: InputBinding[],
    scope: { workspaceId: string; projectId: string },
  ): Promise<{ assetIds: string[]; datasetIds: string[]; datasetVersions: DatasetVersionBinding[] }> {
    const assetIds: string[] = [];
    const datasetIds: string[] = [];
    const datasetVersions: DatasetVersionBinding[] = [];
    const byKind = (kind: InputBinding['kind']) => bindings.map((b, i) => ({ ...b, i })).filter((b) => b.kind === kind);

    const assetBindings = byKind('asset');
    if (assetBindings.length) {
      const found = new Set(
        await this.assets.idsInProject(
          assetBindings.map((b) => b.id),
          scope,
        ),
      );
      for (const b of assetBindings) {
        if (!found.has(b.id))
          throw new RunRequestError(
            400,
            'invalid_binding',
            `asset ${b.id} not found in this project`,
            `inputBindings.${b.i}.id`,
          );
        assetIds.push(b.id);
      }
    }

    for (const b of byKind('dataset')) {
      const dataset = await this.datasets.findInProject(b.id, scope);
      if (!dataset)
        throw new RunRequestError(
          400,
          'invalid_binding',
          `dataset ${b.id} not found in this project`,
          `inputBindings.${b.i}.id`,
        );
      const versionId = b.versionId ?? dataset.latestVersionId;
      if (!versionId)
        throw new RunRequestError(
          400,
          'invalid_binding',
          `dataset ${b.id} has no version yet: create one before running on it`,
          `inputBindings.${b.i}.id`,
        );
      const version = await this.datasetVersions.get(versionId, b.id);
      if (!version)
        throw new RunRequestError(
          400,
          'invalid_binding',
          `dataset ${b.id} has no version ${versionId}`,
          `inputBindings.${b.i}.versionId`,
        );
      datasetIds.push(b.id);
      datasetVersions.push({ datasetId: b.id, versionId });
      if (version.sourceAssetId) assetIds.push(version.sourceAssetId);
      assetIds.push(...(version.assetIds ?? []));
    }
    return { assetIds: [...new Set(assetIds)], datasetIds: [...new Set(datasetIds)], datasetVersions };
  }

  /**
   * Starts a run: freezes the version's runtime graph, inserts the run and its pending tasks, and starts the
   * Temporal workflow. With an idempotency key, a repeated request answers with the run it already started.
   */
  async start(
    def: WorkflowDefinitionDoc,
    body: StartRunBody,
    triggeredBy: string,
    idempotencyKey?: string,
    trigger: RunTrigger = {},
  ): Promise<RunView> {
    const versionNumber = body.versionNumber ?? def.publishedVersionNumber ?? undefined;
    if (!versionNumber) {
      throw new RunRequestError(
        409,
        'not_published',
        'the workflow has no published version; pass versionNumber or publish one',
        'versionNumber',
      );
    }
    const version = await this.versions.getByNumber(def._id, versionNumber);
    if (!version)
      throw new RunRequestError(400, 'invalid_version', `workflow has no version ${versionNumber}`, 'versionNumber');

    const scope = { workspaceId: def.workspaceId, projectId: def.projectId };
    const params = checkedParams(version, body.params);
    await this.checkGpuWorkers(version);
    const { assetIds, datasetIds, datasetVersions } = await this.resolveBindings(body.inputBindings, scope);

    const runId = newId('run');
    if (idempotencyKey) {
      const key = `runs:${def._id}:${idempotencyKey}`;
      if (
        !(await this.idempotencyKeys.claim({
          _id: newId('idk'),
          workspaceId: def.workspaceId,
          key,
          runId,
          createdAt: new Date(),
        }))
      ) {
        const priorRunId = await this.idempotencyKeys.runIdOf(def.workspaceId, key);
        const existing = priorRunId && (await this.store.getRun(priorRunId));
        if (existing) return this.view(existing);
        // The first request is still inserting; the caller can retry.
        throw new RunRequestError(
          409,
          'in_progress',
          'a run with this Idempotency-Key is being started; retry shortly',
        );
      }
    }

    return this.launch({
      def,
      version,
      runId,
      bindings: body.inputBindings,
      assetIds,
      datasetIds,
      datasetVersions,
      params,
      triggeredBy,
      priority: body.priority,
      trigger,
    });
  }

  /** Inserts a run and its pending tasks (the version's graph frozen into the run) and starts its workflow. */
  private async launch(a: {
    def: WorkflowDefinitionDoc;
    version: WorkflowVersionDoc;
    runId: string;
    bindings: InputBinding[];
    assetIds: string[];
    datasetIds: string[];
    datasetVersions?: DatasetVersionBinding[];
    params: Record<string, unknown>;
    triggeredBy: string;
    retryOfRunId?: string;
    priority?: number;
    trigger?: RunTrigger;
  }): Promise<RunView> {
    const { def, version, runId } = a;
    const versionNumber = version.versionNumber;
    const { run, tasks } = newRunDocs(
      {
        _id: runId,
        workspaceId: def.workspaceId,
        projectId: def.projectId,
        workflowDefinitionId: def._id,
        temporalWorkflowId: runWorkflowId(runId),
        inputBindings: a.bindings,
        assetIds: a.assetIds,
        datasetIds: a.datasetIds,
        ...(a.datasetVersions?.length ? { datasetVersions: a.datasetVersions } : {}),
        params: a.params,
        ...(a.retryOfRunId ? { retryOfRunId: a.retryOfRunId } : {}),
        ...(a.priority ? { priority: a.priority } : {}),
        triggeredBy: a.triggeredBy,
        ...(a.trigger?.triggerId ? { triggerId: a.trigger.triggerId } : {}),
        ...(a.trigger?.scheduledAt ? { scheduledAt: a.trigger.scheduledAt } : {}),
      },
      version,
      new Date(),
    );
    await this.store.insertRun(run, tasks);
    // A trigger's launcher workflow starts the run as its child (workflows/triggered-run.ts).
    if (a.trigger?.launchedBy) return this.view(run);

    try {
      await this.temporal.workflow.start(runWorkflow, {
        taskQueue: this.config.TASK_QUEUE_PREFIX + this.config.RUN_TASK_QUEUE,
        workflowId: run.temporalWorkflowId,
        args: [{ runId }],
        staticSummary: `EmboFlow run ${runId} of ${def.name} v${versionNumber}`,
        // Node activities inherit the run's priority.
        ...(a.priority ? { priority: { priorityKey: a.priority } } : {}),
        typedSearchAttributes: runAttributes(run, 'pending'),
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
        await this.store.finishRun(runId, 'failed', `could not start the Temporal workflow: ${(err as Error).message}`);
        throw new RunRequestError(
          503,
          'temporal_unavailable',
          'the run could not be started: Temporal did not accept it',
        );
      }
    }
    return this.view(run);
  }

  /** A run with live aggregates while it executes (stored ones once it has finished). */
  async get(runId: string): Promise<WorkflowRunDoc | null> {
    const run = await this.store.getRun(runId);
    if (run && !TERMINAL_RUN_STATUSES.includes(run.status)) run.summary = await this.store.computeSummary(runId);
    return run;
  }

  /** Retry run: a new run of the same version, inputs and params, pointing at the one it retries. */
  async retryRun(run: WorkflowRunDoc, triggeredBy: string): Promise<RunView> {
    if (!TERMINAL_RUN_STATUSES.includes(run.status)) {
      throw new RunRequestError(
        409,
        'run_not_finished',
        `run ${run._id} is still ${run.status}; cancel it or wait before retrying it`,
      );
    }
    const def = await this.getDefinition(run.workflowDefinitionId);
    const version = await this.versions.get(run.workflowVersionId);
    if (!def || !version)
      throw new RunRequestError(409, 'version_gone', 'the workflow version this run used no longer exists');
    return this.launch({
      def,
      version,
      runId: newId('run'),
      bindings: run.inputBindings,
      assetIds: run.assetIds,
      datasetIds: run.datasetIds,
      // The versions the retried run resolved, not whatever is latest now.
      datasetVersions: run.datasetVersions,
      params: run.params,
      triggeredBy,
      retryOfRunId: run._id,
      priority: run.priority,
    });
  }

  /**
   * Retry task: the node and its downstream subtree run again on this run; every other task keeps its result.
   * Update-with-start reaches the run's workflow if it is still executing, or resumes the finished run; it
   * answers once the subtree is reset. With `items`, the node is a map node and only those items run again (each
   * must exist); without, a map node's retry runs every item that did not succeed.
   */
  async retryTask(
    run: WorkflowRunDoc,
    nodeId: string,
    items?: string[],
  ): Promise<{ runId: string; nodeId: string; resetNodeIds: string[]; items?: string[] }> {
    const graph = run.runtimeSnapshot;
    if (!graph.nodes.some((n) => n.id === nodeId))
      throw new RunRequestError(404, 'not_found', `task ${nodeId} not found`);
    if (items) {
      this.mapNodeOf(run, nodeId);
      for (const key of items) {
        if (!(await this.items.getItem(run._id, nodeId, key)))
          throw new RunRequestError(404, 'not_found', `item ${key} of ${nodeId} not found`);
      }
    }
    // The map node's next generation reads which items to run from its task.
    const isMap = graph.nodes.some((n) => n.id === nodeId && n.executorType === 'docker' && n.map);
    if (isMap) await this.items.requestRetry(runTaskId(run._id, nodeId), items);
    try {
      const resetNodeIds = await this.retryNodes(run, [nodeId]);
      return { runId: run._id, nodeId, resetNodeIds, ...(items ? { items } : {}) };
    } catch (err) {
      if (items) await this.items.requestRetry(runTaskId(run._id, nodeId), undefined);
      throw err;
    }
  }

  /** Every failed node of a finished run, with their subtrees, in one reset on the same run. */
  async retryFailed(run: WorkflowRunDoc): Promise<{ runId: string; nodeIds: string[]; resetNodeIds: string[] }> {
    const tasks = await this.store.listTasks(run._id, undefined, { nodeId: 1, status: 1 });
    const order = new Map(run.runtimeSnapshot.nodes.map((n, i) => [n.id, i]));
    const failed = tasks
      .filter((t) => t.status === 'failed')
      .map((t) => t.nodeId)
      .sort((a, b) => order.get(a)! - order.get(b)!);
    if (!failed.length) throw new RunRequestError(409, 'nothing_to_retry', `run ${run._id} has no failed task`);
    return { runId: run._id, nodeIds: failed, resetNodeIds: await this.retryNodes(run, failed) };
  }

  /** Resets the nodes' subtrees through the run workflow's retry update (starting it again if it had finished). */
  private async retryNodes(run: WorkflowRunDoc, nodeIds: string[]): Promise<string[]> {
    const index = indexGraph(run.runtimeSnapshot);
    const affected = [...new Set(nodeIds.flatMap((id) => subtree(index, id)))];
    // Checked here for a clear answer; the workflow checks again against its own state.
    const tasks = await this.store.listTasks(run._id, affected, { nodeId: 1, status: 1 });
    const busy = tasks.filter((t) => !isTerminal(t.status)).map((t) => t.nodeId);
    const named = nodeIds.join(', ');
    if (busy.length) {
      throw new RunRequestError(
        409,
        'task_not_finished',
        `cannot retry ${named} while ${busy.join(', ')} ${busy.length > 1 ? 'are' : 'is'} not finished`,
      );
    }
    const [nodeId, ...alsoNodeIds] = nodeIds as [string, ...string[]];
    try {
      const { resetNodeIds } = await this.temporal.workflow.executeUpdateWithStart(retryTaskUpdate, {
        args: [{ nodeId, ...(alsoNodeIds.length ? { alsoNodeIds } : {}) }],
        startWorkflowOperation: new WithStartWorkflowOperation(runWorkflow, {
          taskQueue: this.config.TASK_QUEUE_PREFIX + this.config.RUN_TASK_QUEUE,
          workflowId: run.temporalWorkflowId,
          args: [{ runId: run._id, resume: true }],
          workflowIdConflictPolicy: 'USE_EXISTING',
          typedSearchAttributes: runAttributes(run, 'running'),
        }),
      });
      return resetNodeIds;
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new RunRequestError(409, 'retry_rejected', (err.cause as Error | undefined)?.message ?? err.message);
      }
      throw err;
    }
  }

  /** The map node `nodeId` of the run's graph: 404 when there is none. */
  mapNodeOf(run: Pick<WorkflowRunDoc, 'runtimeSnapshot'>, nodeId: string) {
    const node = run.runtimeSnapshot.nodes.find((n) => n.id === nodeId);
    if (!node) throw new RunRequestError(404, 'not_found', `task ${nodeId} not found`);
    if (node.executorType !== 'docker' || !node.map)
      throw new RunRequestError(404, 'not_found', `task ${nodeId} is not a map node: it has no items`);
    return node;
  }

  /** A page of a map node's items in key order: `cursor` is the last key of the previous page. */
  async listItems(
    run: WorkflowRunDoc,
    nodeId: string,
    opts: { status?: TaskStatus; cursor?: string; limit: number },
  ): Promise<{ items: RunTaskDoc[]; nextCursor: string | null; counts: ItemCounts }> {
    this.mapNodeOf(run, nodeId);
    const items = await this.items.page(run._id, nodeId, {
      status: opts.status,
      afterKey: opts.cursor,
      limit: opts.limit + 1,
    });
    const more = items.length > opts.limit;
    const shown = more ? items.slice(0, opts.limit) : items;
    return {
      items: shown,
      nextCursor: more ? shown[shown.length - 1]!.itemKey! : null,
      counts: await this.items.counts(run._id, nodeId),
    };
  }

  /** A human decision for a waiting approval node; refused (409) when the node is not waiting for one. */
  async approve(
    run: WorkflowRunDoc,
    nodeId: string,
    decision: { approved: boolean; comment?: string },
    decidedBy: string,
  ): Promise<void> {
    const node = run.runtimeSnapshot.nodes.find((n) => n.id === nodeId);
    if (!node) throw new RunRequestError(404, 'not_found', `task ${nodeId} not found`);
    if (node.executorType !== 'approval')
      throw new RunRequestError(
        409,
        'not_an_approval',
        `task ${nodeId} is a ${node.executorType} node, not an approval`,
      );
    if (TERMINAL_RUN_STATUSES.includes(run.status))
      throw new RunRequestError(409, 'run_finished', `run ${run._id} has already finished (${run.status})`);
    try {
      await this.temporal.workflow.getHandle(run.temporalWorkflowId).executeUpdate(approveUpdate, {
        args: [{ nodeId, approved: decision.approved, comment: decision.comment, decidedBy }],
      });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new RunRequestError(409, 'not_waiting', (err.cause as Error | undefined)?.message ?? err.message);
      }
      throw err;
    }
  }

  /** Pauses (no node starts; running ones finish) or resumes a run that has not finished; 409 once it has. */
  async pause(
    run: WorkflowRunDoc,
    paused: boolean,
    by: string,
  ): Promise<{ runId: string; paused: boolean; changed: boolean }> {
    if (TERMINAL_RUN_STATUSES.includes(run.status))
      throw new RunRequestError(409, 'run_finished', `run ${run._id} has already finished (${run.status})`);
    try {
      const result = await this.temporal.workflow
        .getHandle(run.temporalWorkflowId)
        .executeUpdate(pauseUpdate, { args: [{ paused, by }] });
      return { runId: run._id, ...result };
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError)
        throw new RunRequestError(409, 'run_finished', `run ${run._id} is finishing or has finished`);
      throw err;
    }
  }

  async cancel(run: WorkflowRunDoc): Promise<void> {
    if (TERMINAL_RUN_STATUSES.includes(run.status)) {
      throw new RunRequestError(409, 'run_finished', `run ${run._id} has already finished (${run.status})`);
    }
    await this.temporal.workflow.getHandle(run.temporalWorkflowId).cancel();
  }
}

/** A run's params checked against its version's declared ones, defaults applied; a 400 naming the first problem. */
export function checkedParams(version: Pick<WorkflowVersionDoc, 'runtimeGraph'>, given: Record<string, unknown>) {
  const { params, problems } = resolveParams(version.runtimeGraph.params, given);
  if (problems.length) {
    throw new RunRequestError(
      400,
      'invalid_params',
      problems.map((p) => `${p.field}: ${p.message}`).join('; '),
      problems[0]!.field,
    );
  }
  return params;
}

function runAttributes(
  run: Pick<WorkflowRunDoc, '_id' | 'workflowDefinitionId' | 'projectId' | 'workspaceId'>,
  status: string,
) {
  const { _id: runId, workflowDefinitionId: workflowId, projectId, workspaceId } = run;
  return runSearchAttributes({ runId, workflowId, projectId, workspaceId }, status);
}
