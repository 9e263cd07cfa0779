// Identity and tenancy (seed 000; seed 001 for API keys): users, workspaces, projects, memberships and API keys.
import type { Collection, Db, Filter } from 'mongodb';
import type { ApiKeyDocument, MembershipDoc, ProjectDoc, UserDoc, WorkspaceDoc } from '../domain/identity';
import { insertUnique, insertWithSlug, platformCollection } from './common';
import { paginate } from './pagination';
import type { Page, PageRequest } from './pagination';

export class UserRepository {
  private readonly users: Collection<UserDoc>;

  constructor(db: Db) {
    this.users = platformCollection(db, 'users');
  }

  get(userId: string): Promise<UserDoc | null> {
    return this.users.findOne({ _id: userId });
  }

  /** Whether the database holds any user at all. */
  async any(): Promise<boolean> {
    return (await this.users.findOne({}, { projection: { _id: 1 } })) !== null;
  }

  findActiveByEmail(email: string): Promise<UserDoc | null> {
    return this.users.findOne({ email, status: 'active' });
  }

  /** The id of the user with this id, or with this email. */
  async findId(ref: { _id: string } | { email: string }): Promise<string | undefined> {
    return (await this.users.findOne(ref, { projection: { _id: 1 } }))?._id;
  }

  async insert(user: UserDoc): Promise<void> {
    await this.users.insertOne(user);
  }

  /** False when the email is taken (a unique index). */
  insertUnique(user: UserDoc): Promise<boolean> {
    return insertUnique(this.users, user);
  }
}

export class WorkspaceRepository {
  private readonly workspaces: Collection<WorkspaceDoc>;

  constructor(db: Db) {
    this.workspaces = platformCollection(db, 'workspaces');
  }

  get(workspaceId: string): Promise<WorkspaceDoc | null> {
    return this.workspaces.findOne({ _id: workspaceId });
  }

  /** The workspaces among `ids`, newest first. */
  list(ids: string[], page: PageRequest): Promise<Page<WorkspaceDoc>> {
    return paginate(this.workspaces, { _id: { $in: ids } }, page);
  }

  async insert(workspace: WorkspaceDoc): Promise<void> {
    await this.workspaces.insertOne(workspace);
  }

  /** Slugs are unique across workspaces (a unique index). */
  insertWithSlug(
    build: (slug: string) => WorkspaceDoc,
    base: string,
    suffixed: boolean,
  ): Promise<WorkspaceDoc | undefined> {
    return insertWithSlug(this.workspaces, build, base, suffixed);
  }

  /** The workspace after the update; null when it is gone. */
  update(workspaceId: string, set: Partial<WorkspaceDoc>): Promise<WorkspaceDoc | null> {
    return this.workspaces.findOneAndUpdate({ _id: workspaceId }, { $set: set }, { returnDocument: 'after' });
  }

  /**
   * The limits a workspace's settings put on its nodes: running containers at once (maxRunningContainers) and the
   * default cap on a node's outputs (maxOutputBytes). Only positive numbers count.
   */
  async executionLimits(
    workspaceId: string,
  ): Promise<{ maxRunningContainers?: number; maxOutputBytes?: number; allowRootContainers: boolean }> {
    const workspace = await this.workspaces.findOne({ _id: workspaceId }, { projection: { settings: 1 } });
    const positive = (v: unknown) => (typeof v === 'number' && v > 0 ? v : undefined);
    return {
      maxRunningContainers: positive(workspace?.settings?.maxRunningContainers),
      maxOutputBytes: positive(workspace?.settings?.maxOutputBytes),
      // Root in a node's container only where an admin allowed it, in so many words.
      allowRootContainers: workspace?.settings?.allowRootContainers === true,
    };
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

  /** A workspace's projects, newest first; `onlyIds` narrows them. */
  list(workspaceId: string, onlyIds: string[] | undefined, page: PageRequest): Promise<Page<ProjectDoc>> {
    const filter: Filter<ProjectDoc> = { workspaceId };
    if (onlyIds) filter._id = { $in: onlyIds };
    return paginate(this.projects, filter, page);
  }

  async existsInWorkspace(projectId: string, workspaceId: string): Promise<boolean> {
    return (await this.projects.findOne({ _id: projectId, workspaceId }, { projection: { _id: 1 } })) !== null;
  }

  /** Slugs are unique within a workspace (a unique index). */
  insertWithSlug(
    build: (slug: string) => ProjectDoc,
    base: string,
    suffixed: boolean,
  ): Promise<ProjectDoc | undefined> {
    return insertWithSlug(this.projects, build, base, suffixed);
  }

  /** The project after the update; null when it is gone. */
  update(projectId: string, set: Partial<ProjectDoc>): Promise<ProjectDoc | null> {
    return this.projects.findOneAndUpdate({ _id: projectId }, { $set: set }, { returnDocument: 'after' });
  }
}

/** What a caller's access is computed from: one membership's scope and role. */
export type MembershipRole = Pick<MembershipDoc, '_id' | 'workspaceId' | 'projectId' | 'role'>;

export class MembershipRepository {
  private readonly memberships: Collection<MembershipDoc>;

  constructor(db: Db) {
    this.memberships = platformCollection(db, 'memberships');
  }

  get(membershipId: string): Promise<MembershipDoc | null> {
    return this.memberships.findOne({ _id: membershipId });
  }

  /** A workspace's memberships, newest first, narrowed by project, user or role. */
  list(
    workspaceId: string,
    q: { projectId?: string; userId?: string; role?: MembershipDoc['role'] },
    page: PageRequest,
  ): Promise<Page<MembershipDoc>> {
    const filter: Filter<MembershipDoc> = { workspaceId };
    if (q.projectId) filter.projectId = q.projectId;
    if (q.userId) filter.userId = q.userId;
    if (q.role) filter.role = q.role;
    return paginate(this.memberships, filter, page);
  }

  /** The user's membership of the workspace itself (no projectId), or of one of its projects. */
  find(workspaceId: string, userId: string, projectId: string | undefined): Promise<MembershipDoc | null> {
    return this.memberships.findOne({ workspaceId, userId, projectId: projectId ?? { $exists: false } });
  }

  async insert(membership: MembershipDoc): Promise<void> {
    await this.memberships.insertOne(membership);
  }

  /** The membership after the change; null when it is gone. */
  setRole(membershipId: string, role: MembershipDoc['role']): Promise<MembershipDoc | null> {
    return this.memberships.findOneAndUpdate(
      { _id: membershipId },
      { $set: { role, updatedAt: new Date() } },
      { returnDocument: 'after' },
    );
  }

  /** False when it was already gone. */
  async delete(membershipId: string): Promise<boolean> {
    return (await this.memberships.deleteOne({ _id: membershipId })).deletedCount > 0;
  }

  countActiveOwners(workspaceId: string): Promise<number> {
    return this.memberships.countDocuments({
      workspaceId,
      role: 'owner',
      status: 'active',
      projectId: { $exists: false },
    });
  }

  /** A user's active memberships, oldest first. */
  listActive(userId: string): Promise<MembershipDoc[]> {
    return this.memberships.find({ userId, status: 'active' }).sort({ createdAt: 1, _id: 1 }).toArray();
  }

  /** A user's active roles, in the given workspaces only when `workspaceIds` is passed. */
  activeRoles(userId: string, workspaceIds?: string[]): Promise<MembershipRole[]> {
    const filter: Filter<MembershipDoc> = { userId, status: 'active' };
    if (workspaceIds) filter.workspaceId = { $in: workspaceIds };
    return this.memberships.find(filter, { projection: { workspaceId: 1, projectId: 1, role: 1 } }).toArray();
  }

  /** Those of `userIds` who are active members of the workspace, or of the project. */
  async activeMemberIds(scope: { workspaceId: string; projectId: string }, userIds: string[]): Promise<string[]> {
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
    return members.map((m) => m.userId);
  }
}

export class ApiKeyRepository {
  private readonly keys: Collection<ApiKeyDocument>;

  constructor(db: Db) {
    this.keys = platformCollection(db, 'api_keys');
  }

  async insert(key: ApiKeyDocument): Promise<void> {
    await this.keys.insertOne(key);
  }

  get(keyId: string): Promise<ApiKeyDocument | null> {
    return this.keys.findOne({ _id: keyId });
  }

  /** A user's keys, newest first, without their hashes. */
  list(userId: string, page: PageRequest): Promise<Page<ApiKeyDocument>> {
    return paginate(this.keys, { userId }, { ...page, projection: { hash: 0 } });
  }

  /** The key by its public prefix (a unique index), if it is active. */
  findActiveByPrefix(prefix: string): Promise<ApiKeyDocument | null> {
    return this.keys.findOne({ prefix, status: 'active' });
  }

  async touchLastUsed(keyId: string, at: Date): Promise<void> {
    await this.keys.updateOne({ _id: keyId }, { $set: { lastUsedAt: at } });
  }

  /** The key after revoking it; null when it is gone or was no longer active. */
  revoke(keyId: string, revokedBy: string, at: Date): Promise<ApiKeyDocument | null> {
    return this.keys.findOneAndUpdate(
      { _id: keyId, status: 'active' },
      { $set: { status: 'revoked', revokedAt: at, revokedBy } },
      { returnDocument: 'after' },
    );
  }
}
