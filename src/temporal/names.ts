// Names shared by the API, the worker and workflow code (pure: safe inside the workflow sandbox).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const RETRY_TASK_UPDATE = 'retryTask';
export const APPROVE_UPDATE = 'approve';
export const PAUSE_UPDATE = 'pause';
export const PROGRESS_QUERY = 'progress';

export const SearchAttr = {
  runId: defineSearchAttributeKey('EmboflowRunId', SearchAttributeType.KEYWORD),
  workflowId: defineSearchAttributeKey('EmboflowWorkflowId', SearchAttributeType.KEYWORD),
  projectId: defineSearchAttributeKey('EmboflowProjectId', SearchAttributeType.KEYWORD),
  workspaceId: defineSearchAttributeKey('EmboflowWorkspaceId', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('EmboflowStatus', SearchAttributeType.KEYWORD),
};

/** The search attributes of a run's execution: the reconciler and the Web UI find runs by them. */
export function runSearchAttributes(
  run: { runId: string; workflowId: string; projectId: string; workspaceId: string },
  status: string,
) {
  return [
    { key: SearchAttr.runId, value: run.runId },
    { key: SearchAttr.workflowId, value: run.workflowId },
    { key: SearchAttr.projectId, value: run.projectId },
    { key: SearchAttr.workspaceId, value: run.workspaceId },
    { key: SearchAttr.status, value: status },
  ];
}

/** The Temporal workflow id of an EmboFlow run: derived, so a run maps to exactly one execution. */
export function runWorkflowId(runId: string): string {
  return `emboflow-run-${runId}`;
}

export function runWebUiUrl(uiBase: string, namespace: string, runId: string): string {
  const base = uiBase.replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(runWorkflowId(runId))}`;
}

/**
 * The notify workflow of one run end: derived from the run and its finish time, so whoever records the end (the run
 * workflow, a retried activity, the reconciler) starts it at most once, and a reopened run that ends again notifies again.
 */
export function notifyWorkflowId(runId: string, finishedAtMs: number): string {
  return `emboflow-notify-${runId}-${finishedAtMs}`;
}

/** GPU nodes run on their queue's `.gpu` twin, which only workers that declare GPUs (WORKER_GPUS) poll. */
export function gpuQueue(queue: string, gpus: number | string[] | undefined): string {
  return gpus === undefined ? queue : `${queue}.gpu`;
}

/** How many GPUs a node asks for. */
export function gpuCount(gpus: number | string[] | undefined): number {
  return gpus === undefined ? 0 : typeof gpus === 'number' ? gpus : gpus.length;
}
