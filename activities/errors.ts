import { ApplicationFailure } from '@temporalio/activity';

/** Thrown when a node's configuration cannot run at all (missing image, unknown custom node); never retried. */
export function nodeConfigError(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'NodeConfigError');
}

/** Thrown when the run a workflow names is not in MongoDB; never retried. */
export function runNotFound(runId: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`run ${runId} not found`, 'RunNotFoundError');
}

/** Thrown when a container attempt fails (non-zero exit, OOM, timeout); retried until the node's budget is spent. */
export function containerFailed(message: string, final: boolean): ApplicationFailure {
  return final
    ? ApplicationFailure.nonRetryable(message, 'ContainerFailedError')
    : ApplicationFailure.retryable(message, 'ContainerFailedError');
}

/** Thrown when a node's outputs do not match the contract it declares; never retried. */
export function outputContractViolated(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'OutputContractError');
}
