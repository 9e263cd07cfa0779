// How each kind of node runs: timers and decisions inside the workflow, approvals through the approve update,
// containers and builtin steps as activities on the node's task queue, workflow nodes as child runs.
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  proxyLocalActivities,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { evaluate } from '../../src/dag/expr';
import { parseMapOver } from '../../src/dag/map';
import type { ActivityContract, NodeInput, NodeResult, SubWorkflowActivityContract } from '../../src/engine/contract';
import { runWorkflowId, SearchAttr } from '../../src/temporal/names';
import { mapNodeWorkflow } from '../map-node';
import type { runWorkflow } from '../run';
import { CONTROL_OPTIONS, nodeActivityOptions } from './activity-options';
import type { Approvals } from './approvals';
import type { MirrorQueue } from './mirror-queue';
import type { RunGraph, RunNode } from './run-graph';

export interface NodeStepDeps {
  graph: RunGraph;
  mirror: MirrorQueue;
  approvals: Approvals;
}

export async function executeNode(node: RunNode, { graph, mirror, approvals }: NodeStepDeps): Promise<NodeResult> {
  const input = graph.inputFor(node);
  const task = { nodeId: node.id, generation: node.generation };
  switch (node.executorType) {
    case 'timer':
      await sleep((node.timerSeconds ?? 0) * 1000);
      mirror.push({ ...task, status: 'success' });
      return { artifacts: [], assetIds: input.assetIds, cacheHit: false };
    case 'approval':
      return approvals.decide(node, input, mirror);
    case 'decision': {
      let value: unknown;
      try {
        value = evaluate(node.expression ?? 'null', graph.upstreamResults(node.id));
      } catch (err) {
        const errorMessage = `decision expression failed: ${(err as Error).message}`;
        mirror.push({ ...task, status: 'failed', errorMessage });
        throw ApplicationFailure.nonRetryable(errorMessage, 'DecisionFailed');
      }
      mirror.push({ ...task, status: 'success', result: value, summary: { executor: 'decision', value } });
      return { artifacts: [], assetIds: input.assetIds, cacheHit: false, result: value };
    }
    case 'workflow':
      return runSubWorkflow(node, input, mirror);
    default:
      if (node.map) return runMap(node, input, graph, mirror);
      return runActivity(node, input, mirror);
  }
}

/** A map node: its items run in a child workflow of their own (one per node generation). */
async function runMap(node: RunNode, input: NodeInput, graph: RunGraph, mirror: MirrorQueue): Promise<NodeResult> {
  if (mirror.background && !mirror.writtenOnce(node)) await mirror.landed();
  const map = node.map!;
  const source = parseMapOver(map.over);
  const upstreamResult = source.kind === 'list' ? graph.upstreamResults(node.id).inputs[source.nodeId] : undefined;
  return executeChild(mapNodeWorkflow, {
    workflowId: `${workflowInfo().workflowId}.map.${node.id}.g${node.generation}`,
    taskQueue: workflowInfo().taskQueue,
    args: [
      {
        input,
        map,
        taskQueue: node.taskQueue,
        timeoutSeconds: node.timeoutSeconds,
        ...(node.retry ? { retry: node.retry } : {}),
        ...(upstreamResult !== undefined && upstreamResult !== null ? { upstreamResult } : {}),
        ...(graph.plan.continueAfterEvents ? { continueAfterEvents: graph.plan.continueAfterEvents } : {}),
      },
    ],
  });
}

/** Container and builtin nodes: the node's activity, after an image build when its custom node has a Dockerfile. */
async function runActivity(node: RunNode, input: NodeInput, mirror: MirrorQueue): Promise<NodeResult> {
  // The workflow's own "queued" write must land before the activity writes "running".
  if (mirror.background && !mirror.writtenOnce(node)) await mirror.landed();
  const options = nodeActivityOptions(node);
  const acts = proxyActivities<ActivityContract>(options);
  if (node.build) {
    await proxyActivities<ActivityContract>({
      ...options,
      activityId: `${options.activityId}.build`,
      summary: `build image for ${node.id}`,
      startToCloseTimeout: '30m',
    }).buildNodeImage({
      runId: input.runId,
      nodeId: node.id,
    });
  }
  return node.executorType === 'docker' ? acts.executeDockerNode(input) : acts.executeBuiltinNode(input);
}

const subWorkflows = proxyLocalActivities<SubWorkflowActivityContract>(CONTROL_OPTIONS);

/**
 * A workflow node: a pinned version of another workflow runs as a run of its own, in a child workflow. Cancelling the
 * node cancels the child and waits until it has ended, its containers removed; a parent that closes any other way
 * (terminated, timed out) asks the child to cancel rather than leave it running alone.
 */
async function runSubWorkflow(node: RunNode, input: NodeInput, mirror: MirrorQueue): Promise<NodeResult> {
  // The workflow's own "queued" write must land before the activity writes "running".
  if (mirror.background && !mirror.writtenOnce(node)) await mirror.landed();
  const child = await subWorkflows.startChildRun(input, Date.now());
  try {
    await executeChild<typeof runWorkflow>('runWorkflow', {
      workflowId: runWorkflowId(child.childRunId),
      taskQueue: workflowInfo().taskQueue,
      args: [{ runId: child.childRunId }],
      staticSummary: child.summary,
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      typedSearchAttributes: [
        { key: SearchAttr.runId, value: child.childRunId },
        { key: SearchAttr.workflowId, value: child.workflowDefinitionId },
        { key: SearchAttr.projectId, value: child.projectId },
        { key: SearchAttr.workspaceId, value: child.workspaceId },
        { key: SearchAttr.status, value: 'pending' },
      ],
    });
  } catch (err) {
    // A child cancelled on its own (not by this run's cancellation) fails the node: the parent did not ask for it.
    if (isCancellation(err) && !CancellationScope.current().consideredCancelled)
      throw ApplicationFailure.nonRetryable(
        `sub-workflow run ${child.childRunId} ended cancelled`,
        'SubWorkflowFailed',
      );
    throw err;
  }
  const end = await subWorkflows.finishChildRun(input, child.childRunId);
  if ('failed' in end) throw ApplicationFailure.nonRetryable(end.failed, 'SubWorkflowFailed');
  return end.result;
}
