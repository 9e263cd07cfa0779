// Manual labelling (seed 000): annotation tasks and the annotations they collect.
import type { Collection, Db, Filter } from 'mongodb';
import type {
  ANNOTATION_TARGET_TYPES,
  ANNOTATION_TASK_STATUSES,
  AnnotationDoc,
  AnnotationTaskDoc,
} from '../domain/annotations';
import { platformCollection } from './common';
import { paginate } from './pagination';
import type { Page, PageRequest } from './pagination';

interface Scope {
  workspaceId: string;
  projectId: string;
}

type TargetType = (typeof ANNOTATION_TARGET_TYPES)[number];
const TARGET_COLLECTION: Record<TargetType, string> = {
  asset: 'assets',
  dataset: 'datasets',
  dataset_version: 'dataset_versions',
  artifact: 'artifacts',
};

export interface AnnotationTaskQuery {
  status?: (typeof ANNOTATION_TASK_STATUSES)[number];
  targetType?: TargetType;
  assigneeId?: string;
  runId?: string;
  nodeId?: string;
}

export class AnnotationTaskRepository {
  private readonly tasks: Collection<AnnotationTaskDoc>;

  constructor(private readonly db: Db) {
    this.tasks = platformCollection(db, 'annotation_tasks');
  }

  get(taskId: string): Promise<AnnotationTaskDoc | null> {
    return this.tasks.findOne({ _id: taskId });
  }

  /** A project's tasks, newest first, narrowed by status, target type, assignee or linked approval. */
  list(scope: Scope, q: AnnotationTaskQuery, page: PageRequest): Promise<Page<AnnotationTaskDoc>> {
    const filter: Filter<AnnotationTaskDoc> = { projectId: scope.projectId, workspaceId: scope.workspaceId };
    if (q.status) filter.status = q.status;
    if (q.targetType) filter.targetType = q.targetType;
    if (q.assigneeId) filter.assigneeIds = q.assigneeId;
    if (q.runId) filter['approval.runId'] = q.runId;
    if (q.nodeId) filter['approval.nodeId'] = q.nodeId;
    return paginate(this.tasks, filter, page);
  }

  async insert(task: AnnotationTaskDoc): Promise<void> {
    await this.tasks.insertOne(task);
  }

  /** Ids of the workspace's annotation tasks that feed the approval node `nodeId` of run `runId`. */
  async idsLinkedToApproval(workspaceId: string, runId: string, nodeId: string): Promise<string[]> {
    const linked = await this.tasks
      .find({ workspaceId, 'approval.runId': runId, 'approval.nodeId': nodeId }, { projection: { _id: 1 } })
      .toArray();
    return linked.map((t) => t._id);
  }

  /** Whether `id` is an object of this type in the project (what a task may label). */
  async targetExists(type: TargetType, id: string, scope: Scope): Promise<boolean> {
    const found = await this.db
      .collection<{ _id: string }>(TARGET_COLLECTION[type])
      .findOne({ _id: id, ...scope }, { projection: { _id: 1 } });
    return found !== null;
  }
}

export class AnnotationRepository {
  private readonly annotations: Collection<AnnotationDoc>;

  constructor(db: Db) {
    this.annotations = platformCollection(db, 'annotations');
  }

  async insert(annotation: AnnotationDoc): Promise<void> {
    await this.annotations.insertOne(annotation);
  }

  /** A task's annotations, newest first. */
  listForTask(task: Pick<AnnotationTaskDoc, '_id' | 'workspaceId'>, page: PageRequest): Promise<Page<AnnotationDoc>> {
    return paginate(this.annotations, { annotationTaskId: task._id, workspaceId: task.workspaceId }, page);
  }
}
