import type { Db } from 'mongodb';
import type { RunOutcome } from '../src/dag/scheduler';
import type { RuntimeNode } from '../src/domain/runtime-graph';
import type { RunStore } from '../src/db/runs';
import { runNotFound } from './errors';
import type { PlanNode, RunPlan, TaskUpdate } from './types';

function taskQueueOf(node: RuntimeNode, fallback: string): string {
  if (node.executorType === 'docker') return node.executorConfig.taskQueue;
  if (node.executorType === 'builtin') return node.executorConfig.taskQueue ?? fallback;
  return fallback;
}

/** Activities that read the plan and write run-level state into the mirror. */
export function createControlActivities(db: Db, runs: RunStore, defaultTaskQueue: string, taskQueuePrefix: string) {
  return {
    async loadRunPlan(runId: string): Promise<RunPlan> {
      const run = await runs.getRun(runId);
      if (!run) throw runNotFound(runId);
      const tasks = new Map((await runs.listTasks(runId)).map((t) => [t.nodeId, t]));
      const graph = run.runtimeSnapshot;
      const customIds = graph.nodes.flatMap((n) => (n.executorType === 'docker' && n.executorConfig.customNodeId ? [n.executorConfig.customNodeId] : []));
      const dockerfileSourced = new Set(
        customIds.length
          ? (
              await db
                .collection<{ _id: string }>('custom_nodes')
                .find({ _id: { $in: customIds }, workspaceId: run.workspaceId, 'source.kind': 'dockerfile' }, { projection: { _id: 1 } })
                .toArray()
            ).map((c) => c._id)
          : [],
      );
      const nodes: PlanNode[] = graph.nodes.map((n) => ({
        id: n.id,
        executorType: n.executorType,
        taskQueue: taskQueuePrefix + taskQueueOf(n, defaultTaskQueue),
        retry: n.retry,
        timeoutSeconds: n.executorType === 'docker' ? n.executorConfig.timeoutSeconds : 60,
        timerSeconds: n.executorType === 'timer' ? n.executorConfig.seconds : undefined,
        generation: tasks.get(n.id)?.generation ?? 0,
        attemptBase: tasks.get(n.id)?.attempt ?? 0,
        build: n.executorType === 'docker' && !!n.executorConfig.customNodeId && dockerfileSourced.has(n.executorConfig.customNodeId),
      }));
      return {
        runId,
        nodes,
        edges: graph.edges,
        maxParallelism: graph.settings.maxParallelism,
        failFast: graph.settings.failFast,
        assetIds: run.assetIds,
      };
    },

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
            ...(u.status === 'queued' ? {} : { finishedAt: now }),
          },
        })),
      );
    },

    async finishRun(runId: string, outcome: RunOutcome, errorMessage?: string): Promise<void> {
      await runs.finishRun(runId, outcome, errorMessage);
    },
  };
}
