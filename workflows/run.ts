// The run workflow: walks one run's DAG. Scheduling decisions live in src/dag (pure, unit-tested) and the parts
// of the loop in ./engine (each with its own state); everything with I/O is an activity. Only ids and storage
// references pass through history.
// Histories of representative runs are committed under test/replay/histories and replayed in CI: a change to the
// commands this code issues must be guarded with patched('<change-id>') so running executions keep replaying.
import {
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  isCancellation,
  patched,
  setHandler,
  sleep,
  TemporalFailure,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { RunOutcome } from '../src/dag/scheduler';
import { SearchAttr } from '../src/temporal/names';
import { control, failureMessage } from './engine/activity-options';
import { Approvals } from './engine/approvals';
import { MirrorQueue } from './engine/mirror-queue';
import { RunPause } from './engine/pause';
import { RunGraph } from './engine/run-graph';
import { SchedulingLoop } from './engine/scheduling-loop';
import { TaskRetries } from './engine/task-retries';
import { progressQuery } from './messages';
import type { RunWorkflowInput, RunWorkflowResult } from './messages';

export { NODE_HEARTBEAT_TIMEOUT_SECONDS } from './engine/activity-options';
export { HISTORY_EVENTS_BEFORE_CONTINUE } from './engine/scheduling-loop';

export async function runWorkflow({ runId, resume, deadline, paused }: RunWorkflowInput): Promise<RunWorkflowResult> {
  // Update handlers first: an update may arrive with the workflow's first task.
  const retries = new TaskRetries();
  const approvals = new Approvals();
  const pause = new RunPause(runId, retries, paused ?? false);

  const graph = new RunGraph(await control.loadRunPlan(runId, resume));
  setHandler(progressQuery, () => graph.progress());
  const mirror = new MirrorQueue(runId);
  const loop = new SchedulingLoop(runId, graph, mirror, approvals, retries, pause);

  upsertSearchAttributes([{ key: SearchAttr.status, value: 'running' }]);
  // settings.timeoutSeconds: a durable timer (in a scope of its own, cancelled when the run ends first) halts the loop.
  const timeoutSeconds = graph.plan.timeoutSeconds;
  const runDeadline = deadline ?? (timeoutSeconds ? Date.now() + timeoutSeconds * 1000 : undefined);
  let timedOut = false;
  const timer = runDeadline === undefined ? undefined : new CancellationScope();
  void timer
    ?.run(() => sleep(Math.max(0, runDeadline! - Date.now())))
    .then(
      () => {
        timedOut = true;
        loop.halt();
      },
      () => undefined,
    );
  let status: RunOutcome | 'timed_out';
  let failedNodeIds: string[];
  try {
    await control.markRunStarted(runId);
    for (;;) {
      if ((await loop.drive()) === 'continue-as-new') {
        await mirror.flush();
        return await continueAsNew<typeof runWorkflow>({
          runId,
          resume: true,
          ...(runDeadline !== undefined ? { deadline: runDeadline } : {}),
          ...(pause.paused ? { paused: true } : {}),
        });
      }
      await mirror.flush();
      pause.finish();
      status = timedOut ? 'timed_out' : graph.scheduler.outcome();
      failedNodeIds = graph.failedNodeIds();
      await control.finishRun(
        runId,
        status,
        status === 'timed_out'
          ? `the run timed out after ${timeoutSeconds} s (settings.timeoutSeconds)`
          : finishReason(status, failedNodeIds),
      );
      // A retry that arrived while the run was finishing reopens it.
      if (!retries.waiting) break;
    }
  } catch (err) {
    if (!isCancellation(err)) {
      // Only a TemporalFailure fails the workflow (anything else fails the workflow task, which Temporal retries):
      // the mirror and the search attribute say so before it does. Executions from before this replay as they ran.
      if (err instanceof TemporalFailure && patched(FINISH_MIRROR_ON_FAILURE)) {
        const reason = failureReason(err);
        retries.rejectAll(reason);
        // Not flushed: a failed mirror write may be the failure. finishRun closes the tasks left open.
        await control.finishRun(runId, 'failed', reason).catch(() => undefined);
        upsertSearchAttributes([{ key: SearchAttr.status, value: 'failed' }]);
      }
      throw err;
    }
    retries.rejectAll('the run was cancelled');
    await CancellationScope.nonCancellable(async () => {
      await loop.cancelAll();
      // Exit nodes run after a cancel too (graphs without them issue no command here: older histories replay). The
      // retry trigger the loop waits on belonged to the cancelled scope: a new one, in this scope.
      if (graph.exitNodes.size) {
        retries.rearm();
        await loop.drive();
      }
      await mirror.flush();
      await control.finishRun(runId, 'cancelled');
      upsertSearchAttributes([{ key: SearchAttr.status, value: 'cancelled' }]);
    });
    throw err;
  }

  timer?.cancel();
  upsertSearchAttributes([{ key: SearchAttr.status, value: status }]);
  if (status === 'failed' && failedNodeIds.length === 0) {
    throw ApplicationFailure.nonRetryable(RUN_INVARIANT_MESSAGE, 'RunInvariantError');
  }
  return { runId, status, failedNodeIds };
}

/** Whatever fails the run workflow outside node logic is recorded on the run before the workflow fails. */
const FINISH_MIRROR_ON_FAILURE = 'finish-mirror-on-failure';
const RUN_INVARIANT_MESSAGE = 'run failed without a failed node';

/** Why the workflow is failing, from the innermost failure (an activity failure wraps the activity's error). */
function failureReason(err: TemporalFailure): string {
  let inner: unknown = err;
  while (inner instanceof TemporalFailure && inner.cause) inner = inner.cause;
  const type = inner instanceof ApplicationFailure && inner.type ? `${inner.type}: ` : '';
  return `the run workflow failed: ${type}${failureMessage(err)}`;
}

/** The reason finishRun records; a failed run with no failed node says what the workflow is about to fail with. */
function finishReason(status: RunOutcome, failedNodeIds: string[]): string | undefined {
  if (failedNodeIds.length) return `failed nodes: ${failedNodeIds.join(', ')}`;
  if (status === 'failed' && patched(FINISH_MIRROR_ON_FAILURE))
    return `the run workflow failed: RunInvariantError: ${RUN_INVARIANT_MESSAGE}`;
  return undefined;
}
