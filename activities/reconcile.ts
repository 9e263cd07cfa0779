// The reconciler's pass: Temporal is the truth and the run mirror follows it. A run workflow finishes its own mirror
// whenever its code gets to run, but some ends never reach it: a terminate (CLI or Web UI), a workflow timeout, a
// failure before the workflow's own failure path, an execution lost with its server. And a reset runs a finished run
// again. Each pass reads both sides and closes or reopens the mirror; the run workflow's writes carry it from there.
import { Context } from '@temporalio/activity';
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { temporal as proto } from '@temporalio/proto';
import type { RunStore } from '../src/db/runs';
import type { ContainerRunner } from '../src/docker/container-runner';
import type { WorkflowRunDoc } from '../src/domain/run';
import type { ReconcileActivities, ReconcilePass } from '../src/engine/reconcile';
import type { Logger } from '../src/logger';
import type { Metrics } from '../src/metrics';
import { closedRunOutcome } from '../src/temporal/closed-runs';
import type { MirrorEnd } from '../src/temporal/closed-runs';
import { SearchAttr } from '../src/temporal/names';
import { runWorkflow } from '../workflows/run';

export interface ReconcileDeps {
  runs: RunStore;
  temporal: Client;
  /** Removes the containers of the runs a pass closes (the reaper would, but only past its grace period). */
  runner: ContainerRunner;
  /** The (prefixed) queue this deployment's run workflows run on: the executions the pass looks at. */
  runTaskQueue: string;
  logger: Logger;
  metrics?: Metrics;
  /** Dispatches catalog events that no request dispatched (src/services/triggers.ts); answers how many. */
  sweepEvents?: () => Promise<number>;
  /** Called once a run's end is recorded (its notifications: activities/notify.ts). */
  onRunEnd?: (runId: string) => Promise<void>;
}

/** Unfinished runs one pass looks at; the cursor takes the next pass on from there, so no run waits behind others. */
export const RECONCILE_BATCH = 300;
/** Running executions one pass lists; past this, unfinished runs are described one by one instead. */
const RUNNING_LIST_MAX = 5000;
/** A run with no execution gets this long to be given one: the API inserts a run, then starts its workflow. */
export const MISSING_EXECUTION_GRACE_MS = 15 * 60_000;

type UnfinishedRun = Pick<WorkflowRunDoc, '_id' | 'temporalWorkflowId' | 'createdAt'>;
interface LiveExecution {
  workflowId: string;
  execution: string;
}

export function createReconcileActivities(deps: ReconcileDeps): ReconcileActivities {
  return {
    async reconcileRunMirrors({ after }): Promise<ReconcilePass> {
      const pass: ReconcilePass = { checked: 0, closed: 0, reopened: 0, containersRemoved: 0 };
      // One visibility query instead of a describe per run; visibility lags, so every decision is made on a describe.
      const live = await runningExecutions(deps);
      const page = await deps.runs.listUnfinishedRuns(after, RECONCILE_BATCH);
      for (const run of page) {
        Context.current().heartbeat();
        pass.checked++;
        if (live.has(run._id)) continue;
        try {
          const removed = await closeIfEnded(deps, run);
          if (removed === undefined) continue;
          pass.closed++;
          pass.containersRemoved += removed;
        } catch (err) {
          deps.logger.warn({ err, runId: run._id }, 'reconciler: could not check the run; the next pass will');
        }
      }
      for (const finished of await deps.runs.finishedRunsAmong([...live.keys()])) {
        Context.current().heartbeat();
        try {
          if (await reopenIfRunning(deps, finished, live.get(finished._id)!)) pass.reopened++;
        } catch (err) {
          deps.logger.warn({ err, runId: finished._id }, 'reconciler: could not reopen the run; the next pass will');
        }
      }
      if (deps.sweepEvents) {
        try {
          const dispatched = await deps.sweepEvents();
          if (dispatched) deps.logger.info({ dispatched }, 'reconciler: dispatched catalog events to their triggers');
        } catch (err) {
          deps.logger.warn({ err }, 'reconciler: could not dispatch catalog events; the next pass will');
        }
      }
      return { ...pass, ...(page.length === RECONCILE_BATCH ? { cursor: page.at(-1)!._id } : {}) };
    },
  };
}

/** This deployment's running run executions, by EmboFlow run id. */
async function runningExecutions({ temporal, runTaskQueue }: ReconcileDeps): Promise<Map<string, LiveExecution>> {
  const query = `TaskQueue = '${runTaskQueue}' AND WorkflowType = '${runWorkflow.name}' AND ExecutionStatus = 'Running'`;
  const live = new Map<string, LiveExecution>();
  for await (const wf of temporal.workflow.list({ query, pageSize: 1000 })) {
    const runId = wf.typedSearchAttributes.get(SearchAttr.runId);
    if (runId) live.set(runId, { workflowId: wf.workflowId, execution: wf.runId });
    if (live.size >= RUNNING_LIST_MAX) break;
  }
  return live;
}

/**
 * Finishes the mirror of a run whose execution has closed (the latest of its continue-as-new chain: describe
 * without a run id follows it), the way it closed. Answers the containers removed, or undefined when the run is
 * left as it is.
 */
async function closeIfEnded(deps: ReconcileDeps, run: UnfinishedRun): Promise<number | undefined> {
  let desc: WorkflowExecutionDescription;
  try {
    desc = await deps.temporal.workflow.getHandle(run.temporalWorkflowId).describe();
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    if (Date.now() - run.createdAt.getTime() < MISSING_EXECUTION_GRACE_MS) return undefined;
    const reason = `no Temporal execution ${run.temporalWorkflowId} exists (never started, or past its retention)`;
    return finish(deps, run._id, { status: 'failed', reason });
  }
  if (!desc.closeTime) return undefined;
  const end = closedRunOutcome(desc.status.name, await closeEvent(deps.temporal, desc), {
    executionTimeoutMs: optionalTsToMs(desc.raw.executionConfig?.workflowExecutionTimeout),
    runTimeoutMs: optionalTsToMs(desc.raw.executionConfig?.workflowRunTimeout),
    ranForMs: desc.closeTime.getTime() - desc.startTime.getTime(),
  });
  if (!end) return undefined;
  return finish(deps, run._id, end, desc);
}

/** Only the close event: a long run's history is not read to learn how it ended. */
async function closeEvent(temporal: Client, desc: WorkflowExecutionDescription) {
  const { history } = await temporal.workflowService.getWorkflowExecutionHistory({
    namespace: temporal.options.namespace,
    execution: { workflowId: desc.workflowId, runId: desc.runId },
    historyEventFilterType: proto.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
  });
  return history?.events?.at(-1) ?? undefined;
}

async function finish(
  deps: ReconcileDeps,
  runId: string,
  end: MirrorEnd,
  closed?: WorkflowExecutionDescription,
): Promise<number> {
  // Only an unfinished mirror is finished: a newer execution's own finish (after a reset) is never replaced.
  await deps.runs.finishRun(runId, end.status, end.reason, { execution: closed?.runId, closeOpenTasks: true });
  // The pass goes on: the run is finished now, so a later pass would not come back to notify it.
  await deps
    .onRunEnd?.(runId)
    .catch((err: unknown) => deps.logger.error({ err, runId }, 'reconciler: could not start the run-end notification'));
  const containers = await deps.runner.listManaged({ run: runId });
  for (const c of containers) await deps.runner.remove(deps.runner.docker.getContainer(c.Id));
  deps.metrics?.runsReconciled.inc({ action: 'closed', status: end.status });
  deps.logger.info(
    {
      runId,
      status: end.status,
      reason: end.reason,
      containersRemoved: containers.length,
      lagMs: closed?.closeTime ? Date.now() - closed.closeTime.getTime() : undefined,
    },
    'reconciler: the run mirror now shows how its Temporal execution closed',
  );
  return containers.length;
}

/**
 * Reopens a finished run whose execution runs again (a reset), unless the running execution is the one that
 * finished it (it wrote its finish and is closing). Visibility lags, so the describe decides.
 */
async function reopenIfRunning(
  deps: ReconcileDeps,
  run: Pick<WorkflowRunDoc, '_id' | 'finishedByExecution'>,
  live: LiveExecution,
): Promise<boolean> {
  if (run.finishedByExecution === live.execution) return false;
  const desc = await deps.temporal.workflow.getHandle(live.workflowId).describe();
  if (desc.status.name !== 'RUNNING' || desc.runId === run.finishedByExecution) return false;
  if (!(await deps.runs.reopenRun(run._id, desc.runId))) return false;
  deps.metrics?.runsReconciled.inc({ action: 'reopened', status: 'running' });
  deps.logger.info(
    { runId: run._id, execution: desc.runId, finishedBy: run.finishedByExecution },
    'reconciler: reopened a finished run that Temporal executes again',
  );
  return true;
}
