// What a workflow execution cost, read back from Temporal itself (the server's clock and history), so EmboFlow
// and the raw-Temporal baseline are measured the same way.
import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import { withTimeout } from './stats';

export interface ExecutionMetrics {
  workflowId: string;
  status: string;
  /** Workflow start to close, server clock. */
  makespanMs: number;
  /** Executions of the workflow id (more than one when it continued as new). */
  executions: number;
  /** The largest single execution's history (Temporal's limits are per execution). */
  historyLength: number;
  /** Events over all executions. */
  historyEventsTotal: number;
  historySizeBytes?: number;
  markers: number;
  /** Server time of every ActivityTaskCompleted event, in history order (node completions; local activities are markers). */
  activityCompletedAt: number[];
  /** Why it did not complete: termination reason, last workflow-task failure, or the workflow's failure. */
  failure?: string;
}

/** A workflow task that has failed this many times in a row is stuck (Temporal retries it forever). */
const STUCK_WORKFLOW_TASK_ATTEMPTS = 5;
/**
 * No pending activity or child workflow and no history event but workflow-task heartbeats for this long: a local activity is not
 * returning (the run workflow's control calls are local activities retried without end). Longer than their 30 s
 * start-to-close timeout, so at least one attempt has timed out.
 */
const STALL_MS = 45_000;

/**
 * Waits (bounded) for the workflow to close. It is terminated, and reported with the evidence, when it runs out of
 * time or when its workflow task keeps failing (for example a command over a size limit): that never heals.
 */
export async function awaitExecution(client: Client, workflowId: string, timeoutMs: number): Promise<ExecutionMetrics> {
  const handle = client.workflow.getHandle(workflowId);
  const deadline = Date.now() + timeoutMs;
  let abort: string | undefined;
  const closed = handle.result().then(
    () => undefined,
    () => undefined,
  );
  while (!abort) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      abort = `no result within ${Math.round(timeoutMs / 1000)} s`;
      break;
    }
    const done = await withTimeout(closed, Math.min(remaining, 5_000), 'poll').then(
      () => true,
      () => false,
    );
    if (done) break;
    const d = await handle.describe();
    const attempt = d.raw.pendingWorkflowTask?.attempt ?? 0;
    if (attempt >= STUCK_WORKFLOW_TASK_ATTEMPTS) abort = `its workflow task failed ${attempt} times in a row`;
    // A child workflow (a map node's items) is progress of its own: its activities are pending there.
    else if (!d.raw.pendingActivities?.length && !d.raw.pendingChildren?.length) {
      const quietMs = await msSinceLastProgress(client, workflowId);
      if (quietMs >= STALL_MS)
        abort = `stalled: no pending activity and no history event other than workflow-task heartbeats for ${Math.round(quietMs / 1000)} s (a local activity is not returning)`;
    }
  }
  if (abort) {
    // Read the evidence first, then terminate, so the report names what was stuck.
    const m = await executionMetrics(client, workflowId);
    await handle.terminate(`bench: ${abort}`).catch(() => undefined);
    m.failure = `${abort} (terminated by the bench)${m.failure ? `; ${m.failure}` : ''}`;
    return m;
  }
  return executionMetrics(client, workflowId);
}

/** Milliseconds since the last history event that was not a workflow task being scheduled, started or completed. */
async function msSinceLastProgress(client: Client, workflowId: string): Promise<number> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (
      e.workflowTaskScheduledEventAttributes ||
      e.workflowTaskStartedEventAttributes ||
      e.workflowTaskCompletedEventAttributes
    )
      continue;
    return Date.now() - tsToMs(e.eventTime);
  }
  return 0;
}

/**
 * A workflow that continued as new is one logical run over several executions: each is read (following
 * `continuedExecutionRunId` back from the latest) and they are summed, except `historyLength` and
 * `historySizeBytes`, which are the largest single execution's (what Temporal's per-execution limits apply to).
 */
export async function executionMetrics(client: Client, workflowId: string): Promise<ExecutionMetrics> {
  const latest = await client.workflow.getHandle(workflowId).describe();
  const executions: Array<{ d: WorkflowExecutionDescription; events: temporal.api.history.v1.IHistoryEvent[] }> = [];
  let runId: string | undefined = latest.runId;
  for (let i = 0; runId && i < 100; i++) {
    const handle: WorkflowHandle = client.workflow.getHandle(workflowId, runId);
    const d: WorkflowExecutionDescription = i === 0 ? latest : await handle.describe();
    const events: temporal.api.history.v1.IHistoryEvent[] = (await handle.fetchHistory()).events ?? [];
    executions.unshift({ d, events });
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  const activityCompletedAt: number[] = [];
  let markers = 0;
  let lastTaskFailure: string | undefined;
  let terminated: string | undefined;
  let failed: string | undefined;
  for (const e of executions.flatMap((x) => x.events)) {
    if (e.activityTaskCompletedEventAttributes) activityCompletedAt.push(tsToMs(e.eventTime));
    else if (e.markerRecordedEventAttributes) markers++;
    else if (e.workflowTaskFailedEventAttributes) {
      const a = e.workflowTaskFailedEventAttributes;
      lastTaskFailure = `workflow task failed (cause ${a.cause ?? '?'}): ${a.failure?.message ?? ''}`.trim();
    } else if (e.workflowExecutionTerminatedEventAttributes)
      terminated = `terminated: ${e.workflowExecutionTerminatedEventAttributes.reason ?? ''}`;
    else if (e.workflowExecutionFailedEventAttributes)
      failed = `failed: ${e.workflowExecutionFailedEventAttributes.failure?.message ?? ''}`;
  }
  const d = latest;
  const start = executions[0]!.d.startTime.getTime();
  const close = d.closeTime?.getTime() ?? Date.now();
  return {
    workflowId,
    status: d.status.name,
    makespanMs: close - start,
    executions: executions.length,
    historyLength: Math.max(...executions.map((x) => x.d.historyLength)),
    historyEventsTotal: executions.reduce((n, x) => n + x.d.historyLength, 0),
    historySizeBytes: Math.max(...executions.map((x) => x.d.historySize ?? 0)),
    markers,
    activityCompletedAt,
    failure:
      d.status.name === 'COMPLETED'
        ? undefined
        : [terminated, failed, lastTaskFailure].filter(Boolean).join('; ') || undefined,
  };
}
