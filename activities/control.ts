import { Context } from '@temporalio/activity';
import type { Db } from 'mongodb';
import type { RunOutcome } from '../src/dag/scheduler';
import { CustomNodeRepository } from '../src/db/definitions';
import type { RunStore } from '../src/db/runs';
import { TERMINAL_RUN_STATUSES } from '../src/domain/run';
import type { RunTaskDoc } from '../src/domain/run';
import type { RuntimeNode } from '../src/domain/runtime-graph';
import type { NodeCarryOver, PlanNode, RunPlan, TaskUpdate } from '../src/engine/contract';
import type { Metrics } from '../src/metrics';
import { gpuQueue } from '../src/temporal/names';
import { runNotFound } from './errors';

function taskQueueOf(node: RuntimeNode, fallback: string): string {
  if (node.executorType === 'docker') return gpuQueue(node.executorConfig.taskQueue, node.executorConfig.gpus);
  if (node.executorType === 'builtin') return node.executorConfig.taskQueue ?? fallback;
  return fallback;
}

/** What the plan (and a resumed execution's carry-over) reads of each task: not its logs, attempts or summary. */
const PLAN_TASK_FIELDS = {
  nodeId: 1,
  status: 1,
  generation: 1,
  attempt: 1,
  skipReason: 1,
  outputArtifactIds: 1,
  outputManifest: 1,
  assetIds: 1,
  cacheHit: 1,
  lastResultPreview: 1,
};

/** Activities that read the plan and write run-level state into the mirror. */
export function createControlActivities(
  db: Db,
  runs: RunStore,
  opts: {
    defaultTaskQueue: string;
    taskQueuePrefix: string;
    continueAfterEvents?: number;
    /** Called once the run's end is recorded (its notifications: activities/notify.ts). */
    onRunEnd?: (runId: string) => Promise<void>;
  },
  metrics?: Metrics,
) {
  const { defaultTaskQueue, taskQueuePrefix } = opts;
  const customNodes = new CustomNodeRepository(db);
  return {
    async loadRunPlan(runId: string, resume = false): Promise<RunPlan> {
      const run = await runs.getRun(runId);
      if (!run) throw runNotFound(runId);
      const execution = currentExecution();
      // A finished run starting over in another execution: Temporal reset it to its start. Reopened before its tasks
      // are read, so the mirror shows this execution's run (RunStore.reopenRun). A resumed execution (a task retry)
      // reopens what it retries itself (resetTasks); a reset to a later point is the reconciler's to find.
      if (!resume && execution && TERMINAL_RUN_STATUSES.includes(run.status) && run.finishedByExecution !== execution)
        await runs.reopenRun(runId, execution, { allUnfinished: true });
      const tasks = new Map(
        (
          await runs.listTasks(
            runId,
            run.runtimeSnapshot.nodes.map((n) => n.id),
            PLAN_TASK_FIELDS,
          )
        ).map((t) => [t.nodeId, t]),
      );
      const graph = run.runtimeSnapshot;
      const customIds = graph.nodes.flatMap((n) =>
        n.executorType === 'docker' && n.executorConfig.customNodeId ? [n.executorConfig.customNodeId] : [],
      );
      const dockerfileSourced = new Set(
        customIds.length ? await customNodes.dockerfileSourcedIds(customIds, run.workspaceId) : [],
      );
      const defaultQueue = taskQueuePrefix + defaultTaskQueue;
      const nodes: PlanNode[] = graph.nodes.map((n) => {
        const task = tasks.get(n.id);
        const queue = taskQueuePrefix + taskQueueOf(n, defaultTaskQueue);
        const plan: PlanNode = { id: n.id, executorType: n.executorType };
        if (queue !== defaultQueue) plan.taskQueue = queue;
        if ('retry' in n && n.retry) plan.retry = n.retry;
        if (n.runWhen && n.runWhen !== 'all_success') plan.runWhen = n.runWhen;
        if (n.onExit) plan.onExit = true;
        if (n.executorType === 'docker') plan.timeoutSeconds = n.executorConfig.timeoutSeconds;
        if (n.executorType === 'docker' && n.map) plan.map = n.map;
        if (n.executorType === 'timer') plan.timerSeconds = n.executorConfig.seconds;
        if (n.executorType === 'decision') plan.expression = n.executorConfig.expression;
        if (n.executorType === 'approval') {
          // With conditions on its outgoing edges, a rejection routes through the graph instead of failing.
          plan.approval = {
            ...n.executorConfig,
            routesRejection: graph.edges.some((e) => e.source === n.id && !!e.condition),
          };
        }
        if (task?.generation) plan.generation = task.generation;
        if (task?.attempt) plan.attemptBase = task.attempt;
        if (
          n.executorType === 'docker' &&
          n.executorConfig.customNodeId &&
          dockerfileSourced.has(n.executorConfig.customNodeId)
        )
          plan.build = true;
        return plan;
      });
      return {
        runId,
        defaultTaskQueue: defaultQueue,
        ...(opts.continueAfterEvents ? { continueAfterEvents: opts.continueAfterEvents } : {}),
        ...(resume ? { carryOver: await carryOver(runs, [...tasks.values()]) } : {}),
        nodes,
        edges: graph.edges,
        maxParallelism: graph.settings.maxParallelism,
        failFast: graph.settings.failFast,
        ...(graph.settings.timeoutSeconds ? { timeoutSeconds: graph.settings.timeoutSeconds } : {}),
        assetIds: run.assetIds,
        ...(run.upstreamInputs?.length ? { upstreamInputs: run.upstreamInputs } : {}),
      };
    },

    resetTasks: (
      runId: string,
      retriedNodeId: string,
      nodes: Array<{ nodeId: string; generation: number }>,
      alsoRetried: string[] = [],
    ) => runs.resetTasks(runId, [retriedNodeId, ...alsoRetried], nodes),

    markRunPaused: (runId: string, paused: boolean, by: string) => runs.markRunPaused(runId, paused, by),

    async markRunStarted(runId: string): Promise<void> {
      await runs.markRunStarted(runId);
    },

    async markTasks(runId: string, updates: TaskUpdate[]): Promise<void> {
      const now = new Date();
      await runs.applyTransitions(
        runId,
        updates.map((u) => ({
          nodeId: u.nodeId,
          generation: u.generation,
          status: u.status,
          set: {
            ...(u.skipReason ? { skipReason: u.skipReason } : {}),
            ...(u.errorMessage ? { errorMessage: u.errorMessage } : {}),
            ...(u.result !== undefined ? { lastResultPreview: u.result } : {}),
            ...(u.summary ? { summary: u.summary } : {}),
            ...(u.status === 'queued' ? {} : u.status === 'running' ? { startedAt: now } : { finishedAt: now }),
          },
        })),
      );
    },

    /**
     * The run's end, as this execution sees it. It replaces the end another execution recorded (this one runs
     * after a reset), and a run that did not succeed leaves no task open.
     */
    async finishRun(runId: string, outcome: RunOutcome | 'timed_out', errorMessage?: string): Promise<void> {
      await runs.finishRun(runId, outcome, errorMessage, {
        execution: currentExecution(),
        replacesOtherExecution: true,
        closeOpenTasks: outcome !== 'success',
      });
      metrics?.runsFinished.inc({ status: outcome });
      await opts.onRunEnd?.(runId);
    },
  };
}

/** The Temporal run id of the execution calling this activity; undefined when called outside one (tools, tests). */
function currentExecution(): string | undefined {
  try {
    return Context.current().info.workflowExecution?.runId;
  } catch {
    return undefined;
  }
}

/** What finished tasks left, for a resumed execution: statuses, and the artifacts and assets of successes. */
async function carryOver(runs: RunStore, tasks: RunTaskDoc[]): Promise<NodeCarryOver[]> {
  const finished = tasks.filter((t) => ['success', 'failed', 'cancelled', 'skipped'].includes(t.status));
  // A task with a manifest passes the manifest on, not its (possibly thousands of) artifacts.
  const artifactIds = finished
    .filter((t) => t.status === 'success' && !t.outputManifest)
    .flatMap((t) => t.outputArtifactIds);
  const artifacts = new Map((await runs.artifactsByIds(artifactIds)).map((a) => [a._id, a]));
  return finished.map((t) => ({
    nodeId: t.nodeId,
    status: t.status as NodeCarryOver['status'],
    ...(t.skipReason ? { skipReason: t.skipReason as NodeCarryOver['skipReason'] } : {}),
    ...(t.status === 'success'
      ? {
          result: {
            artifacts: t.outputManifest
              ? []
              : t.outputArtifactIds.flatMap((id) => {
                  const a = artifacts.get(id);
                  return a
                    ? [
                        {
                          id,
                          path: a.path,
                          key: a.storageRef.key,
                          checksum: a.storageRef.checksum,
                          size: a.storageRef.size,
                        },
                      ]
                    : [];
                }),
            ...(t.outputManifest ? { manifest: t.outputManifest } : {}),
            assetIds: t.assetIds,
            cacheHit: t.cacheHit,
            ...(t.lastResultPreview !== undefined && JSON.stringify(t.lastResultPreview).length <= 4096
              ? { result: t.lastResultPreview }
              : {}),
          },
        }
      : {}),
  }));
}
