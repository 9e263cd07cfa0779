// The reconciler's Temporal Schedule (see workflows/reconcile.ts): created by every worker that serves the run task
// queue when it starts, idempotently, one per run task queue.
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Client, ScheduleUpdateOptions } from '@temporalio/client';
import { reconcileRuns } from '../../workflows/reconcile';
import type { Config } from '../config';

type ScheduleConfig = Pick<Config, 'RECONCILE_INTERVAL_SECONDS' | 'RUN_TASK_QUEUE' | 'TASK_QUEUE_PREFIX'>;

export function reconcileScheduleId(config: ScheduleConfig): string {
  return `emboflow-reconcile-${config.TASK_QUEUE_PREFIX}${config.RUN_TASK_QUEUE}`;
}

/**
 * A pass no worker picks up within this fails the schedule's action, and the schedule pauses itself
 * (pauseOnFailure): a deployment whose workers are gone stops costing the server a start every interval. The
 * next worker to start resumes it. Passes themselves never fail (a failed pass returns its error).
 */
const PASS_TIMEOUT = '10m';
/** The note Temporal leaves on a schedule it paused after a failed action; a note an operator wrote is left alone. */
const PAUSED_BY_FAILURE = 'paused due to workflow';

function scheduleOptions(config: ScheduleConfig): Omit<ScheduleUpdateOptions, 'state'> {
  return {
    spec: { intervals: [{ every: `${config.RECONCILE_INTERVAL_SECONDS}s` }] },
    action: {
      type: 'startWorkflow',
      workflowType: reconcileRuns,
      taskQueue: config.TASK_QUEUE_PREFIX + config.RUN_TASK_QUEUE,
      workflowExecutionTimeout: PASS_TIMEOUT,
      staticSummary: 'EmboFlow reconciler: the run mirror follows Temporal',
    },
    // One pass at a time; a pass missed while the deployment was down is not made up later.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m', pauseOnFailure: true },
  };
}

/**
 * Creates the schedule, or brings an existing one to this worker's settings (and resumes it if Temporal paused it
 * for lack of a worker). Nothing when RECONCILE_INTERVAL_SECONDS is 0. Answers the schedule id.
 */
export async function ensureReconcileSchedule(client: Client, config: ScheduleConfig): Promise<string | undefined> {
  if (!config.RECONCILE_INTERVAL_SECONDS) return undefined;
  const scheduleId = reconcileScheduleId(config);
  const options = scheduleOptions(config);
  try {
    await client.schedule.create({ scheduleId, ...options });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((prev) => {
      const pausedByFailure = prev.state.paused && !!prev.state.note?.startsWith(PAUSED_BY_FAILURE);
      return {
        ...prev,
        ...options,
        state: pausedByFailure ? { paused: false, note: 'resumed by a worker starting' } : prev.state,
      };
    });
  }
  return scheduleId;
}

/** Removes the schedule (a test deployment going away); a schedule already gone is fine. */
export async function deleteReconcileSchedule(client: Client, config: ScheduleConfig): Promise<void> {
  try {
    await client.schedule.getHandle(reconcileScheduleId(config)).delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
}
