// Idempotency keys of run starts: a repeated request with the same key answers with the run the first one started.
import type { Collection, Db } from 'mongodb';
import { insertUnique } from './common';

/** Kept a day (a TTL index, src/db/indexes.ts); unique per workspace and key. */
export interface IdempotencyKeyDoc {
  _id: string;
  workspaceId: string;
  key: string;
  runId: string;
  createdAt: Date;
}

export class IdempotencyKeyRepository {
  private readonly keys: Collection<IdempotencyKeyDoc>;

  constructor(db: Db) {
    this.keys = db.collection<IdempotencyKeyDoc>('idempotency_keys');
  }

  /**
   * Records that `key` starts `runId`; false when the workspace already used the key (the unique index decides
   * between concurrent requests: no transaction is needed).
   */
  claim(doc: IdempotencyKeyDoc): Promise<boolean> {
    return insertUnique(this.keys, doc);
  }

  /** The run a claimed key started. */
  async runIdOf(workspaceId: string, key: string): Promise<string | undefined> {
    return (await this.keys.findOne({ workspaceId, key }))?.runId;
  }
}
