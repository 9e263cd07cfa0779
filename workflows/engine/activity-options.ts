// How the run workflow calls its activities: the control activities (MongoDB only) and each node's activity
// options (timeouts, heartbeats, retry budget). Pure configuration; no state.
import { ActivityCancellationType, proxyLocalActivities } from '@temporalio/workflow';
import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_ERRORS } from '../../src/engine/contract';
import type { ActivityContract } from '../../src/engine/contract';
import type { RunNode } from './run-graph';

// Control activities only touch MongoDB. Local activities: one marker event each instead of three history
// events and a task-queue round trip; retried until MongoDB answers (it may be down for a while).
export const CONTROL_OPTIONS = {
  startToCloseTimeout: '30s',
  localRetryThreshold: '10s',
  retry: {
    initialInterval: '200ms',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    nonRetryableErrorTypes: NON_RETRYABLE_ERRORS,
  },
} satisfies LocalActivityOptions;
export const control = proxyLocalActivities<ActivityContract>(CONTROL_OPTIONS);

/**
 * Room, on top of the container's own timeout, for staging inputs and uploading outputs: gigabytes at tens of MB/s
 * take minutes to hours. A dead worker is found by the heartbeat timeout, which transfers keep feeding; this
 * bound only stops an attempt that moves bytes forever.
 */
const STAGING_MARGIN_SECONDS = 6 * 3600;
/**
 * Attempts Temporal may make beyond the node's own budget: a worker that dies mid-container costs an attempt (a
 * heartbeat timeout) but not a container failure; the executor enforces the node's budget itself.
 */
export const CRASH_ALLOWANCE = 10;
/** Docker activities heartbeat every 2 s; a cancellation reaches them within this (the SDK throttles to 80%). */
export const NODE_HEARTBEAT_TIMEOUT_SECONDS = 10;

export function nodeActivityOptions(node: RunNode): ActivityOptions {
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

/** The message worth showing for a node's failure: an ActivityFailure wraps the activity's own, useful one. */
export function failureMessage(err: unknown): string {
  let e: unknown = err;
  while (e && typeof e === 'object' && 'cause' in e && (e as { cause?: unknown }).cause)
    e = (e as { cause: unknown }).cause;
  return e instanceof Error ? e.message : String(e);
}
