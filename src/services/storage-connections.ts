import type { Db } from 'mongodb';
import { StorageConnectionRepository } from '../db/catalog';
import type { StorageConnectionQuery } from '../db/catalog';
import type { PageRequest } from '../db/pagination';
import type { CreateStorageConnectionInput, StorageConnectionDoc } from '../domain/catalog';
import { newId } from '../ids';
import type { AuditLog } from './audit';
import { pick } from './common';
import { invalidField } from './errors';
import type { SecretStore } from './secrets';

const SUMMARY = ['name', 'type', 'provider', 'status'] as const;

export type { StorageConnectionQuery } from '../db/catalog';

/** What the API answers: the connection with its secret reference, and whether it has one; never the secret. */
export function storageConnectionView(doc: StorageConnectionDoc) {
  const { _id, ...rest } = doc;
  return { id: _id, ...rest, hasSecret: doc.secretRef !== undefined };
}

export class StorageConnectionService {
  private readonly connections: StorageConnectionRepository;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
    private readonly secrets: SecretStore,
  ) {
    this.connections = new StorageConnectionRepository(db);
  }

  get(connectionId: string): Promise<StorageConnectionDoc | null> {
    return this.connections.get(connectionId);
  }

  list(workspaceId: string, q: StorageConnectionQuery, page: PageRequest) {
    return this.connections.list(workspaceId, q, page);
  }

  /**
   * Creates a connection. A secret is encrypted into `secrets` first and only its reference is stored here; without
   * EMBOFLOW_SECRET_KEY a secret is refused, since nothing could ever decrypt it.
   */
  async create(
    workspaceId: string,
    input: CreateStorageConnectionInput,
    actorId: string,
  ): Promise<StorageConnectionDoc> {
    if (input.secret !== undefined && !this.secrets.box.available) {
      throw invalidField(
        'secret',
        'this deployment cannot store secrets: set EMBOFLOW_SECRET_KEY (32+ characters) on the API',
      );
    }
    const _id = newId('stc');
    const secretRef =
      input.secret !== undefined
        ? await this.secrets.put({ workspaceId, ownerType: 'storage_connection', ownerId: _id }, input.secret)
        : undefined;
    const now = new Date();
    const doc: StorageConnectionDoc = {
      _id,
      workspaceId,
      type: input.type,
      provider: input.provider,
      name: input.name,
      status: 'active',
      config: input.config,
      ...(secretRef ? { secretRef } : {}),
      createdBy: actorId,
      createdAt: now,
      updatedAt: now,
    };
    await this.connections.insert(doc);
    await this.audit.record({
      actorId,
      workspaceId,
      resourceType: 'storage_connection',
      resourceId: _id,
      action: 'create',
      after: { ...pick(doc, SUMMARY), hasSecret: secretRef !== undefined },
    });
    return doc;
  }
}
