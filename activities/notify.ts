// Run-end notifications, worker side. Whatever records a run's end (the run workflow's finishRun, the reconciler)
// calls notifyRunEnd, which starts the notify workflow for that end (workflows/notify.ts); its activity POSTs the
// signed event to one endpoint and records the attempt. The event's body and the secret stay inside the activity.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import { NotificationDeliveryRepository, NotificationEndpointRepository } from '../src/db/notifications';
import type { RunStore } from '../src/db/runs';
import {
  deliveryId,
  deliveryVerdict,
  NOTIFY_MAX_ATTEMPTS,
  NOTIFY_REQUEST_TIMEOUT_MS,
} from '../src/domain/notifications';
import type { RunFinishedEvent } from '../src/domain/notifications';
import { TERMINAL_RUN_STATUSES } from '../src/domain/run';
import { NOTIFICATION_REFUSED } from '../src/engine/notify';
import type { NotifyActivities } from '../src/engine/notify';
import type { Logger } from '../src/logger';
import type { SecretStore } from '../src/services/secrets';
import { SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from '../src/services/webhook-signature';
import { notifyWorkflowId } from '../src/temporal/names';
import { notifyRunFinished } from '../workflows/notify';

export interface NotifyDeps {
  db: Db;
  runs: RunStore;
  temporal: Client;
  /** The (prefixed) run task queue: the notify workflow and its activity run there. */
  runTaskQueue: string;
  /** Reveals endpoints' signing secrets; without EMBOFLOW_SECRET_KEY on the worker, nothing can be signed. */
  secrets?: SecretStore;
  logger: Logger;
}

/** Records of a run's end that start no notification when Temporal refuses: a finish waits on them this often. */
const START_ATTEMPTS = 5;

/**
 * Starts the notify workflow of the run's recorded end when its workspace has endpoints. Idempotent: the workflow id
 * comes from the run and its finishedAt, and a closed one with that id is not started again.
 */
export function runEndNotifier(deps: Pick<NotifyDeps, 'db' | 'runs' | 'temporal' | 'runTaskQueue'>) {
  const endpoints = new NotificationEndpointRepository(deps.db);
  return async (runId: string): Promise<void> => {
    const run = await deps.runs.getRun(runId);
    if (!run?.finishedAt || !TERMINAL_RUN_STATUSES.includes(run.status)) return;
    const endpointIds = await endpoints.activeIds(run.workspaceId);
    if (!endpointIds.length) return;
    const finishedAtMs = run.finishedAt.getTime();
    try {
      await deps.temporal.workflow.start(notifyRunFinished, {
        taskQueue: deps.runTaskQueue,
        workflowId: notifyWorkflowId(runId, finishedAtMs),
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        args: [{ runId, finishedAtMs, endpointIds }],
        staticSummary: `EmboFlow run ${runId} ended ${run.status}: notify ${endpointIds.length} endpoint(s)`,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  };
}

/**
 * notifyRunEnd for a mirror write inside an activity: a failure to start fails the attempt (retried), but only for
 * the first few, so an unreachable notification path never keeps a run from being recorded as ended.
 */
export async function notifyFromActivity(
  notify: ((runId: string) => Promise<void>) | undefined,
  runId: string,
  logger: Logger,
): Promise<void> {
  if (!notify) return;
  try {
    await notify(runId);
  } catch (err) {
    let attempt = START_ATTEMPTS;
    try {
      attempt = Context.current().info.attempt;
    } catch {
      // Outside an activity (tools, tests): no retry to come.
    }
    if (attempt < START_ATTEMPTS) throw err;
    logger.error({ err, runId }, 'could not start the run-end notification; the run end is recorded without it');
  }
}

/** Why a POST got no answer, without the URL (it is the endpoint's to show, not every log's). */
function unreachable(err: unknown): string {
  const e = err as Error & { cause?: { code?: string } };
  if (e.name === 'TimeoutError') return `timed out after ${NOTIFY_REQUEST_TIMEOUT_MS} ms`;
  return e.cause?.code ?? e.message;
}

export function createNotifyActivities(deps: NotifyDeps): NotifyActivities {
  const endpoints = new NotificationEndpointRepository(deps.db);
  const deliveries = new NotificationDeliveryRepository(deps.db);
  return {
    async deliverRunNotification({ runId, finishedAtMs, endpointId }) {
      const attempt = Context.current().info.attempt;
      const endpoint = await endpoints.get(endpointId);
      if (!endpoint) return 'endpoint_gone';
      const run = await deps.runs.getRun(runId);
      if (!run) return 'run_gone';
      const record = (status: 'retrying' | 'delivered' | 'failed', outcome: { statusCode?: number; error?: string }) =>
        deliveries.recordAttempt({
          _id: deliveryId(endpointId, runId, finishedAtMs),
          workspaceId: endpoint.workspaceId,
          endpointId,
          runId,
          runStatus: run.status,
          attempts: attempt,
          status,
          ...outcome,
        });
      if (!deps.secrets?.box.available) {
        await record('failed', { error: 'the worker has no EMBOFLOW_SECRET_KEY to sign with' });
        throw ApplicationFailure.nonRetryable('no EMBOFLOW_SECRET_KEY on the worker', NOTIFICATION_REFUSED);
      }
      const secret = await deps.secrets.reveal(endpoint.secretRef, {
        workspaceId: endpoint.workspaceId,
        ownerType: 'notification_endpoint',
        ownerId: endpoint._id,
      });
      const event: RunFinishedEvent = {
        event: 'run.finished',
        runId,
        workflowId: run.workflowDefinitionId,
        workspaceId: run.workspaceId,
        projectId: run.projectId,
        status: run.status,
        ...(run.errorMessage ? { errorMessage: run.errorMessage } : {}),
        startedAt: (run.startedAt ?? run.createdAt).toISOString(),
        finishedAt: new Date(finishedAtMs).toISOString(),
      };
      const body = JSON.stringify(event);
      const timestamp = String(Math.floor(Date.now() / 1000));
      let statusCode: number | undefined;
      let error: string | undefined;
      try {
        const res = await fetch(endpoint.url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'User-Agent': 'EmboFlow-Notifications',
            'X-Emboflow-Event': event.event,
            'X-Emboflow-Delivery': deliveryId(endpointId, runId, finishedAtMs),
            [TIMESTAMP_HEADER]: timestamp,
            [SIGNATURE_HEADER]: signWebhook(secret, timestamp, body),
          },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(NOTIFY_REQUEST_TIMEOUT_MS),
        });
        statusCode = res.status;
        await res.body?.cancel();
      } catch (err) {
        error = `no answer: ${unreachable(err)}`;
      }
      const verdict = statusCode === undefined ? 'retry' : deliveryVerdict(statusCode);
      if (verdict === 'delivered') {
        await record('delivered', { statusCode });
        return 'delivered';
      }
      const why = error ?? `the endpoint answered ${statusCode}`;
      const last = verdict === 'give_up' || attempt >= NOTIFY_MAX_ATTEMPTS;
      await record(last ? 'failed' : 'retrying', { statusCode, error: why });
      if (verdict === 'give_up') throw ApplicationFailure.nonRetryable(why, NOTIFICATION_REFUSED);
      throw ApplicationFailure.retryable(why, 'NotificationFailedError');
    },
  };
}
