// The run workflow's typed boundary: callers (the API, the CLI, tests) start it and send it updates and queries
// with these definitions, so a changed input or message shape fails to compile instead of failing at run time.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { RunOutcome, TaskStatus } from '../src/dag/scheduler';
import { APPROVE_UPDATE, PAUSE_UPDATE, PROGRESS_QUERY, RETRY_TASK_UPDATE } from '../src/temporal/names';

export interface RunWorkflowInput {
  runId: string;
  /** Set when a task retry restarts a run that had already finished: finished nodes keep their results. */
  resume?: boolean;
  /** When the run times out (ms since the epoch), carried across continue-as-new; from settings.timeoutSeconds. */
  deadline?: number;
  /** A paused run stays paused across continue-as-new. */
  paused?: boolean;
}

export interface RunWorkflowResult {
  runId: string;
  status: RunOutcome | 'timed_out';
  failedNodeIds: string[];
}

export interface RunProgress {
  counts: Record<TaskStatus, number>;
  nodes: Record<string, TaskStatus>;
}

export interface ApprovalDecision {
  nodeId: string;
  approved: boolean;
  comment?: string;
  /** The user id of whoever decided (the API fills it from the caller's key). */
  decidedBy: string;
}

export interface RetryTaskRequest {
  nodeId: string;
  /** More nodes retried with it, in one reset of all their subtrees (retry every failed node of a run). */
  alsoNodeIds?: string[];
}

export const progressQuery = defineQuery<RunProgress>(PROGRESS_QUERY);

/**
 * Re-runs a finished node and its downstream subtree on this run; every other node keeps its result.
 * Completes once the subtree is reset (or is rejected with the reason), so callers see the new state at once.
 */
export const retryTaskUpdate = defineUpdate<{ resetNodeIds: string[] }, [RetryTaskRequest]>(RETRY_TASK_UPDATE);

/** A human decision for an approval node that is waiting; refused (not recorded) when the node is not waiting. */
export const approveUpdate = defineUpdate<{ nodeId: string; approved: boolean }, [ApprovalDecision]>(APPROVE_UPDATE);

export interface PauseRequest {
  paused: boolean;
  /** The user id of whoever asked (the API fills it from the caller's key). */
  by: string;
}

/**
 * Pauses a running run (no node starts; running ones finish) or resumes it; durable: the flag is workflow state.
 * Refused once the run is finishing.
 */
export const pauseUpdate = defineUpdate<{ paused: boolean; changed: boolean }, [PauseRequest]>(PAUSE_UPDATE);
