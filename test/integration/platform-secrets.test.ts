// No plaintext API key or credential anywhere: not in any collection, not in the captured logs (including the
// logs of failing requests), not in any answer but the one that created the key. Keys minted by the CLI too.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createApp } from '../../api/app';
import { COLLECTIONS } from '../../src/db/indexes';
import { connectDatabase } from '../../src/db/mongo';
import type { Database } from '../../src/db/mongo';
import { createMetrics } from '../../src/metrics';
import { ObjectStore } from '../../src/storage/object-store';
import { connectTemporal } from '../../src/temporal/client';
import { seedUser, seedWorkspace } from '../support/app';
import { stackEnv, testConfig } from '../support/stack';
import { Client, listen, TEST_SECRET_KEY, unique } from './helpers/platform';

const REPO = join(__dirname, '..', '..');
const logLines: string[] = [];
let app: Awaited<ReturnType<typeof startWithCapturedLogs>>;
/** A second connection, so the database can still be read after the app's own connection is closed. */
let reader: Database;

/** The real app with a pino logger (every level) writing into memory instead of stdout. */
async function startWithCapturedLogs() {
  const config = testConfig({ EMBOFLOW_SECRET_KEY: TEST_SECRET_KEY, LOG_LEVEL: 'trace' });
  const database = await connectDatabase(config);
  const temporal = await connectTemporal(config);
  const store = new ObjectStore(config);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino({ level: 'trace' }, sink);
  const { app: express } = createApp(
    { config, db: database.db, temporal, store, logger, metrics: createMetrics('api') },
    { rateLimitPerMinute: 1_000_000 },
  );
  return listen({
    app: express,
    config,
    db: database.db,
    database,
    async close() {
      await database.db.dropDatabase().catch(() => undefined);
      await database.close().catch(() => undefined);
      await temporal.connection.close();
      store.destroy();
    },
  });
}

/** Runs `npm run mint-key`'s entry point against the test database; resolves with stdout and stderr. */
function mintKey(dbName: string, email: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      join(REPO, 'node_modules', '.bin', 'tsx'),
      [join(REPO, 'src', 'cli', 'mint-key.ts'), '--email', email, '--name', 'from-cli'],
      { cwd: REPO, env: { PATH: process.env.PATH ?? '', ...stackEnv(), MONGODB_DB: dbName }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  app = await startWithCapturedLogs();
  reader = await connectDatabase(app.config, { ensureIndexes: false });
});

afterAll(async () => {
  await app?.close();
  // The app's own connection may already be closed (below), so the reader drops the test database.
  await reader?.db.dropDatabase().catch(() => undefined);
  await reader?.close();
});

it('keeps every plaintext key and secret out of the database and the logs', async () => {
  const { workspaceId } = await seedWorkspace(app.db, 'vault');
  const admin = await seedUser(app.db, [{ workspaceId, role: 'admin' }]);
  const client = new Client(app.url, admin.apiKey, admin.userId);
  const plaintexts: string[] = [admin.apiKey];

  // API keys through the API: each plaintext appears in its creating answer only.
  for (let n = 0; n < 3; n++) {
    const res = await client.post('/v1/api-keys', { name: `key-${n}` });
    expect(res.status).toBe(201);
    plaintexts.push(res.body.key);
    expect((await new Client(app.url, res.body.key).get('/v1/me')).status).toBe(200);
  }
  const revoked = await client.get('/v1/api-keys');
  expect(JSON.stringify(revoked.body)).not.toMatch(/efk_[a-z0-9]{12}_[a-z0-9]{32}/);
  const keyId = revoked.body.items[0].id;
  expect((await client.post(`/v1/api-keys/${keyId}/revoke`)).status).toBe(200);

  // Storage-connection secrets, including one in a request that fails validation.
  for (let n = 0; n < 3; n++) {
    const secret = `AKIA-${unique('secret')}-${'s'.repeat(20)}`;
    plaintexts.push(secret);
    const res = await client.post(`/v1/workspaces/${workspaceId}/storage-connections`, {
      type: 'object_storage',
      provider: 's3',
      name: `c${n}`,
      config: { bucket: 'b' },
      secret,
    });
    expect(res.status).toBe(201);
    expect(JSON.stringify(res.body)).not.toContain(secret);
  }
  const refusedSecret = `refused-${unique('secret')}`;
  plaintexts.push(refusedSecret);
  expect(
    (
      await client.post(`/v1/workspaces/${workspaceId}/storage-connections`, {
        type: 'ftp',
        provider: 's3',
        name: 'c',
        secret: refusedSecret,
      })
    ).status,
  ).toBe(400);
  const listed = await client.get(`/v1/workspaces/${workspaceId}/storage-connections`);
  expect(listed.body.items).toHaveLength(3);

  // The CLI prints a key once, for an existing user.
  const minted = await mintKey(
    app.config.MONGODB_DB,
    (await app.db.collection('users').findOne({ _id: admin.userId as never }))!.email as string,
  );
  expect(minted.code).toBe(0);
  const cliKey = minted.stdout.trim();
  expect(cliKey).toMatch(/^efk_[a-z0-9]{12}_[a-z0-9]{32}$/);
  expect((await new Client(app.url, cliKey).get('/v1/me')).body.user.id).toBe(admin.userId);
  plaintexts.push(cliKey);
  logLines.push(minted.stderr);
  expect((await mintKey(app.config.MONGODB_DB, 'nobody@test.local')).code).not.toBe(0);

  // Requests that fail inside the server, carrying keys and secrets: they are logged, and must log neither.
  await app.database.close();
  const failing = await new Client(app.url, plaintexts[1]!).post(`/v1/workspaces/${workspaceId}/storage-connections`, {
    type: 'object_storage',
    provider: 's3',
    name: 'late',
    secret: plaintexts[5],
  });
  expect(failing.status).toBe(500);
  expect(failing.body).toEqual({ error: { code: 'internal', message: 'internal error' } });
  expect(logLines.some((l) => l.includes('unhandled error'))).toBe(true);

  const everything: string[] = [];
  for (const name of COLLECTIONS) everything.push(JSON.stringify(await reader.db.collection(name).find({}).toArray()));
  const database = everything.join('\n');
  const logs = logLines.join('\n');
  expect(database).toContain('secret_'); // the references are there...
  for (const plaintext of plaintexts) {
    const forms = [plaintext, Buffer.from(plaintext).toString('base64'), Buffer.from(plaintext).toString('hex')];
    if (plaintext.startsWith('efk_')) forms.push(plaintext.slice(17)); // the secret part of a key on its own
    for (const form of forms) {
      expect({ form, inDatabase: database.includes(form) }).toEqual({ form, inDatabase: false });
      expect({ form, inLogs: logs.includes(form) }).toEqual({ form, inLogs: false });
    }
  }
});
