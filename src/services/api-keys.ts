import type { Db } from 'mongodb';
import { ApiKeyRepository } from '../db/identity';
import type { PageRequest } from '../db/pagination';
import type { ApiKeyDocument } from '../domain/identity';
import { newId } from '../ids';
import type { AuditLog } from './audit';
import { generateApiKey } from './auth';
import { clash, missing } from './errors';

/** The API's view of a key: never its hash, and the plaintext only in the answer that created it. */
export type ApiKeyView = Omit<ApiKeyDocument, '_id' | 'hash'> & { id: string };

export function apiKeyView(doc: ApiKeyDocument): ApiKeyView {
  const { _id, hash: _hash, ...rest } = doc;
  return { id: _id, ...rest };
}

export class ApiKeyService {
  private readonly keys: ApiKeyRepository;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
  ) {
    this.keys = new ApiKeyRepository(db);
  }

  /**
   * A new key for `userId`. The plaintext is returned once and stored nowhere: the document holds its SHA-256
   * and the public lookup prefix. API keys belong to a user, not a workspace, so the audit record has no workspace.
   */
  async create(userId: string, name: string, actorId: string): Promise<{ doc: ApiKeyDocument; key: string }> {
    const { key, prefix, hash } = generateApiKey();
    const doc: ApiKeyDocument = {
      _id: newId('key'),
      userId,
      name,
      prefix,
      hash,
      status: 'active',
      createdAt: new Date(),
    };
    await this.keys.insert(doc);
    await this.audit.record({
      actorId,
      workspaceId: null,
      resourceType: 'api_key',
      resourceId: doc._id,
      action: 'create',
      after: { name, userId },
    });
    return { doc, key };
  }

  get(keyId: string): Promise<ApiKeyDocument | null> {
    return this.keys.get(keyId);
  }

  list(userId: string, page: PageRequest) {
    return this.keys.list(userId, page);
  }

  /** Revokes a key at once (the authenticator only accepts active keys). `workspaceId`: the authority an admin acted through. */
  async revoke(doc: ApiKeyDocument, actorId: string, workspaceId: string | null): Promise<ApiKeyDocument> {
    if (doc.status === 'revoked') throw clash('the key is already revoked');
    const now = new Date();
    const updated = await this.keys.revoke(doc._id, actorId, now);
    if (!updated) throw missing('api key');
    await this.audit.record({
      actorId,
      workspaceId,
      resourceType: 'api_key',
      resourceId: doc._id,
      action: 'revoke',
      before: { name: doc.name, userId: doc.userId, status: doc.status },
      after: { name: doc.name, userId: doc.userId, status: 'revoked' },
    });
    return updated;
  }
}
