// The run workflow: walks one run's DAG. Scheduling decisions live in src/dag (pure, unit-tested);
// everything with I/O is an activity. Only ids and storage references pass through history.
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { ActivityContract, NodeInput, NodeResult, PlanNode, TaskUpdate } from '../activities/types';
import { NON_RETRYABLE_ERRORS } from '../activities/types';
import { indexGraph } from '../src/dag/graph';
import { DagScheduler, type RunOutcome, type TaskStatus } from '../src/dag/scheduler';
import { SearchAttr } from '../src/temporal/names';

export interface RunWorkflowInput {
  runId: string;
}

export interface RunWorkflowResult {
  runId: string;
  status: RunOutcome;
  failedNodeIds: string[];
}

export interface RunProgress {
  counts: Record<TaskStatus, number>;
  nodes: Record<string, TaskStatus>;
}

export const progressQuery = defineQuery<RunProgress>('progress');

// Control activities only touch MongoDB. Local activities: one marker event each instead of three history
// events and a task-queue round trip; retried until MongoDB answers (it may be down for a while).
const control = proxyLocalActivities<ActivityContract>({
  startToCloseTimeout: '30s',
  localRetryThreshold: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s', nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
});

/** Room, on top of the container's own timeout, for staging inputs and uploading outputs. */
const STAGING_MARGIN_SECONDS = 300;

function nodeActivityOptions(node: PlanNode): ActivityOptions {
  const docker = node.executorType === 'docker';
  return {
    taskQueue: node.taskQueue,
    activityId: `${node.id}.g${node.generation}`,
    summary: `node ${node.id}`,
    startToCloseTimeout: `${docker ? node.timeoutSeconds + STAGING_MARGIN_SECONDS : 120}s`,
    heartbeatTimeout: docker ? '30s' : undefined,
    // Don't report a cancelled node until its container has stopped.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: docker
      ? {
          maximumAttempts: node.retry?.maxAttempts ?? 1,
          initialInterval: node.retry?.initialIntervalMs ?? 1000,
          backoffCoefficient: node.retry?.backoffCoefficient ?? 2,
          maximumInterval: node.retry?.maximumIntervalMs,
          nonRetryableErrorTypes: NON_RETRYABLE_ERRORS,
        }
      : { initialInterval: '500ms', maximumInterval: '10s', nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
  };
}

function failureMessage(err: unknown): string {
  let e: unknown = err;
  // ActivityFailure wraps the activity's own ApplicationFailure; its message is the useful one.
  while (e && typeof e === 'object' && 'cause' in e && (e as { cause?: unknown }).cause) e = (e as { cause: unknown }).cause;
  return e instanceof Error ? e.message : String(e);
}

export async function runWorkflow({ runId }: RunWorkflowInput): Promise<RunWorkflowResult> {
  const plan = await control.loadRunPlan(runId);
  const index = indexGraph({ nodes: plan.nodes as never, edges: plan.edges });
  const nodes = new Map(plan.nodes.map((n) => [n.id, n]));
  const scheduler = new DagScheduler(index, plan.maxParallelism);
  const results = new Map<string, NodeResult>();
  const running = new Map<string, { scope: CancellationScope; done: Promise<void> }>();
  const failed: string[] = [];
  let pending: TaskUpdate[] = [];

  setHandler(progressQuery, () => {
    const counts = { pending: 0, queued: 0, running: 0, success: 0, failed: 0, cancelled: 0, skipped: 0 };
    const byNode: Record<string, TaskStatus> = {};
    for (const [id, s] of scheduler.snapshot()) {
      counts[s.status]++;
      byNode[id] = s.status;
    }
    return { counts, nodes: byNode };
  });

  const inputFor = (node: PlanNode): NodeInput => {
    const ups = index.upstream.get(node.id) ?? [];
    const upstream = ups.map((id) => ({ nodeId: id, ...(results.get(id) ?? { artifacts: [], assetIds: [], cacheHit: false }) }));
    const assetIds = ups.length ? [...new Set(upstream.flatMap((u) => u.assetIds))] : plan.assetIds;
    return {
      runId,
      nodeId: node.id,
      generation: node.generation,
      attemptBase: node.attemptBase,
      maxAttempts: node.retry?.maxAttempts ?? 1,
      assetIds,
      upstream: upstream.map(({ nodeId, artifacts, assetIds: a }) => ({ nodeId, artifacts, assetIds: a })),
    };
  };

  const execute = async (node: PlanNode): Promise<NodeResult> => {
    const input = inputFor(node);
    if (node.executorType === 'timer') {
      await sleep((node.timerSeconds ?? 0) * 1000);
      pending.push({ nodeId: node.id, generation: node.generation, status: 'success' });
      return { artifacts: [], assetIds: input.assetIds, cacheHit: false };
    }
    const options = nodeActivityOptions(node);
    const acts = proxyActivities<ActivityContract>(options);
    if (node.build) {
      await proxyActivities<ActivityContract>({ ...options, activityId: `${options.activityId}.build`, summary: `build image for ${node.id}`, startToCloseTimeout: '30m' })
        .buildNodeImage({ runId, nodeId: node.id });
    }
    return node.executorType === 'docker' ? acts.executeDockerNode(input) : acts.executeBuiltinNode(input);
  };

  const launch = (nodeId: string): void => {
    const node = nodes.get(nodeId)!;
    const scope = new CancellationScope();
    const done = scope
      .run(() => execute(node))
      .then(
        (result) => {
          results.set(nodeId, result);
          scheduler.complete(nodeId, 'success');
        },
        (err: unknown) => {
          if (isCancellation(err)) {
            scheduler.complete(nodeId, 'cancelled');
            return;
          }
          const errorMessage = failureMessage(err);
          scheduler.complete(nodeId, 'failed');
          failed.push(nodeId);
          pending.push({ nodeId, generation: node.generation, status: 'failed', errorMessage });
          if (plan.failFast) for (const r of running.values()) r.scope.cancel();
        },
      )
      .finally(() => running.delete(nodeId));
    running.set(nodeId, { scope, done });
  };

  const flush = async (): Promise<void> => {
    if (!pending.length) return;
    const batch = pending;
    pending = [];
    await control.markTasks(runId, batch);
  };

  upsertSearchAttributes([{ key: SearchAttr.status, value: 'running' }]);
  try {
    await control.markRunStarted(runId);
    for (;;) {
      if (plan.failFast && failed.length) break;
      const step = scheduler.next();
      for (const s of step.skip) {
        pending.push({ nodeId: s.nodeId, generation: nodes.get(s.nodeId)!.generation, status: 'skipped', skipReason: s.reason });
      }
      for (const id of step.start) pending.push({ nodeId: id, generation: nodes.get(id)!.generation, status: 'queued' });
      await flush();
      for (const id of step.start) launch(id);
      if (!running.size) break;
      await Promise.race([...running.values()].map((r) => r.done));
    }
    if (plan.failFast && failed.length) {
      // Running nodes were cancelled when the failure arrived; wait for their containers to stop.
      await Promise.all([...running.values()].map((r) => r.done));
      const { notStarted } = scheduler.cancelRemaining();
      for (const id of notStarted) pending.push({ nodeId: id, generation: nodes.get(id)!.generation, status: 'cancelled' });
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(async () => {
      await Promise.all([...running.values()].map((r) => r.done));
      const { notStarted, wasRunning } = scheduler.cancelRemaining();
      for (const id of [...wasRunning, ...notStarted]) {
        pending.push({ nodeId: id, generation: nodes.get(id)!.generation, status: 'cancelled' });
      }
      await flush();
      await control.finishRun(runId, 'cancelled');
      upsertSearchAttributes([{ key: SearchAttr.status, value: 'cancelled' }]);
    });
    throw err;
  }

  await flush();
  const status = scheduler.outcome();
  await control.finishRun(runId, status, failed.length ? `failed nodes: ${failed.join(', ')}` : undefined);
  upsertSearchAttributes([{ key: SearchAttr.status, value: status }]);
  if (status === 'failed' && failed.length === 0) {
    throw ApplicationFailure.nonRetryable('run failed without a failed node', 'RunInvariantError');
  }
  return { runId, status, failedNodeIds: failed };
}
