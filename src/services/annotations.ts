import type { Collection, Db, Filter } from 'mongodb';
import { paginate } from '../db/pagination';
import {
  ANNOTATION_TASK_STATUSES,
  ANNOTATION_TARGET_TYPES,
  type AnnotationDoc,
  type AnnotationTaskDoc,
  type CreateAnnotationInput,
  type CreateAnnotationTaskInput,
} from '../domain/annotations';
import type { MembershipDoc } from '../domain/identity';
import { newId } from '../ids';
import type { AuditLog } from './audit';
import { pick } from './common';
import { invalidField } from './errors';

const SUMMARY = ['targetType', 'labelType', 'status'] as const;

type TargetType = (typeof ANNOTATION_TARGET_TYPES)[number];
const TARGET_COLLECTION: Record<TargetType, string> = {
  asset: 'assets',
  dataset: 'datasets',
  dataset_version: 'dataset_versions',
  artifact: 'artifacts',
};

interface Scope {
  workspaceId: string;
  projectId: string;
}

export interface AnnotationTaskQuery {
  status?: (typeof ANNOTATION_TASK_STATUSES)[number];
  targetType?: TargetType;
  assigneeId?: string;
  runId?: string;
  nodeId?: string;
}

export class AnnotationService {
  readonly tasks: Collection<AnnotationTaskDoc>;
  readonly annotations: Collection<AnnotationDoc>;
  private readonly memberships: Collection<MembershipDoc>;

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
  ) {
    this.tasks = db.collection<AnnotationTaskDoc>('annotation_tasks');
    this.annotations = db.collection<AnnotationDoc>('annotations');
    this.memberships = db.collection<MembershipDoc>('memberships');
  }

  getTask(taskId: string): Promise<AnnotationTaskDoc | null> {
    return this.tasks.findOne({ _id: taskId });
  }

  listTasks(scope: Scope, q: AnnotationTaskQuery, page: { limit: number; cursor?: string }) {
    const filter: Filter<AnnotationTaskDoc> = { projectId: scope.projectId, workspaceId: scope.workspaceId };
    if (q.status) filter.status = q.status;
    if (q.targetType) filter.targetType = q.targetType;
    if (q.assigneeId) filter.assigneeIds = q.assigneeId;
    if (q.runId) filter['approval.runId'] = q.runId;
    if (q.nodeId) filter['approval.nodeId'] = q.nodeId;
    return paginate(this.tasks, filter, page);
  }

  async createTask(scope: Scope, input: CreateAnnotationTaskInput, actorId: string): Promise<AnnotationTaskDoc> {
    await this.assertTarget(scope, input.targetType, input.targetRef.id, 'targetRef.id');
    await this.assertMembers(scope, input.assigneeIds, 'assigneeIds');
    await this.assertMembers(scope, input.reviewerIds, 'reviewerIds');
    if (input.approval) await this.assertApprovalNode(scope, input.approval);
    const now = new Date();
    const task: AnnotationTaskDoc = {
      _id: newId('ant'),
      ...scope,
      targetType: input.targetType,
      targetRef: input.targetRef,
      labelType: input.labelType,
      instructions: input.instructions,
      status: 'open',
      assigneeIds: input.assigneeIds,
      reviewerIds: input.reviewerIds,
      ...(input.approval ? { approval: input.approval } : {}),
      createdBy: actorId,
      createdAt: now,
      updatedAt: now,
    };
    await this.tasks.insertOne(task);
    await this.audit.record({
      actorId,
      ...scope,
      resourceType: 'annotation_task',
      resourceId: task._id,
      action: 'create',
      after: pick(task, SUMMARY),
    });
    return task;
  }

  async createAnnotation(
    task: AnnotationTaskDoc,
    input: CreateAnnotationInput,
    actorId: string,
  ): Promise<AnnotationDoc> {
    const scope = { workspaceId: task.workspaceId, projectId: task.projectId };
    const targetRef = input.targetRef ?? task.targetRef;
    if (targetRef.id !== task.targetRef.id)
      await this.assertTarget(scope, task.targetType, targetRef.id, 'targetRef.id');
    const now = new Date();
    const annotation: AnnotationDoc = {
      _id: newId('ann'),
      annotationTaskId: task._id,
      ...scope,
      targetRef,
      payload: input.payload,
      status: 'submitted',
      createdBy: actorId,
      createdAt: now,
      updatedAt: now,
    };
    await this.annotations.insertOne(annotation);
    await this.audit.record({
      actorId,
      ...scope,
      resourceType: 'annotation',
      resourceId: annotation._id,
      action: 'create',
      after: { annotationTaskId: task._id, targetId: targetRef.id, status: annotation.status },
    });
    return annotation;
  }

  listAnnotations(task: AnnotationTaskDoc, page: { limit: number; cursor?: string }) {
    return paginate(this.annotations, { annotationTaskId: task._id, workspaceId: task.workspaceId }, page);
  }

  /** A target must be an object of the task's project: references never cross tenants. */
  private async assertTarget(scope: Scope, type: TargetType, id: string, field: string): Promise<void> {
    const found = await this.db
      .collection<{ _id: string }>(TARGET_COLLECTION[type])
      .findOne({ _id: id, ...scope }, { projection: { _id: 1 } });
    if (!found) throw invalidField(field, `no ${type} ${id} in this project`);
  }

  /** A linked approval must be an approval node of a run in this project. */
  private async assertApprovalNode(scope: Scope, link: { runId: string; nodeId: string }): Promise<void> {
    const run = await this.db
      .collection<{ _id: string; runtimeSnapshot: { nodes: Array<{ id: string; executorType: string }> } }>('workflow_runs')
      .findOne({ _id: link.runId, ...scope }, { projection: { 'runtimeSnapshot.nodes': 1 } });
    if (!run) throw invalidField('approval.runId', `no run ${link.runId} in this project`);
    const node = run.runtimeSnapshot.nodes.find((n) => n.id === link.nodeId);
    if (node?.executorType !== 'approval') throw invalidField('approval.nodeId', `${link.nodeId} is not an approval node of run ${link.runId}`);
  }

  /** Assignees and reviewers must be active members of the workspace or of this project. */
  private async assertMembers(scope: Scope, userIds: string[], field: string): Promise<void> {
    if (!userIds.length) return;
    const members = await this.memberships
      .find(
        {
          userId: { $in: userIds },
          workspaceId: scope.workspaceId,
          status: 'active',
          $or: [{ projectId: { $exists: false } }, { projectId: scope.projectId }],
        },
        { projection: { userId: 1 } },
      )
      .toArray();
    const ok = new Set(members.map((m) => m.userId));
    const i = userIds.findIndex((id) => !ok.has(id));
    if (i >= 0) throw invalidField(`${field}.${i}`, `user ${userIds[i]} is not a member of this project`);
  }
}
