import type { Db } from 'mongodb';
import { newId } from '../ids';
import { hashApiKey, parseApiKey } from './auth';

/**
 * On an empty database, creates the first admin: a user, their personal workspace (owner) and the given API key.
 * Does nothing when any user exists. Returns the workspace id it created, if any.
 */
export async function bootstrapAdmin(db: Db, apiKey: string, email = 'admin@emboflow.local'): Promise<string | undefined> {
  const parsed = parseApiKey(apiKey);
  if (!parsed) throw new Error('EMBOFLOW_BOOTSTRAP_API_KEY must look like efk_<12 chars>_<32 chars> (lowercase letters and digits)');
  if (await db.collection('users').findOne({}, { projection: { _id: 1 } })) return undefined;
  const now = new Date();
  const userId = newId('usr');
  const workspaceId = newId('wsp');
  await db.collection('users').insertOne({ _id: userId as never, email, displayName: 'Admin', status: 'active', createdAt: now, updatedAt: now });
  await db.collection('workspaces').insertOne({
    _id: workspaceId as never,
    type: 'personal',
    name: 'Admin',
    slug: `admin-${workspaceId.slice(-8)}`,
    ownerId: userId,
    status: 'active',
    settings: {},
    createdAt: now,
    updatedAt: now,
  });
  await db.collection('memberships').insertOne({
    _id: newId('mem') as never,
    workspaceId,
    userId,
    role: 'owner',
    status: 'active',
    createdAt: now,
    updatedAt: now,
  });
  await db.collection('api_keys').insertOne({
    _id: newId('key') as never,
    userId,
    name: 'bootstrap',
    prefix: parsed.prefix,
    hash: hashApiKey(apiKey),
    status: 'active',
    createdAt: now,
  });
  return workspaceId;
}
