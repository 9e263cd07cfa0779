export { runWorkflow, progressQuery } from './run';
export type { RunWorkflowInput, RunWorkflowResult, RunProgress } from './run';
