import type { Db } from 'mongodb';
import { AnnotationRepository, AnnotationTaskRepository } from '../db/annotations';
import type { AnnotationTaskQuery } from '../db/annotations';
import { MembershipRepository } from '../db/identity';
import type { PageRequest } from '../db/pagination';
import { RunStore } from '../db/runs';
import type {
  ANNOTATION_TARGET_TYPES,
  AnnotationDoc,
  AnnotationTaskDoc,
  CreateAnnotationInput,
  CreateAnnotationTaskInput,
} from '../domain/annotations';
import { newId } from '../ids';
import type { AuditLog } from './audit';
import { pick } from './common';
import { invalidField } from './errors';

const SUMMARY = ['targetType', 'labelType', 'status'] as const;

export type { AnnotationTaskQuery } from '../db/annotations';

type TargetType = (typeof ANNOTATION_TARGET_TYPES)[number];

interface Scope {
  workspaceId: string;
  projectId: string;
}

export class AnnotationService {
  private readonly tasks: AnnotationTaskRepository;
  private readonly annotations: AnnotationRepository;
  private readonly memberships: MembershipRepository;
  private readonly runs: RunStore;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
  ) {
    this.tasks = new AnnotationTaskRepository(db);
    this.annotations = new AnnotationRepository(db);
    this.memberships = new MembershipRepository(db);
    this.runs = new RunStore(db);
  }

  getTask(taskId: string): Promise<AnnotationTaskDoc | null> {
    return this.tasks.get(taskId);
  }

  listTasks(scope: Scope, q: AnnotationTaskQuery, page: PageRequest) {
    return this.tasks.list(scope, q, page);
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
    await this.tasks.insert(task);
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
    await this.annotations.insert(annotation);
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

  listAnnotations(task: AnnotationTaskDoc, page: PageRequest) {
    return this.annotations.listForTask(task, page);
  }

  /** A target must be an object of the task's project: references never cross tenants. */
  private async assertTarget(scope: Scope, type: TargetType, id: string, field: string): Promise<void> {
    if (!(await this.tasks.targetExists(type, id, scope)))
      throw invalidField(field, `no ${type} ${id} in this project`);
  }

  /** A linked approval must be an approval node of a run in this project. */
  private async assertApprovalNode(scope: Scope, link: { runId: string; nodeId: string }): Promise<void> {
    const nodes = await this.runs.getRunNodesInProject(link.runId, scope);
    if (!nodes) throw invalidField('approval.runId', `no run ${link.runId} in this project`);
    const node = nodes.find((n) => n.id === link.nodeId);
    if (node?.executorType !== 'approval')
      throw invalidField('approval.nodeId', `${link.nodeId} is not an approval node of run ${link.runId}`);
  }

  /** Assignees and reviewers must be active members of the workspace or of this project. */
  private async assertMembers(scope: Scope, userIds: string[], field: string): Promise<void> {
    if (!userIds.length) return;
    const ok = new Set(await this.memberships.activeMemberIds(scope, userIds));
    const i = userIds.findIndex((id) => !ok.has(id));
    if (i >= 0) throw invalidField(`${field}.${i}`, `user ${userIds[i]} is not a member of this project`);
  }
}
