// The notify workflow: one run end, POSTed to each endpoint of the run's workspace by an activity that Temporal
// retries with backoff. Started (idempotently, by an id derived from the run and its finish) by whatever recorded
// the run's end: the run workflow's finishRun or the reconciler (activities/notify.ts).
import { proxyActivities } from '@temporalio/workflow';
import { NOTIFY_MAX_ATTEMPTS, NOTIFY_REQUEST_TIMEOUT_MS, NOTIFY_RETRY } from '../src/domain/notifications';
import { NOTIFICATION_REFUSED } from '../src/engine/notify';
import type { NotifyActivities, NotifyRunInput } from '../src/engine/notify';

const { deliverRunNotification } = proxyActivities<NotifyActivities>({
  // The POST's own timeout plus reading the run, the endpoint and its secret.
  startToCloseTimeout: NOTIFY_REQUEST_TIMEOUT_MS + 20_000,
  retry: {
    initialInterval: NOTIFY_RETRY.initialIntervalMs,
    backoffCoefficient: NOTIFY_RETRY.backoffCoefficient,
    maximumInterval: NOTIFY_RETRY.maximumIntervalMs,
    maximumAttempts: NOTIFY_MAX_ATTEMPTS,
    nonRetryableErrorTypes: [NOTIFICATION_REFUSED],
  },
});

/** Delivers to every endpoint independently: one that refuses or is down does not hold back the others. */
export async function notifyRunFinished(input: NotifyRunInput): Promise<{ delivered: number; failed: number }> {
  const results = await Promise.allSettled(
    input.endpointIds.map((endpointId) =>
      deliverRunNotification({ runId: input.runId, finishedAtMs: input.finishedAtMs, endpointId }),
    ),
  );
  const delivered = results.filter((r) => r.status === 'fulfilled' && r.value === 'delivered').length;
  return { delivered, failed: results.filter((r) => r.status === 'rejected').length };
}
