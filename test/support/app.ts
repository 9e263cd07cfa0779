import type { Client } from '@temporalio/client';
import type { Express } from 'express';
import type { Db } from 'mongodb';
import { createApp } from '../../api/app';
import type { Config } from '../../src/config';
import { connectDatabase } from '../../src/db/mongo';
import type { Database } from '../../src/db/mongo';
import { newId } from '../../src/ids';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics';
import { generateApiKey } from '../../src/services/auth';
import type { Role } from '../../src/services/auth';
import { ObjectStore } from '../../src/storage/object-store';
import { connectTemporal } from '../../src/temporal/client';
import { startTracing } from '../../src/tracing';
import { testConfig } from './stack';

export interface TestApp {
  app: Express;
  config: Config;
  db: Db;
  temporal: Client;
  store: ObjectStore;
  close(): Promise<void>;
}

/** The real API on the real stack, in-process, with a database of its own (dropped on close). */
export async function startTestApp(
  overrides: Record<string, string> = {},
  opts: { rateLimitPerMinute?: number } = {},
): Promise<TestApp> {
  const config = testConfig(overrides);
  const database: Database = await connectDatabase(config);
  const tracing = startTracing(config, 'emboflow-api');
  const temporal = await connectTemporal(config, tracing);
  const store = new ObjectStore(config);
  const { app } = createApp(
    { config, db: database.db, temporal, store, logger: createLogger('silent'), metrics: createMetrics('api') },
    opts,
  );
  return {
    app,
    config,
    db: database.db,
    temporal,
    store,
    async close() {
      await database.db.dropDatabase().catch(() => undefined);
      await database.close();
      await temporal.connection.close();
      await tracing?.shutdown();
      store.destroy();
    },
  };
}

/** Inserts a user with an API key and the given memberships directly; returns the plaintext key. */
export async function seedUser(
  db: Db,
  memberships: Array<{ workspaceId: string; projectId?: string; role: Role }>,
): Promise<{ userId: string; apiKey: string }> {
  const now = new Date();
  const userId = newId('usr');
  await db.collection('users').insertOne({
    _id: userId as never,
    email: `${userId}@test.local`,
    displayName: userId,
    status: 'active',
    createdAt: now,
    updatedAt: now,
  });
  for (const m of memberships) {
    await db
      .collection('memberships')
      .insertOne({ _id: newId('mem') as never, ...m, userId, status: 'active', createdAt: now, updatedAt: now });
  }
  const key = generateApiKey();
  await db.collection('api_keys').insertOne({
    _id: newId('key') as never,
    userId,
    name: 'test',
    prefix: key.prefix,
    hash: key.hash,
    status: 'active',
    createdAt: now,
  });
  return { userId, apiKey: key.key };
}

/** A workspace and a project inserted directly (for tests of routes other than their own). */
export async function seedWorkspace(db: Db, name = 'ws'): Promise<{ workspaceId: string; projectId: string }> {
  const now = new Date();
  const workspaceId = newId('wsp');
  const projectId = newId('prj');
  await db.collection('workspaces').insertOne({
    _id: workspaceId as never,
    type: 'team',
    name,
    slug: `${name}-${workspaceId.slice(-10)}`,
    ownerId: 'seed',
    status: 'active',
    settings: {},
    createdAt: now,
    updatedAt: now,
  });
  await db.collection('projects').insertOne({
    _id: projectId as never,
    workspaceId,
    name: `${name} project`,
    slug: `p-${projectId.slice(-10)}`,
    description: '',
    status: 'active',
    createdBy: 'seed',
    createdAt: now,
    updatedAt: now,
  });
  return { workspaceId, projectId };
}
