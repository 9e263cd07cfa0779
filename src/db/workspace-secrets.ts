import type { Collection, Db } from 'mongodb';
import type { WorkspaceSecretDoc } from '../domain/workspace-secrets';
import { insertUnique, platformCollection } from './common';

export class WorkspaceSecretRepository {
  private readonly secrets: Collection<WorkspaceSecretDoc>;

  constructor(db: Db) {
    this.secrets = platformCollection(db, 'workspace_secrets');
  }

  /** False when the workspace already has a secret of this name. */
  insert(doc: WorkspaceSecretDoc): Promise<boolean> {
    return insertUnique(this.secrets, doc);
  }

  get(workspaceId: string, name: string): Promise<WorkspaceSecretDoc | null> {
    return this.secrets.findOne({ workspaceId, name });
  }

  /** The workspace's secrets of these names. */
  named(workspaceId: string, names: string[]): Promise<WorkspaceSecretDoc[]> {
    return this.secrets.find({ workspaceId, name: { $in: names } }).toArray();
  }

  list(workspaceId: string): Promise<WorkspaceSecretDoc[]> {
    return this.secrets.find({ workspaceId }).sort({ name: 1 }).limit(1000).toArray();
  }

  /** Points the secret at a new value, only if nobody rotated it meanwhile (`version` is the one read). */
  async rotate(doc: WorkspaceSecretDoc, secretRef: string, actorId: string): Promise<WorkspaceSecretDoc | null> {
    return this.secrets.findOneAndUpdate(
      { _id: doc._id, version: doc.version },
      { $set: { secretRef, version: doc.version + 1, rotatedBy: actorId, updatedAt: new Date() } },
      { returnDocument: 'after' },
    );
  }

  async delete(id: string): Promise<void> {
    await this.secrets.deleteOne({ _id: id });
  }
}
