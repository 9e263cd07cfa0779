// How a closed Temporal execution reads in the run mirror: the run's final status and the reason shown with it.
// Pure: the reconciler (activities/reconcile.ts) reads the execution and its close event, this decides.
import type { WorkflowExecutionStatusName } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { RunStatus } from '../domain/run';

export interface MirrorEnd {
  status: RunStatus;
  /** The run's errorMessage, and the errorMessage of each task the end closes. */
  reason?: string;
}

/** The execution's configured timeouts and how long its last run ran: which timeout a TIMED_OUT was. */
export interface ExecutionTimeouts {
  executionTimeoutMs?: number;
  runTimeoutMs?: number;
  ranForMs?: number;
}

type CloseEvent = temporal.api.history.v1.IHistoryEvent;
type Failure = temporal.api.failure.v1.IFailure;

const RUN_END_STATUSES: readonly RunStatus[] = ['success', 'failed', 'cancelled', 'timed_out'];

/**
 * The mirror's end for an execution that closed; undefined while it is open (running, paused) or when it continued
 * as new (its successor decides). A termination is an operator stopping the run: `cancelled`, with who and why. A
 * timeout or a failure of the workflow itself: `failed`. A completed execution ends as its result says.
 */
export function closedRunOutcome(
  status: WorkflowExecutionStatusName,
  closeEvent: CloseEvent | undefined,
  timeouts: ExecutionTimeouts = {},
): MirrorEnd | undefined {
  switch (status) {
    case 'COMPLETED': {
      const result = decodeResult(closeEvent?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0]);
      const failed = Array.isArray(result?.failedNodeIds) ? (result.failedNodeIds as string[]) : [];
      const outcome = RUN_END_STATUSES.find((s) => s === result?.status) ?? (failed.length ? 'failed' : 'success');
      return { status: outcome, ...(failed.length ? { reason: `failed nodes: ${failed.join(', ')}` } : {}) };
    }
    case 'FAILED':
      return {
        status: 'failed',
        reason: `the run workflow failed in Temporal: ${describeFailure(closeEvent?.workflowExecutionFailedEventAttributes?.failure)}`,
      };
    case 'TIMED_OUT':
      return { status: 'failed', reason: `timed out in Temporal: ${whichTimeout(timeouts)}` };
    case 'TERMINATED': {
      const attrs = closeEvent?.workflowExecutionTerminatedEventAttributes;
      return {
        status: 'cancelled',
        reason: `terminated in Temporal: ${attrs?.reason || 'no reason given'} (by ${attrs?.identity || 'an unknown identity'})`,
      };
    }
    case 'CANCELLED':
      return { status: 'cancelled', reason: 'cancelled in Temporal' };
    default:
      return undefined;
  }
}

function decodeResult(payload: temporal.api.common.v1.IPayload | undefined): Record<string, unknown> | undefined {
  if (!payload) return undefined;
  try {
    const value = defaultPayloadConverter.fromPayload<unknown>(payload);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    // A result this code cannot read still ends the run: as a completion without failed nodes.
    return undefined;
  }
}

/** The innermost failure says what went wrong (an activity failure wraps the activity's own error). */
function describeFailure(failure: Failure | null | undefined): string {
  let f = failure;
  while (f?.cause) f = f.cause;
  if (!f) return 'no failure recorded';
  const type = f.applicationFailureInfo?.type;
  return `${type ? `${type}: ` : ''}${f.message || 'no message'}`;
}

function whichTimeout({ executionTimeoutMs, runTimeoutMs, ranForMs }: ExecutionTimeouts): string {
  const run = `the workflow run timeout (${seconds(runTimeoutMs ?? 0)}) passed`;
  const execution = `the workflow execution timeout (${seconds(executionTimeoutMs ?? 0)}) passed`;
  if (!executionTimeoutMs) return runTimeoutMs ? run : 'a workflow timeout passed';
  // The server fills an unset run timeout with the execution timeout: only a shorter one, reached by the last run
  // (within a second), is the one that fired.
  const runFired =
    !!runTimeoutMs && runTimeoutMs < executionTimeoutMs && (ranForMs === undefined || ranForMs >= runTimeoutMs - 1000);
  return runFired ? run : execution;
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10}s`;
