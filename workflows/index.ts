export { mapNodeWorkflow } from './map-node';
export { notifyRunFinished } from './notify';
export { reconcileRuns } from './reconcile';
export { runWorkflow } from './run';
export { approveUpdate, pauseUpdate, progressQuery, retryTaskUpdate } from './messages';
export type { ApprovalDecision, RetryTaskRequest, RunProgress, RunWorkflowInput, RunWorkflowResult } from './messages';
