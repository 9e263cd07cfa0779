// Definitions: custom container nodes.
import type { Collection, Db } from 'mongodb';
import type { CustomNodeDoc } from '../domain/definitions';
import { platformCollection } from './common';

export class CustomNodeRepository {
  private readonly nodes: Collection<CustomNodeDoc>;

  constructor(db: Db) {
    this.nodes = platformCollection(db, 'custom_nodes');
  }

  /** A custom node of the workspace: a run only ever uses its own workspace's nodes. */
  findInWorkspace(customNodeId: string, workspaceId: string): Promise<CustomNodeDoc | null> {
    return this.nodes.findOne({ _id: customNodeId, workspaceId });
  }
}
