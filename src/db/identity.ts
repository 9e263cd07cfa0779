// Identity and tenancy: workspaces and projects.
import type { Collection, Db } from 'mongodb';
import type { ProjectDoc, WorkspaceDoc } from '../domain/identity';
import { platformCollection } from './common';

export class WorkspaceRepository {
  private readonly workspaces: Collection<WorkspaceDoc>;

  constructor(db: Db) {
    this.workspaces = platformCollection(db, 'workspaces');
  }

  /** The workspace's own cap on running containers (settings.maxRunningContainers), when it sets one. */
  async maxRunningContainers(workspaceId: string): Promise<number | undefined> {
    const workspace = await this.workspaces.findOne({ _id: workspaceId }, { projection: { settings: 1 } });
    return workspace?.settings?.maxRunningContainers as number | undefined;
  }
}

export class ProjectRepository {
  private readonly projects: Collection<ProjectDoc>;

  constructor(db: Db) {
    this.projects = platformCollection(db, 'projects');
  }

  get(projectId: string): Promise<ProjectDoc | null> {
    return this.projects.findOne({ _id: projectId });
  }
}
