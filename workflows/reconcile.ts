// The reconcile workflow: one pass of the reconciler (activities/reconcile.ts), which brings the run mirror in line
// with Temporal. A Temporal Schedule the worker creates (src/temporal/reconcile-schedule.ts) starts it every
// RECONCILE_INTERVAL_SECONDS, so a run whose execution closed without finishing its mirror converges within two
// intervals. A Schedule rather than a timer loop in the worker or a workflow of our own: one pass at a time for the
// whole deployment however many workers run (overlap SKIP), each pass visible in the Web UI, and the schedule can
// be paused there.
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ReconcileActivities, ReconcilePass } from '../src/engine/reconcile';
import { failureMessage } from './engine/activity-options';

const { reconcileRunMirrors } = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '30s',
  retry: { maximumAttempts: 2 },
});

export async function reconcileRuns(): Promise<ReconcilePass> {
  // The schedule hands each pass the previous one's result: where the previous pass stopped.
  const previous = workflowInfo().lastResult as ReconcilePass | undefined;
  try {
    return await reconcileRunMirrors({ after: previous?.cursor });
  } catch (err) {
    // Not a workflow failure: that would pause the schedule (pauseOnFailure is there for passes no worker takes).
    return {
      ...(previous?.cursor ? { cursor: previous.cursor } : {}),
      checked: 0,
      closed: 0,
      reopened: 0,
      containersRemoved: 0,
      error: failureMessage(err),
    };
  }
}
