import type { Collection, Db, Filter } from 'mongodb';
import { paginate } from '../db/pagination';
import {
  STORAGE_CONNECTION_TYPES,
  type CreateStorageConnectionInput,
  type StorageConnectionDoc,
} from '../domain/catalog';
import { newId } from '../ids';
import type { AuditLog } from './audit';
import { pick } from './common';
import { invalidField } from './errors';
import type { SecretStore } from './secrets';

const SUMMARY = ['name', 'type', 'provider', 'status'] as const;

export interface StorageConnectionQuery {
  type?: (typeof STORAGE_CONNECTION_TYPES)[number];
  provider?: string;
}

/** What the API answers: the connection with its secret reference, and whether it has one; never the secret. */
export function storageConnectionView(doc: StorageConnectionDoc) {
  const { _id, ...rest } = doc;
  return { id: _id, ...rest, hasSecret: doc.secretRef !== undefined };
}

export class StorageConnectionService {
  readonly connections: Collection<StorageConnectionDoc>;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
    private readonly secrets: SecretStore,
  ) {
    this.connections = db.collection<StorageConnectionDoc>('storage_connections');
  }

  get(connectionId: string): Promise<StorageConnectionDoc | null> {
    return this.connections.findOne({ _id: connectionId });
  }

  list(workspaceId: string, q: StorageConnectionQuery, page: { limit: number; cursor?: string }) {
    const filter: Filter<StorageConnectionDoc> = { workspaceId };
    if (q.type) filter.type = q.type;
    if (q.provider) filter.provider = q.provider;
    return paginate(this.connections, filter, page);
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
    await this.connections.insertOne(doc);
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
