// A trigger's launcher: what a schedule's action, or a catalog event, starts. It inserts the run (an activity: the
// trigger's template, the event's subject) and runs the run workflow as its child, so the launcher lasts as long as
// the run: a schedule's overlap policy then sees a scheduled run still going, "cancel other" cancels it (its exit
// nodes run) and "terminate other" terminates it. One launcher per scheduled time or per event (its workflow id),
// so a run per event, whatever retries.
import {
  ChildWorkflowFailure,
  executeChild,
  isCancellation,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { TriggerContract } from '../src/engine/contract';
import { runSearchAttributes, runWorkflowId } from '../src/temporal/names';
import { CONTROL_OPTIONS } from './engine/activity-options';
import { runWorkflow } from './run';

export interface TriggeredRunInput {
  triggerId: string;
  eventId?: string;
}

export interface TriggeredRunResult {
  runId: string;
  status: string;
}

const { createTriggeredRun } = proxyActivities<TriggerContract>({
  startToCloseTimeout: CONTROL_OPTIONS.startToCloseTimeout,
  retry: { ...CONTROL_OPTIONS.retry, maximumInterval: '1m' },
});

/** The time a schedule meant this start for: Temporal's search attribute, else the suffix it puts on the id. */
function scheduledAt(): number | undefined {
  const info = workflowInfo();
  const attr = (info.searchAttributes as Record<string, unknown[] | undefined> | undefined)?.[
    'TemporalScheduledStartTime'
  ]?.[0];
  const fromAttr = attr instanceof Date ? attr.getTime() : typeof attr === 'string' ? Date.parse(attr) : NaN;
  if (Number.isFinite(fromAttr)) return fromAttr;
  const suffix = /-(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$/.exec(info.workflowId)?.[1];
  return suffix ? Date.parse(suffix) : undefined;
}

export async function triggeredRunWorkflow({ triggerId, eventId }: TriggeredRunInput): Promise<TriggeredRunResult> {
  const info = workflowInfo();
  const at = eventId ? undefined : scheduledAt();
  const run = await createTriggeredRun({
    triggerId,
    launcherId: info.workflowId,
    ...(eventId ? { eventId } : {}),
    ...(at !== undefined ? { scheduledAt: at } : {}),
  });
  try {
    const result = await executeChild(runWorkflow, {
      workflowId: runWorkflowId(run.runId),
      taskQueue: info.taskQueue,
      args: [{ runId: run.runId }],
      staticSummary: run.summary,
      ...(run.priority ? { priority: { priorityKey: run.priority } } : {}),
      typedSearchAttributes: runSearchAttributes(run, 'pending'),
    });
    return { runId: run.runId, status: result.status };
  } catch (err) {
    // The run's own failure is recorded on the run; the launcher did its job. A cancel of the launcher is its own.
    if (err instanceof ChildWorkflowFailure && !isCancellation(err)) return { runId: run.runId, status: 'failed' };
    throw err;
  }
}
