import type { Collection, Db } from 'mongodb';
import type { CreateUserInput, MembershipDoc, UserDoc } from '../domain/identity';
import { newId } from '../ids';
import type { AuditLog } from './audit';
import { pick } from './common';
import { clash, isDuplicateKey, missing } from './errors';
import { assertMayGrant, type Caller, type MembershipService } from './memberships';

export class UserService {
  readonly users: Collection<UserDoc>;
  private readonly memberships: Collection<MembershipDoc>;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
    private readonly membershipService: MembershipService,
  ) {
    this.users = db.collection<UserDoc>('users');
    this.memberships = db.collection<MembershipDoc>('memberships');
  }

  /** The caller and every active membership they hold. */
  async me(userId: string): Promise<{ user: UserDoc; memberships: MembershipDoc[] }> {
    const user = await this.users.findOne({ _id: userId });
    if (!user) throw missing('user');
    const memberships = await this.memberships
      .find({ userId, status: 'active' })
      .sort({ createdAt: 1, _id: 1 })
      .toArray();
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
    try {
      await this.users.insertOne(user);
    } catch (err) {
      if (isDuplicateKey(err))
        throw clash('a user with this email already exists; add them as a member instead', 'email');
      throw err;
    }
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
