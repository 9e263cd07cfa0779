// A map node's child workflow: runs the node once per item (up to maxParallel at once), each item an activity of its
// own with its own retries, then collects the items into the node's result. Items are read from the mirror a page
// at a time and the history stays short: after a page, a long history continues as new with the counts so far.
import {
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
} from '@temporalio/workflow';
import { failuresExceeded, itemTaskNodeId } from '../src/dag/map';
import type {
  ActivityContract,
  MapActivityContract,
  MapItemTicket,
  MapNodeInput,
  MapProgress,
  NodeResult,
} from '../src/engine/contract';
import { CONTROL_OPTIONS, nodeActivityOptions } from './engine/activity-options';

/** Items fetched per page: each page drains before the next, and before a continue-as-new. */
export const MAP_PAGE_SIZE = 200;
/** Continue as new past this many events (a page of 200 items adds about 1,200). */
export const MAP_EVENTS_BEFORE_CONTINUE = 8_000;
/** Progress reaches the node's task at most this often. */
const PROGRESS_INTERVAL_MS = 2_000;

/** Planning and collecting 10,000 items takes minutes, not seconds. */
const mapControl = proxyLocalActivities<MapActivityContract>({ ...CONTROL_OPTIONS, startToCloseTimeout: '10m' });

export async function mapNodeWorkflow(args: MapNodeInput): Promise<NodeResult> {
  const { input, map } = args;
  const { runId, nodeId, generation } = input;
  let progress: MapProgress;
  if (args.progress) {
    progress = args.progress;
  } else {
    const plan = await mapControl.planMapItems(args);
    progress = { total: plan.total, succeeded: plan.succeeded, failed: plan.failed };
  }
  let lastReport = Date.now();
  const report = async (force = false) => {
    if (!force && Date.now() - lastReport < PROGRESS_INTERVAL_MS) return;
    lastReport = Date.now();
    await mapControl.reportMapProgress(runId, nodeId, generation, progress);
  };
  const exceeded = () => failuresExceeded(map, progress.failed, progress.total);

  try {
    while (!exceeded()) {
      const page = await mapControl.mapItemsPage(runId, nodeId, progress.afterKey, MAP_PAGE_SIZE);
      if (!page.length) break;
      await runPage(args, page, progress, exceeded, report);
      progress.afterKey = page[page.length - 1]![0];
      if (!exceeded() && page.length === MAP_PAGE_SIZE && historyIsLong(args.continueAfterEvents)) {
        await report(true);
        return await continueAsNew<typeof mapNodeWorkflow>({ ...args, progress });
      }
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(() =>
      mapControl.finishMapNode(runId, nodeId, generation, {
        status: 'cancelled',
        errorMessage: 'the run was cancelled',
      }),
    );
    throw err;
  }
  await report(true);
  if (exceeded()) {
    const errorMessage = `${progress.failed} of ${progress.total} items failed (${tolerance(args)})`;
    await mapControl.finishMapNode(runId, nodeId, generation, { status: 'failed', errorMessage });
    throw ApplicationFailure.nonRetryable(errorMessage, 'MapItemsFailed');
  }
  return mapControl.finishMapNode(runId, nodeId, generation, { status: 'success' });
}

/** Runs one page of items, maxParallel at a time; with failures past the tolerance, cancels the rest. */
async function runPage(
  args: MapNodeInput,
  page: MapItemTicket[],
  progress: MapProgress,
  exceeded: () => boolean,
  report: () => Promise<void>,
): Promise<void> {
  const scope = new CancellationScope();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < page.length && !exceeded()) {
      const ticket = page[next++]!;
      try {
        await scope.run(() => runItem(args, ticket));
        progress.succeeded++;
      } catch (err) {
        if (isCancellation(err) && exceeded()) return;
        if (isCancellation(err)) throw err;
        progress.failed++;
        if (exceeded()) scope.cancel();
      }
      await report();
    }
  };
  await Promise.all(Array.from({ length: Math.min(args.map.maxParallel, page.length) }, lane));
}

function runItem(args: MapNodeInput, [key, generation, attemptBase]: MapItemTicket): Promise<NodeResult> {
  const options = nodeActivityOptions({
    id: itemTaskNodeId(args.input.nodeId, key),
    executorType: 'docker',
    taskQueue: args.taskQueue,
    generation,
    attemptBase,
    timeoutSeconds: args.timeoutSeconds,
    ...(args.retry ? { retry: args.retry } : {}),
  });
  const acts = proxyActivities<ActivityContract>({ ...options, summary: `item ${key} of ${args.input.nodeId}` });
  return acts.executeDockerNode({ ...args.input, generation, attemptBase, assetIds: [], item: { key } });
}

function tolerance({ map }: MapNodeInput): string {
  if (map.maxFailures === undefined && map.maxFailurePercent === undefined) return 'fails fast: no failure tolerated';
  const parts = [
    ...(map.maxFailures !== undefined ? [`${map.maxFailures} items`] : []),
    ...(map.maxFailurePercent !== undefined ? [`${map.maxFailurePercent}%`] : []),
  ];
  return `tolerates ${parts.join(' and ')}`;
}

function historyIsLong(limit = MAP_EVENTS_BEFORE_CONTINUE): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > Math.min(limit, MAP_EVENTS_BEFORE_CONTINUE);
}
