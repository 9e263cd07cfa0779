import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from 'mongodb';
import { ApiKeyRepository, MembershipRepository } from '../db/identity';
import { ROLES } from '../domain/identity';
import type { Role } from '../domain/identity';

export { ROLES, type Role };

export function roleAtLeast(role: Role | undefined, min: Role): boolean {
  return role !== undefined && ROLES.indexOf(role) >= ROLES.indexOf(min);
}

export interface Membership {
  workspaceId: string;
  projectId?: string;
  role: Role;
}

export interface ApiKeyDoc {
  _id: string;
  userId: string;
  name: string;
  /** Public lookup part of the key; the secret part is stored only as a hash. */
  prefix: string;
  hash: string;
  status: 'active' | 'revoked';
  lastUsedAt?: Date;
  revokedAt?: Date;
  createdAt: Date;
}

export class AuthContext {
  constructor(
    readonly userId: string,
    readonly keyId: string,
    readonly memberships: Membership[],
  ) {}

  /** The caller's role on a workspace, or on a project (the higher of its workspace and project roles). */
  roleFor(workspaceId: string, projectId?: string): Role | undefined {
    let best: Role | undefined;
    for (const m of this.memberships) {
      if (m.workspaceId !== workspaceId) continue;
      if (m.projectId && m.projectId !== projectId) continue;
      if (!best || roleAtLeast(m.role, best)) best = m.role;
    }
    return best;
  }

  workspaceIds(): string[] {
    return [...new Set(this.memberships.map((m) => m.workspaceId))];
  }
}

const KEY_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
function randomToken(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += KEY_ALPHABET[b % KEY_ALPHABET.length];
  return out;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

const KEY_PATTERN = /^efk_([a-z0-9]{12})_([a-z0-9]{32})$/;

/** A new API key: the plaintext is returned once to the caller and never stored. */
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const prefix = randomToken(12);
  const key = `efk_${prefix}_${randomToken(32)}`;
  return { key, prefix, hash: hashApiKey(key) };
}

/** Accepts a caller-chosen bootstrap key too, as long as it has the key format. */
export function parseApiKey(key: string): { prefix: string } | undefined {
  const m = KEY_PATTERN.exec(key);
  return m ? { prefix: m[1]! } : undefined;
}

const LAST_USED_WRITE_INTERVAL_MS = 60_000;

export class Authenticator {
  private readonly lastUsedWrites = new Map<string, number>();
  private readonly keys: ApiKeyRepository;
  private readonly memberships: MembershipRepository;

  constructor(db: Db) {
    this.keys = new ApiKeyRepository(db);
    this.memberships = new MembershipRepository(db);
  }

  async authenticate(key: string): Promise<AuthContext | undefined> {
    const parsed = parseApiKey(key);
    if (!parsed) return undefined;
    const doc = await this.keys.findActiveByPrefix(parsed.prefix);
    if (!doc) return undefined;
    const given = Buffer.from(hashApiKey(key), 'hex');
    const stored = Buffer.from(doc.hash, 'hex');
    if (given.length !== stored.length || !timingSafeEqual(given, stored)) return undefined;

    const now = Date.now();
    if (now - (this.lastUsedWrites.get(doc._id) ?? 0) > LAST_USED_WRITE_INTERVAL_MS) {
      this.lastUsedWrites.set(doc._id, now);
      await this.keys.touchLastUsed(doc._id, new Date(now));
    }
    const memberships = await this.memberships.activeRoles(doc.userId);
    return new AuthContext(
      doc.userId,
      doc._id,
      memberships.map((m) => ({ workspaceId: m.workspaceId, projectId: m.projectId ?? undefined, role: m.role })),
    );
  }
}
