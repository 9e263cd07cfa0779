// What a caller does to runs — start, cancel, retry a run, retry a task, decide an approval — each followed by
// its audit record (after the action succeeded: without transactions a crash may lose a record, never invent one).
import type { AuditAction } from '../domain/audit';
import type { StartRunBody, WorkflowRunDoc } from '../domain/run';
import { runTaskId } from '../domain/run';
import type { AuditLog } from './audit';
import type { RunQueries } from './run-queries';
import type { RunService, RunView, WorkflowDefinitionDoc } from './runs';

type Scoped = Pick<WorkflowRunDoc, '_id' | 'workspaceId' | 'projectId'>;

export class RunActions {
  constructor(
    private readonly runs: RunService,
    private readonly queries: Pick<RunQueries, 'linkedAnnotationTasks'>,
    private readonly audit: Pick<AuditLog, 'record'>,
    private readonly onStarted: () => void = () => undefined,
  ) {}

  private record(
    actorId: string,
    run: Scoped,
    action: AuditAction,
    resource: { type: 'run' | 'run_task'; id: string },
    metadata?: Record<string, unknown>,
  ) {
    return this.audit.record({
      actorId,
      workspaceId: run.workspaceId,
      projectId: run.projectId,
      resourceType: resource.type,
      resourceId: resource.id,
      action,
      metadata,
    });
  }

  async start(
    actorId: string,
    def: WorkflowDefinitionDoc,
    body: StartRunBody,
    idempotencyKey?: string,
  ): Promise<RunView> {
    const run = await this.runs.start(def, body, actorId, idempotencyKey);
    this.onStarted();
    await this.record(
      actorId,
      { _id: run.id, workspaceId: run.workspaceId, projectId: run.projectId },
      'start',
      { type: 'run', id: run.id },
      {
        workflowId: def._id,
        versionNumber: run.versionNumber,
      },
    );
    return run;
  }

  async cancel(actorId: string, run: WorkflowRunDoc): Promise<{ id: string; status: 'cancelling' }> {
    await this.runs.cancel(run);
    await this.record(actorId, run, 'cancel', { type: 'run', id: run._id });
    return { id: run._id, status: 'cancelling' };
  }

  async retryFailed(actorId: string, run: WorkflowRunDoc) {
    const result = await this.runs.retryFailed(run);
    await this.record(
      actorId,
      run,
      'retry',
      { type: 'run', id: run._id },
      { nodeIds: result.nodeIds, resetNodeIds: result.resetNodeIds },
    );
    return result;
  }

  async pause(actorId: string, run: WorkflowRunDoc, paused: boolean) {
    const result = await this.runs.pause(run, paused, actorId);
    if (result.changed) await this.record(actorId, run, paused ? 'pause' : 'resume', { type: 'run', id: run._id });
    return result;
  }

  async retryRun(actorId: string, run: WorkflowRunDoc): Promise<RunView> {
    const retried = await this.runs.retryRun(run, actorId);
    await this.record(actorId, run, 'retry', { type: 'run', id: run._id }, { newRunId: retried.id });
    return retried;
  }

  async retryTask(actorId: string, run: WorkflowRunDoc, nodeId: string, items?: string[]) {
    const result = await this.runs.retryTask(run, nodeId, items);
    await this.record(
      actorId,
      run,
      'retry',
      { type: 'run_task', id: runTaskId(run._id, nodeId) },
      { resetNodeIds: result.resetNodeIds, ...(items ? { items } : {}) },
    );
    return result;
  }

  async approve(
    actorId: string,
    run: WorkflowRunDoc,
    nodeId: string,
    decision: { approved: boolean; comment?: string },
  ) {
    await this.runs.approve(run, nodeId, decision, actorId);
    await this.record(
      actorId,
      run,
      decision.approved ? 'approve' : 'reject',
      { type: 'run_task', id: runTaskId(run._id, nodeId) },
      {
        nodeId,
        comment: decision.comment ?? null,
      },
    );
    const annotationTaskIds = await this.queries.linkedAnnotationTasks(run, nodeId);
    return { runId: run._id, nodeId, approved: decision.approved, decidedBy: actorId, annotationTaskIds };
  }
}
