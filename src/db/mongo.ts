import { MongoClient } from 'mongodb';
import type { Db } from 'mongodb';
import type { Config } from '../config';
import { ensureIndexes } from './indexes';
import type { SweptRetention } from './indexes';

export interface Database {
  client: MongoClient;
  db: Db;
  /** Retention rules the server cannot enforce with TTL indexes; the worker sweeps them. */
  sweptRetention: SweptRetention[];
  close(): Promise<void>;
}

/** Connects once per process; callers pass the handle on. Indexes are created idempotently unless told not to. */
export async function connectDatabase(
  config: Pick<Config, 'MONGODB_URI' | 'MONGODB_DB'>,
  opts: { ensureIndexes?: boolean } = {},
): Promise<Database> {
  const client = new MongoClient(config.MONGODB_URI, {
    serverSelectionTimeoutMS: 5_000,
    maxPoolSize: 50,
    // Retryable writes need a replica set or mongos; FerretDB and standalone servers reject them.
    retryWrites: false,
  });
  await client.connect();
  const db = client.db(config.MONGODB_DB);
  try {
    const sweptRetention = opts.ensureIndexes === false ? [] : await ensureIndexes(db);
    return { client, db, sweptRetention, close: () => client.close() };
  } catch (err) {
    await client.close();
    throw err;
  }
}
