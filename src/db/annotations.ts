// Manual labelling: annotation tasks.
import type { Collection, Db } from 'mongodb';
import type { AnnotationTaskDoc } from '../domain/annotations';
import { platformCollection } from './common';

export class AnnotationTaskRepository {
  private readonly tasks: Collection<AnnotationTaskDoc>;

  constructor(db: Db) {
    this.tasks = platformCollection(db, 'annotation_tasks');
  }

  /** Ids of the workspace's annotation tasks that feed the approval node `nodeId` of run `runId`. */
  async idsLinkedToApproval(workspaceId: string, runId: string, nodeId: string): Promise<string[]> {
    const linked = await this.tasks
      .find({ workspaceId, 'approval.runId': runId, 'approval.nodeId': nodeId }, { projection: { _id: 1 } })
      .toArray();
    return linked.map((t) => t._id);
  }
}
