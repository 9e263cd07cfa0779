export { mapNodeWorkflow } from './map-node';
export { notifyRunFinished } from './notify';
export { reconcileRuns } from './reconcile';
export { runWorkflow } from './run';
export { triggeredRunWorkflow } from './triggered-run';
export { approveUpdate, pauseUpdate, progressQuery, retryTaskUpdate } from './messages';
export type { TriggeredRunInput, TriggeredRunResult } from './triggered-run';
export type { ApprovalDecision, RetryTaskRequest, RunProgress, RunWorkflowInput, RunWorkflowResult } from './messages';
