import type { Db } from 'mongodb';
import { MembershipRepository, UserRepository } from '../db/identity';
import type { CreateUserInput, MembershipDoc, UserDoc } from '../domain/identity';
import { newId } from '../ids';
import type { AuditLog } from './audit';
import { pick } from './common';
import { clash, missing } from './errors';
import { assertMayGrant } from './memberships';
import type { Caller, MembershipService } from './memberships';

export class UserService {
  private readonly users: UserRepository;
  private readonly memberships: MembershipRepository;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
    private readonly membershipService: MembershipService,
  ) {
    this.users = new UserRepository(db);
    this.memberships = new MembershipRepository(db);
  }

  /** The caller and every active membership they hold. */
  async me(userId: string): Promise<{ user: UserDoc; memberships: MembershipDoc[] }> {
    const user = await this.users.get(userId);
    if (!user) throw missing('user');
    const memberships = await this.memberships.listActive(userId);
    return { user, memberships };
  }

  /** An admin creates an account directly inside their workspace (tests, bootstrap, service accounts). */
  async createInWorkspace(
    workspaceId: string,
    input: CreateUserInput,
    caller: Caller,
  ): Promise<{ user: UserDoc; membership: MembershipDoc }> {
    assertMayGrant(caller, input.role);
    const now = new Date();
    const user: UserDoc = {
      _id: newId('usr'),
      email: input.email,
      displayName: input.displayName,
      status: 'active',
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.users.insertUnique(user)))
      throw clash('a user with this email already exists; add them as a member instead', 'email');
    await this.audit.record({
      actorId: caller.userId,
      workspaceId,
      resourceType: 'user',
      resourceId: user._id,
      action: 'create',
      after: pick(user, ['displayName', 'status']),
    });
    const membership = await this.membershipService.insert(workspaceId, user._id, input.role, undefined, caller);
    return { user, membership };
  }
}
