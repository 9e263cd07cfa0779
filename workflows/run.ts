// The run workflow: walks one run's DAG. Scheduling decisions live in src/dag (pure, unit-tested);
// everything with I/O is an activity. Only ids and storage references pass through history.
// Histories of representative runs are committed under test/replay/histories and replayed in CI: a change to the
// commands this code issues must be guarded with patched('<change-id>') so running executions keep replaying.
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  Trigger,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { ActivityContract, NodeInput, NodeResult, PlanNode, TaskUpdate } from '../activities/types';
import { NON_RETRYABLE_ERRORS } from '../activities/types';
import { indexGraph, subtree } from '../src/dag/graph';
import { evaluate, truthy } from '../src/dag/expr';
import { DagScheduler, isTerminal, type NodeState, type RunOutcome, type TaskStatus } from '../src/dag/scheduler';
import type { RuntimeEdge } from '../src/domain/runtime-graph';
import { APPROVE_UPDATE, RETRY_TASK_UPDATE, SearchAttr } from '../src/temporal/names';

export interface RunWorkflowInput {
  runId: string;
  /** Set when a task retry restarts a run that had already finished: finished nodes keep their results. */
  resume?: boolean;
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
/**
 * Re-runs a finished node and its downstream subtree on this run; every other node keeps its result.
 * Completes once the subtree is reset (or is rejected with the reason), so callers see the new state at once.
 */
export const retryTaskUpdate = defineUpdate<{ resetNodeIds: string[] }, [{ nodeId: string }]>(RETRY_TASK_UPDATE);

export interface ApprovalDecision {
  nodeId: string;
  approved: boolean;
  comment?: string;
  /** The user id of whoever decided (the API fills it from the caller's key). */
  decidedBy: string;
}

/** A human decision for an approval node that is waiting; refused (not recorded) when the node is not waiting. */
export const approveUpdate = defineUpdate<{ nodeId: string; approved: boolean }, [ApprovalDecision]>(APPROVE_UPDATE);

interface RetryRequest {
  nodeId: string;
  done: boolean;
  resetNodeIds?: string[];
  error?: string;
}

// Control activities only touch MongoDB. Local activities: one marker event each instead of three history
// events and a task-queue round trip; retried until MongoDB answers (it may be down for a while).
const control = proxyLocalActivities<ActivityContract>({
  startToCloseTimeout: '30s',
  localRetryThreshold: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s', nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
});

/** Room, on top of the container's own timeout, for staging inputs and uploading outputs. */
const STAGING_MARGIN_SECONDS = 300;
/**
 * Attempts Temporal may make beyond the node's own budget: a worker that dies mid-container costs an attempt (a
 * heartbeat timeout) but not a container failure; the executor enforces the node's budget itself.
 */
const CRASH_ALLOWANCE = 10;
/** Docker activities heartbeat every 2 s; a cancellation reaches them within this (the SDK throttles to 80%). */
export const NODE_HEARTBEAT_TIMEOUT_SECONDS = 10;

/**
 * A run's history is kept well under Temporal's limits (51,200 events, 50 MB): past this many events, or when the
 * server suggests it, the run stops starting nodes, lets the running ones finish, and continues as a new execution
 * that resumes from what finished (the mirror holds every finished node's result).
 */
export const HISTORY_EVENTS_BEFORE_CONTINUE = 10_000;

/** A plan node with its defaults filled in (the plan leaves them out to stay small). */
type Node = PlanNode & { taskQueue: string; generation: number; attemptBase: number; timeoutSeconds: number };

function nodeActivityOptions(node: Node): ActivityOptions {
  const docker = node.executorType === 'docker';
  return {
    taskQueue: node.taskQueue,
    activityId: `${node.id}.g${node.generation}`,
    summary: `node ${node.id}`,
    startToCloseTimeout: `${docker ? node.timeoutSeconds + STAGING_MARGIN_SECONDS : 120}s`,
    heartbeatTimeout: docker ? `${NODE_HEARTBEAT_TIMEOUT_SECONDS}s` : undefined,
    // Don't report a cancelled node until its container has stopped.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: docker
      ? {
          maximumAttempts: (node.retry?.maxAttempts ?? 1) + CRASH_ALLOWANCE,
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

export async function runWorkflow({ runId, resume }: RunWorkflowInput): Promise<RunWorkflowResult> {
  const retryRequests: RetryRequest[] = [];
  // Wakes the scheduling loop when a retry arrives while it waits on running nodes.
  let wake = new Trigger<void>();
  setHandler(retryTaskUpdate, async ({ nodeId }) => {
    const request: RetryRequest = { nodeId, done: false };
    retryRequests.push(request);
    wake.resolve();
    await condition(() => request.done);
    if (request.error) throw ApplicationFailure.nonRetryable(request.error, 'RetryRejected');
    return { resetNodeIds: request.resetNodeIds ?? [] };
  });

  const decisions = new Map<string, ApprovalDecision & { decidedAt: string }>();
  const waitingApprovals = new Set<string>();
  setHandler(
    approveUpdate,
    (d) => {
      decisions.set(d.nodeId, { ...d, decidedAt: new Date().toISOString() });
      return { nodeId: d.nodeId, approved: d.approved };
    },
    {
      validator: (d) => {
        if (!waitingApprovals.has(d.nodeId)) throw new Error(`task ${d.nodeId} is not waiting for an approval`);
      },
    },
  );

  const plan = await control.loadRunPlan(runId, resume);
  const index = indexGraph({ nodes: plan.nodes as never, edges: plan.edges });
  const nodes = new Map<string, Node>(
    plan.nodes.map((n) => [
      n.id,
      { ...n, taskQueue: n.taskQueue ?? plan.defaultTaskQueue, generation: n.generation ?? 0, attemptBase: n.attemptBase ?? 0, timeoutSeconds: n.timeoutSeconds ?? 60 },
    ]),
  );
  const results = new Map<string, NodeResult>();
  const initial = new Map<string, NodeState>();
  for (const c of plan.carryOver ?? []) {
    initial.set(c.nodeId, { status: c.status, skipReason: c.skipReason });
    if (c.result) results.set(c.nodeId, c.result);
  }
  const scheduler = new DagScheduler(index, plan.maxParallelism, initial);
  const running = new Map<string, { scope: CancellationScope; done: Promise<void> }>();
  const failed = new Set((plan.carryOver ?? []).filter((c) => c.status === 'failed').map((c) => c.nodeId));
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

  const inputFor = (node: Node): NodeInput => {
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

  const upstreamResults = (nodeId: string) => {
    const ups = index.upstream.get(nodeId) ?? [];
    const inputs = Object.fromEntries(ups.map((u) => [u, results.get(u)?.result ?? null]));
    return { inputs, result: ups.length === 1 ? inputs[ups[0]!] : null };
  };

  /** An edge is taken when it has no condition, or its condition holds over its source's result. */
  const edgeTaken = (edge: RuntimeEdge): boolean => {
    if (!edge.condition) return true;
    try {
      return truthy(evaluate(edge.condition, { ...upstreamResults(edge.source), result: results.get(edge.source)?.result ?? null }));
    } catch {
      // Conditions are checked when a version is created; one that cannot evaluate is not taken.
      return false;
    }
  };

  const awaitApproval = async (node: Node, input: NodeInput): Promise<NodeResult> => {
    const cfg = node.approval!;
    const deadline = cfg.timeoutSeconds ? new Date(Date.now() + cfg.timeoutSeconds * 1000).toISOString() : undefined;
    decisions.delete(node.id);
    waitingApprovals.add(node.id);
    pending.push({ nodeId: node.id, generation: node.generation, status: 'running', summary: { executor: 'approval', waitingForApproval: true, deadline } });
    await flush();
    try {
      if (cfg.timeoutSeconds) await condition(() => decisions.has(node.id), cfg.timeoutSeconds * 1000);
      else await condition(() => decisions.has(node.id));
    } finally {
      waitingApprovals.delete(node.id);
    }
    const decided =
      decisions.get(node.id) ??
      (cfg.defaultOutcome
        ? { nodeId: node.id, approved: cfg.defaultOutcome === 'approved', comment: `no decision by ${deadline}: default outcome applied`, decidedBy: 'system:deadline', decidedAt: new Date().toISOString() }
        : undefined);
    if (!decided) {
      const errorMessage = `no decision by the deadline (${deadline})`;
      pending.push({ nodeId: node.id, generation: node.generation, status: 'failed', errorMessage, summary: { executor: 'approval', outcome: 'timed_out', deadline } });
      throw ApplicationFailure.nonRetryable(errorMessage, 'ApprovalTimedOut');
    }
    const result = { approved: decided.approved, comment: decided.comment ?? null, decidedBy: decided.decidedBy, decidedAt: decided.decidedAt };
    const summary = { executor: 'approval', outcome: decided.approved ? 'approved' : 'rejected', ...result };
    if (!decided.approved && !cfg.routesRejection) {
      const errorMessage = `rejected by ${decided.decidedBy}${decided.comment ? `: ${decided.comment}` : ''}`;
      pending.push({ nodeId: node.id, generation: node.generation, status: 'failed', errorMessage, result, summary });
      throw ApplicationFailure.nonRetryable(errorMessage, 'ApprovalRejected');
    }
    pending.push({ nodeId: node.id, generation: node.generation, status: 'success', result, summary });
    return { artifacts: [], assetIds: input.assetIds, cacheHit: false, result };
  };

  const execute = async (node: Node): Promise<NodeResult> => {
    const input = inputFor(node);
    if (node.executorType === 'timer') {
      await sleep((node.timerSeconds ?? 0) * 1000);
      pending.push({ nodeId: node.id, generation: node.generation, status: 'success' });
      return { artifacts: [], assetIds: input.assetIds, cacheHit: false };
    }
    if (node.executorType === 'approval') return awaitApproval(node, input);
    if (node.executorType === 'decision') {
      let value: unknown;
      try {
        value = evaluate(node.expression ?? 'null', upstreamResults(node.id));
      } catch (err) {
        const errorMessage = `decision expression failed: ${(err as Error).message}`;
        pending.push({ nodeId: node.id, generation: node.generation, status: 'failed', errorMessage });
        throw ApplicationFailure.nonRetryable(errorMessage, 'DecisionFailed');
      }
      pending.push({ nodeId: node.id, generation: node.generation, status: 'success', result: value, summary: { executor: 'decision', value } });
      return { artifacts: [], assetIds: input.assetIds, cacheHit: false, result: value };
    }
    if (backgroundWrites && !writtenOnce(node)) await writes;
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
            pending.push({ nodeId, generation: node.generation, status: 'cancelled' });
            return;
          }
          scheduler.complete(nodeId, 'failed');
          failed.add(nodeId);
          pending.push({ nodeId, generation: node.generation, status: 'failed', errorMessage: failureMessage(err) });
          if (plan.failFast) for (const r of running.values()) r.scope.cancel();
        },
      )
      .finally(() => running.delete(nodeId));
    running.set(nodeId, { scope, done });
  };

  // Mirror writes go out without holding up the scheduling loop, but strictly one after another: MongoDB-compatible
  // servers without per-document atomicity (FerretDB) could otherwise interleave two writes to one task. A node's
  // activity is scheduled only after the writes queued before it have landed.
  let writes: Promise<void> = Promise.resolve();
  let writeError: unknown;
  // Executions that started before this change awaited every write; they replay the way they ran.
  const backgroundWrites = patched('mirror-writes-in-background');
  // Builtin nodes run in-process in milliseconds: their task is written once, by the activity, when it ends (with
  // queuedAt, startedAt and finishedAt), not queued first by the workflow. With no write of the workflow's pending
  // for their task, their activity need not wait for the write queue either.
  const builtinWritesOnce = patched('builtin-nodes-write-once');
  const writtenOnce = (node: Node) => builtinWritesOnce && node.executorType === 'builtin';
  const flush = async (wait = true): Promise<void> => {
    if (pending.length) {
      const batch = pending;
      pending = [];
      writes = writes.then(
        () => control.markTasks(runId, batch),
        () => undefined,
      ).catch((err: unknown) => {
        writeError ??= err;
      });
    }
    if (wait || !backgroundWrites) await writes;
    if (writeError) throw writeError;
  };

  /** Applies queued task retries: a node whose subtree is entirely finished is reset; any other is refused. */
  const applyRetries = async (): Promise<void> => {
    while (retryRequests.length) {
      const request = retryRequests.shift()!;
      if (!nodes.has(request.nodeId)) {
        Object.assign(request, { done: true, error: `task ${request.nodeId} not found` });
        continue;
      }
      const affected = subtree(index, request.nodeId);
      const busy = affected.filter((id) => !isTerminal(scheduler.state(id).status));
      if (busy.length) {
        Object.assign(request, { done: true, error: `cannot retry ${request.nodeId} while ${busy.join(', ')} ${busy.length > 1 ? 'are' : 'is'} not finished` });
        continue;
      }
      const renumbered = await control.resetTasks(
        runId,
        request.nodeId,
        affected.map((id) => ({ nodeId: id, generation: nodes.get(id)!.generation })),
      );
      for (const r of renumbered) {
        nodes.set(r.nodeId, { ...nodes.get(r.nodeId)!, generation: r.generation, attemptBase: r.attemptBase });
        results.delete(r.nodeId);
        failed.delete(r.nodeId);
      }
      scheduler.reset(affected);
      Object.assign(request, { done: true, resetNodeIds: affected });
    }
  };

  const historyIsLong = () => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength > (plan.continueAfterEvents ?? HISTORY_EVENTS_BEFORE_CONTINUE);
  };

  /**
   * Runs ready nodes until every node is finished (or, with failFast, until a failure has drained).
   * Returns 'continue-as-new' when the history grew long and the running nodes have drained.
   */
  const drive = async (): Promise<'done' | 'continue-as-new'> => {
    for (;;) {
      await applyRetries();
      const stopping = plan.failFast && failed.size > 0;
      const draining = !stopping && historyIsLong();
      let progressed = false;
      if (!stopping && !draining) {
        const step = scheduler.next(edgeTaken);
        progressed = step.start.length > 0 || step.skip.length > 0;
        for (const s of step.skip) {
          pending.push({ nodeId: s.nodeId, generation: nodes.get(s.nodeId)!.generation, status: 'skipped', skipReason: s.reason });
        }
        for (const id of step.start) {
          const node = nodes.get(id)!;
          if (!writtenOnce(node)) pending.push({ nodeId: id, generation: node.generation, status: 'queued' });
        }
        await flush(false);
        for (const id of step.start) launch(id);
        // Nodes decided inside the workflow (approvals waiting, decisions) may have queued mirror writes.
        await flush(false);
      }
      if (!running.size) {
        if (stopping) {
          const { notStarted } = scheduler.cancelRemaining();
          for (const id of notStarted) pending.push({ nodeId: id, generation: nodes.get(id)!.generation, status: 'cancelled' });
          return 'done';
        }
        if (scheduler.finished) return 'done';
        if (draining) return 'continue-as-new';
        // Nodes decided inside the workflow (decisions) finish at once: schedule what they unblocked.
        if (progressed) continue;
        throw ApplicationFailure.nonRetryable('no node is running or ready, yet the run is unfinished', 'SchedulerStuck');
      }
      await Promise.race([...[...running.values()].map((r) => r.done), wake]);
      wake = new Trigger<void>();
    }
  };

  upsertSearchAttributes([{ key: SearchAttr.status, value: 'running' }]);
  let status: RunOutcome;
  let failedNodeIds: string[];
  try {
    await control.markRunStarted(runId);
    for (;;) {
      if ((await drive()) === 'continue-as-new') {
        await flush();
        return await continueAsNew<typeof runWorkflow>({ runId, resume: true });
      }
      await flush();
      status = scheduler.outcome();
      failedNodeIds = [...failed].sort();
      await control.finishRun(runId, status, failedNodeIds.length ? `failed nodes: ${failedNodeIds.join(', ')}` : undefined);
      // A retry that arrived while the run was finishing reopens it.
      if (!retryRequests.length) break;
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    for (const r of retryRequests.splice(0)) Object.assign(r, { done: true, error: 'the run was cancelled' });
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

  upsertSearchAttributes([{ key: SearchAttr.status, value: status }]);
  if (status === 'failed' && failedNodeIds.length === 0) {
    throw ApplicationFailure.nonRetryable('run failed without a failed node', 'RunInvariantError');
  }
  return { runId, status, failedNodeIds };
}
