// How a closed Temporal execution reads in the run mirror: status and reason from the close status and close event.
import { defaultPayloadConverter } from '@temporalio/common';
import { closedRunOutcome } from '../../src/temporal/closed-runs';

const completed = (result: unknown) => ({
  workflowExecutionCompletedEventAttributes: { result: { payloads: [defaultPayloadConverter.toPayload(result)] } },
});

test('a termination is an operator stopping the run: cancelled, with the reason and who gave it', () => {
  const event = { workflowExecutionTerminatedEventAttributes: { reason: 'operator says stop', identity: 'alice@ops' } };
  expect(closedRunOutcome('TERMINATED', event)).toEqual({
    status: 'cancelled',
    reason: 'terminated in Temporal: operator says stop (by alice@ops)',
  });
  expect(closedRunOutcome('TERMINATED', { workflowExecutionTerminatedEventAttributes: {} })).toEqual({
    status: 'cancelled',
    reason: 'terminated in Temporal: no reason given (by an unknown identity)',
  });
});

test('a timeout fails the run and says which timeout passed', () => {
  expect(closedRunOutcome('TIMED_OUT', {}, { executionTimeoutMs: 6000, runTimeoutMs: 6000, ranForMs: 6010 })).toEqual({
    status: 'failed',
    reason: 'timed out in Temporal: the workflow execution timeout (6s) passed',
  });
  expect(closedRunOutcome('TIMED_OUT', {}, { executionTimeoutMs: 60_000, runTimeoutMs: 2500, ranForMs: 2500 })).toEqual(
    { status: 'failed', reason: 'timed out in Temporal: the workflow run timeout (2.5s) passed' },
  );
  // The run timeout was not reached: the execution timeout (spanning the continue-as-new chain) was.
  expect(
    closedRunOutcome('TIMED_OUT', {}, { executionTimeoutMs: 60_000, runTimeoutMs: 30_000, ranForMs: 4000 }),
  ).toEqual({ status: 'failed', reason: 'timed out in Temporal: the workflow execution timeout (60s) passed' });
  expect(closedRunOutcome('TIMED_OUT', undefined)).toEqual({
    status: 'failed',
    reason: 'timed out in Temporal: a workflow timeout passed',
  });
});

test("a failed workflow fails the run with the innermost failure's type and message", () => {
  const event = {
    workflowExecutionFailedEventAttributes: {
      failure: {
        message: 'Activity task failed',
        cause: { message: 'run run_1 not found', applicationFailureInfo: { type: 'RunNotFoundError' } },
      },
    },
  };
  expect(closedRunOutcome('FAILED', event)).toEqual({
    status: 'failed',
    reason: 'the run workflow failed in Temporal: RunNotFoundError: run run_1 not found',
  });
  expect(closedRunOutcome('FAILED', undefined)?.reason).toBe(
    'the run workflow failed in Temporal: no failure recorded',
  );
});

test('a completed execution ends the run as its result says', () => {
  expect(closedRunOutcome('COMPLETED', completed({ runId: 'r', status: 'success', failedNodeIds: [] }))).toEqual({
    status: 'success',
  });
  expect(closedRunOutcome('COMPLETED', completed({ runId: 'r', status: 'failed', failedNodeIds: ['b', 'c'] }))).toEqual(
    { status: 'failed', reason: 'failed nodes: b, c' },
  );
  // A result this code cannot read (no payload, another shape) still ends the run.
  expect(closedRunOutcome('COMPLETED', {})).toEqual({ status: 'success' });
  expect(closedRunOutcome('COMPLETED', completed('done'))).toEqual({ status: 'success' });
});

test('a cancelled execution is a cancelled run', () => {
  expect(closedRunOutcome('CANCELLED', {})).toEqual({ status: 'cancelled', reason: 'cancelled in Temporal' });
});

test.each(['RUNNING', 'PAUSED', 'CONTINUED_AS_NEW', 'UNSPECIFIED', 'UNKNOWN'] as const)(
  'an execution that is %s has not ended the run',
  (status) => {
    expect(closedRunOutcome(status, {})).toBeUndefined();
  },
);
