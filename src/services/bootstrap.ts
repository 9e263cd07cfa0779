import type { Db } from 'mongodb';
import { ApiKeyRepository, MembershipRepository, UserRepository, WorkspaceRepository } from '../db/identity';
import { newId } from '../ids';
import { hashApiKey, parseApiKey } from './auth';

/**
 * On an empty database, creates the first admin: a user, their personal workspace (owner) and the given API key.
 * Does nothing when any user exists. Returns the workspace id it created, if any.
 */
export async function bootstrapAdmin(
  db: Db,
  apiKey: string,
  email = 'admin@emboflow.local',
): Promise<string | undefined> {
  const parsed = parseApiKey(apiKey);
  if (!parsed)
    throw new Error(
      'EMBOFLOW_BOOTSTRAP_API_KEY must look like efk_<12 chars>_<32 chars> (lowercase letters and digits)',
    );
  const users = new UserRepository(db);
  if (await users.any()) return undefined;
  const now = new Date();
  const userId = newId('usr');
  const workspaceId = newId('wsp');
  await users.insert({ _id: userId, email, displayName: 'Admin', status: 'active', createdAt: now, updatedAt: now });
  await new WorkspaceRepository(db).insert({
    _id: workspaceId,
    type: 'personal',
    name: 'Admin',
    slug: `admin-${workspaceId.slice(-8)}`,
    ownerId: userId,
    status: 'active',
    settings: {},
    createdAt: now,
    updatedAt: now,
  });
  await new MembershipRepository(db).insert({
    _id: newId('mem'),
    workspaceId,
    userId,
    role: 'owner',
    status: 'active',
    createdAt: now,
    updatedAt: now,
  });
  await new ApiKeyRepository(db).insert({
    _id: newId('key'),
    userId,
    name: 'bootstrap',
    prefix: parsed.prefix,
    hash: hashApiKey(apiKey),
    status: 'active',
    createdAt: now,
  });
  return workspaceId;
}
