import type { Db } from 'mongodb';
import { ProjectRepository } from '../db/identity';
import type { PageRequest } from '../db/pagination';
import type { CreateProjectInput, ProjectDoc, UpdateProjectInput } from '../domain/identity';
import { newId } from '../ids';
import type { AuditLog } from './audit';
import { insertWithSlug, pick } from './common';

const SUMMARY = ['name', 'slug', 'status'] as const;

export class ProjectService {
  private readonly projects: ProjectRepository;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
  ) {
    this.projects = new ProjectRepository(db);
  }

  get(projectId: string): Promise<ProjectDoc | null> {
    return this.projects.get(projectId);
  }

  /** A workspace's projects; `onlyIds` narrows them for callers who are members of some projects only. */
  list(workspaceId: string, onlyIds: string[] | undefined, page: PageRequest) {
    return this.projects.list(workspaceId, onlyIds, page);
  }

  async create(workspaceId: string, input: CreateProjectInput, actorId: string): Promise<ProjectDoc> {
    const now = new Date();
    const _id = newId('prj');
    const project = await insertWithSlug(
      this.projects,
      (slug): ProjectDoc => ({
        _id,
        workspaceId,
        name: input.name,
        slug,
        description: input.description,
        status: 'active',
        createdBy: actorId,
        createdAt: now,
        updatedAt: now,
      }),
      { chosen: input.slug, name: input.name, fallback: 'project', what: 'project' },
    );
    await this.audit.record({
      actorId,
      workspaceId,
      projectId: _id,
      resourceType: 'project',
      resourceId: _id,
      action: 'create',
      after: pick(project, SUMMARY),
    });
    return project;
  }

  async update(project: ProjectDoc, input: UpdateProjectInput, actorId: string): Promise<ProjectDoc> {
    const set: Partial<ProjectDoc> = { updatedAt: new Date() };
    if (input.name !== undefined) set.name = input.name;
    if (input.description !== undefined) set.description = input.description;
    const updated = await this.projects.update(project._id, set);
    const after = updated ?? { ...project, ...set };
    await this.audit.record({
      actorId,
      workspaceId: project.workspaceId,
      projectId: project._id,
      resourceType: 'project',
      resourceId: project._id,
      action: 'update',
      before: pick(project, SUMMARY),
      after: pick(after, SUMMARY),
      metadata: { fields: Object.keys(input) },
    });
    return after;
  }
}
