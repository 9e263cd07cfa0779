import type { Db } from 'mongodb';
import { MembershipRepository, WorkspaceRepository } from '../db/identity';
import type { PageRequest } from '../db/pagination';
import type { CreateWorkspaceInput, MembershipDoc, UpdateWorkspaceInput, WorkspaceDoc } from '../domain/identity';
import { newId } from '../ids';
import type { AuditLog } from './audit';
import { insertWithSlug, pick } from './common';

const SUMMARY = ['name', 'slug', 'type', 'status'] as const;

export class WorkspaceService {
  private readonly workspaces: WorkspaceRepository;
  private readonly memberships: MembershipRepository;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
  ) {
    this.workspaces = new WorkspaceRepository(db);
    this.memberships = new MembershipRepository(db);
  }

  get(workspaceId: string): Promise<WorkspaceDoc | null> {
    return this.workspaces.get(workspaceId);
  }

  /** The workspaces among `ids` (the caller's), newest first. */
  list(ids: string[], page: PageRequest) {
    return this.workspaces.list(ids, page);
  }

  /** A team workspace whose creator becomes its owner. */
  async create(input: CreateWorkspaceInput, actorId: string): Promise<WorkspaceDoc> {
    const now = new Date();
    const _id = newId('wsp');
    const workspace = await insertWithSlug(
      this.workspaces,
      (slug): WorkspaceDoc => ({
        _id,
        type: 'team',
        name: input.name,
        slug,
        ownerId: actorId,
        status: 'active',
        settings: input.settings,
        createdAt: now,
        updatedAt: now,
      }),
      { chosen: input.slug, name: input.name, fallback: 'workspace', what: 'workspace' },
    );
    const membership: MembershipDoc = {
      _id: newId('mem'),
      workspaceId: _id,
      userId: actorId,
      role: 'owner',
      status: 'active',
      createdBy: actorId,
      createdAt: now,
      updatedAt: now,
    };
    await this.memberships.insert(membership);
    await this.audit.record({
      actorId,
      workspaceId: _id,
      resourceType: 'workspace',
      resourceId: _id,
      action: 'create',
      after: pick(workspace, SUMMARY),
    });
    return workspace;
  }

  async update(workspace: WorkspaceDoc, input: UpdateWorkspaceInput, actorId: string): Promise<WorkspaceDoc> {
    const set: Partial<WorkspaceDoc> = { updatedAt: new Date() };
    if (input.name !== undefined) set.name = input.name;
    if (input.settings !== undefined) set.settings = input.settings;
    const updated = await this.workspaces.update(workspace._id, set);
    const after = updated ?? { ...workspace, ...set };
    await this.audit.record({
      actorId,
      workspaceId: workspace._id,
      resourceType: 'workspace',
      resourceId: workspace._id,
      action: 'update',
      before: pick(workspace, SUMMARY),
      after: pick(after, SUMMARY),
      metadata: { fields: Object.keys(input) },
    });
    return after;
  }
}
