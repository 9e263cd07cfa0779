import type { Db } from 'mongodb';
import { MembershipRepository, ProjectRepository, UserRepository } from '../db/identity';
import type { PageRequest } from '../db/pagination';
import type { AddMemberInput, MembershipDoc } from '../domain/identity';
import { newId } from '../ids';
import type { AuditLog } from './audit';
import { roleAtLeast } from './auth';
import type { AuthContext, Role } from './auth';
import { pick } from './common';
import { clash, invalidField, missing, notAllowed } from './errors';

const SUMMARY = ['userId', 'role', 'projectId', 'status'] as const;

/** Who is acting, and their role on the workspace itself (project roles never grant workspace ownership). */
export interface Caller {
  userId: string;
  workspaceRole: Role | undefined;
}

/** Only owners hand out or take away ownership; admins manage everyone else. */
export function assertMayGrant(caller: Caller, role: Role): void {
  if (role === 'owner' && caller.workspaceRole !== 'owner') throw notAllowed('only an owner may grant the owner role');
}

/** How the caller relates to another user's account (for managing their API keys). */
export type Authority =
  { kind: 'self' } | { kind: 'admin'; workspaceId: string } | { kind: 'forbidden' } | { kind: 'unrelated' };

export interface MemberQuery {
  projectId?: string;
  userId?: string;
  role?: Role;
}

export class MembershipService {
  private readonly memberships: MembershipRepository;
  private readonly users: UserRepository;
  private readonly projects: ProjectRepository;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
  ) {
    this.memberships = new MembershipRepository(db);
    this.users = new UserRepository(db);
    this.projects = new ProjectRepository(db);
  }

  get(membershipId: string): Promise<MembershipDoc | null> {
    return this.memberships.get(membershipId);
  }

  list(workspaceId: string, q: MemberQuery, page: PageRequest) {
    return this.memberships.list(workspaceId, q, page);
  }

  /** Adds a user (by id or email) to the workspace, or to one of its projects. */
  async add(workspaceId: string, input: AddMemberInput, caller: Caller): Promise<MembershipDoc> {
    assertMayGrant(caller, input.role);
    const field = input.userId ? 'userId' : 'email';
    const userId = await this.users.findId(input.userId ? { _id: input.userId } : { email: input.email! });
    if (!userId) throw invalidField(field, 'no such user');
    return this.insert(workspaceId, userId, input.role, input.projectId, caller);
  }

  /** Inserts a membership after the checks every path shares (also used when an admin creates a user). */
  async insert(
    workspaceId: string,
    userId: string,
    role: Role,
    projectId: string | undefined,
    caller: Caller,
  ): Promise<MembershipDoc> {
    assertMayGrant(caller, role);
    if (projectId) {
      if (role === 'owner')
        throw invalidField('role', 'owner is a workspace role; a project membership is viewer, editor or admin');
      if (!(await this.projects.existsInWorkspace(projectId, workspaceId)))
        throw invalidField('projectId', 'no such project in this workspace');
    }
    const existing = await this.memberships.find(workspaceId, userId, projectId);
    if (existing)
      throw clash(`the user is already a member here (membership ${existing._id}); change its role instead`, 'userId');
    const now = new Date();
    const doc: MembershipDoc = {
      _id: newId('mem'),
      workspaceId,
      ...(projectId ? { projectId } : {}),
      userId,
      role,
      status: 'active',
      createdBy: caller.userId,
      createdAt: now,
      updatedAt: now,
    };
    await this.memberships.insert(doc);
    await this.audit.record({
      actorId: caller.userId,
      workspaceId,
      projectId,
      resourceType: 'membership',
      resourceId: doc._id,
      action: 'create',
      after: pick(doc, SUMMARY),
    });
    return doc;
  }

  async updateRole(m: MembershipDoc, role: Role, caller: Caller): Promise<MembershipDoc> {
    this.assertMayTouch(m, caller);
    assertMayGrant(caller, role);
    if (m.projectId && role === 'owner') throw invalidField('role', 'owner is a workspace role');
    if (m.role === 'owner' && role !== 'owner') await this.assertNotLastOwner(m);
    const updated = await this.memberships.setRole(m._id, role);
    if (!updated) throw missing('membership');
    await this.audit.record({
      actorId: caller.userId,
      workspaceId: m.workspaceId,
      projectId: m.projectId,
      resourceType: 'membership',
      resourceId: m._id,
      action: 'update',
      before: pick(m, SUMMARY),
      after: pick(updated, SUMMARY),
    });
    return updated;
  }

  async remove(m: MembershipDoc, caller: Caller): Promise<void> {
    this.assertMayTouch(m, caller);
    if (m.role === 'owner') await this.assertNotLastOwner(m);
    if (!(await this.memberships.delete(m._id))) throw missing('membership');
    await this.audit.record({
      actorId: caller.userId,
      workspaceId: m.workspaceId,
      projectId: m.projectId,
      resourceType: 'membership',
      resourceId: m._id,
      action: 'delete',
      before: pick(m, SUMMARY),
    });
  }

  private assertMayTouch(m: MembershipDoc, caller: Caller): void {
    if (m.role === 'owner' && caller.workspaceRole !== 'owner')
      throw notAllowed("only an owner may change or remove an owner's membership");
  }

  /** A workspace always keeps one owner (a check, not a transaction: two concurrent demotions could both pass). */
  private async assertNotLastOwner(m: MembershipDoc): Promise<void> {
    if (m.projectId) return;
    const owners = await this.memberships.countActiveOwners(m.workspaceId);
    if (owners <= 1) throw clash("this is the workspace's last owner; make someone else owner first");
  }

  /**
   * Whether the caller may manage another user's account: themselves always; otherwise as an admin of a workspace
   * the user belongs to (an owner's account only as an owner). A user the caller shares no workspace with is
   * 'unrelated' (a 404 to the caller), a shared one without the role is 'forbidden' (a 403).
   */
  async authorityOver(auth: AuthContext, userId: string): Promise<Authority> {
    if (userId === auth.userId) return { kind: 'self' };
    const theirs = await this.memberships.activeRoles(userId, auth.workspaceIds());
    let shared = false;
    for (const m of theirs) {
      const mine = auth.roleFor(m.workspaceId);
      if (!mine) continue;
      shared = true;
      if (m.projectId && !theirs.some((t) => t.workspaceId === m.workspaceId && !t.projectId)) {
        // Only a project member there: a workspace admin manages them too.
        if (roleAtLeast(mine, 'admin')) return { kind: 'admin', workspaceId: m.workspaceId };
        continue;
      }
      if (m.projectId) continue;
      if (roleAtLeast(mine, 'admin') && (m.role !== 'owner' || mine === 'owner'))
        return { kind: 'admin', workspaceId: m.workspaceId };
    }
    return { kind: shared ? 'forbidden' : 'unrelated' };
  }
}
