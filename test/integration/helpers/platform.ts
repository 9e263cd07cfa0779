// Fixtures for the platform suites: one in-process API per file, tenants with a key per role, and a database
// fingerprint to prove a request wrote nothing.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from 'mongodb';
import request from 'supertest';
import { answerUnparsableRequests } from '../../../api/middleware/errors';
import { COLLECTIONS } from '../../../src/db/indexes';
import type { Role } from '../../../src/services/auth';
import { seedUser, seedWorkspace, startTestApp } from '../../support/app';
import type { TestApp } from '../../support/app';

/** 32+ characters: the storage-connection secret key of every platform test app. */
export const TEST_SECRET_KEY = 'test-only-secret-key-0123456789abcdef';

export interface PlatformApp extends TestApp {
  url: string;
  server: Server;
}

/** The real app, listening once on an ephemeral port (supertest would otherwise start a server per request). */
export async function startPlatformApp(overrides: Record<string, string> = {}): Promise<PlatformApp> {
  const t = await startTestApp(
    { EMBOFLOW_SECRET_KEY: TEST_SECRET_KEY, ...overrides },
    { rateLimitPerMinute: 10_000_000 },
  );
  return listen(t);
}

export async function listen<T extends { app: Parameters<typeof createServer>[1]; close(): Promise<void> }>(
  t: T,
): Promise<T & { url: string; server: Server }> {
  const server = createServer(t.app);
  answerUnparsableRequests(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    ...t,
    url,
    server,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await t.close();
    },
  };
}

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** A caller holding one API key. */
export class Client {
  constructor(
    readonly url: string,
    readonly apiKey: string,
    readonly userId = '',
  ) {}

  call(method: Method, path: string, body?: unknown): request.Test {
    const req = request(this.url)[method](path).set('Authorization', `Bearer ${this.apiKey}`);
    return body === undefined ? req : req.send(body as object);
  }

  get(path: string) {
    return this.call('get', path);
  }
  post(path: string, body: unknown = {}) {
    return this.call('post', path, body);
  }
  patch(path: string, body: unknown) {
    return this.call('patch', path, body);
  }
  delete(path: string) {
    return this.call('delete', path);
  }
}

export const ROLE_LIST: Role[] = ['viewer', 'editor', 'admin', 'owner'];

export interface Tenant {
  workspaceId: string;
  projectId: string;
  /** One member per role, each with their own key. */
  as: Record<Role, Client>;
}

/** A workspace with a project and one member per role. */
export async function seedTenant(t: PlatformApp, name: string): Promise<Tenant> {
  const { workspaceId, projectId } = await seedWorkspace(t.db, name);
  const as = {} as Record<Role, Client>;
  for (const role of ROLE_LIST) {
    const { userId, apiKey } = await seedUser(t.db, [{ workspaceId, role }]);
    as[role] = new Client(t.url, apiKey, userId);
  }
  return { workspaceId, projectId, as };
}

/** Every collection's documents, canonically serialised (api_keys.lastUsedAt moves on any authenticated call). */
async function dump(db: Db): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  await Promise.all(
    COLLECTIONS.map(async (name) => {
      const docs = await db.collection(name).find({}).sort({ _id: 1 }).toArray();
      out[name] = docs.map((d) => (name === 'api_keys' ? { ...d, lastUsedAt: undefined } : d));
    }),
  );
  return out;
}

/** Document counts and a content hash per collection: equal fingerprints mean nothing was written. */
export async function fingerprint(db: Db): Promise<{ counts: Record<string, number>; hashes: Record<string, string> }> {
  const all = await dump(db);
  const counts = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.length]));
  const hashes = Object.fromEntries(
    Object.entries(all).map(([k, v]) => [k, createHash('sha256').update(JSON.stringify(v)).digest('hex')]),
  );
  return { counts, hashes };
}

/** Runs tasks with bounded concurrency (the API is shared; FerretDB serialises writes anyway). */
export async function inParallel<T>(
  items: T[],
  limit: number,
  fn: (item: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

/** A minimal valid runtime graph. */
export function simpleGraph(image = 'emboflow/tools:local') {
  return {
    nodes: [
      { id: 'a', executorType: 'docker', executorConfig: { image, command: ['true'] } },
      { id: 'b', executorType: 'builtin', executorConfig: { op: 'noop' } },
    ],
    edges: [{ source: 'a', target: 'b' }],
  };
}

let counter = 0;
/** A name no other call in this process has used. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Answers the created object's id, failing loudly (with the answer) when the API did not create it. */
async function created(req: request.Test, what: string): Promise<string> {
  const res = await req;
  if (res.status !== 201)
    throw new Error(`creating a ${what}: expected 201, got ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { id: string }).id;
}

/** Creates objects of every kind through the API, as one caller, inside one workspace and project. */
export class Builder {
  constructor(
    readonly c: Client,
    readonly scope: { workspaceId: string; projectId: string },
  ) {}

  project(): Promise<string> {
    return created(
      this.c.post(`/v1/workspaces/${this.scope.workspaceId}/projects`, { name: unique('Project') }),
      'project',
    );
  }
  workflow(projectId = this.scope.projectId): Promise<string> {
    return created(this.c.post(`/v1/projects/${projectId}/workflows`, { name: unique('Workflow') }), 'workflow');
  }
  async version(workflowId: string, runtimeGraph: unknown = simpleGraph()): Promise<number> {
    const res = await this.c.post(`/v1/workflows/${workflowId}/versions`, { runtimeGraph });
    if (res.status !== 201) throw new Error(`version: ${res.status} ${JSON.stringify(res.body)}`);
    return (res.body as { versionNumber: number }).versionNumber;
  }
  customNode(contract = { inputs: ['file'], outputs: ['json'] }): Promise<string> {
    return created(
      this.c.post(`/v1/projects/${this.scope.projectId}/custom-nodes`, {
        name: unique('Node'),
        contract,
        source: { kind: 'image', image: 'emboflow/tools:local' },
      }),
      'custom node',
    );
  }
  asset(bucket: string): Promise<string> {
    const key = `workspaces/${this.scope.workspaceId}/raw/${unique('file')}.h5`;
    return created(
      this.c.post(`/v1/projects/${this.scope.projectId}/assets`, {
        type: 'hdf5_dataset',
        displayName: unique('Asset'),
        storageRef: { bucket, key },
        sizeBytes: 10,
        detectedFormats: ['hdf5'],
      }),
      'asset',
    );
  }
  dataset(): Promise<string> {
    return created(
      this.c.post(`/v1/projects/${this.scope.projectId}/datasets`, { name: unique('Dataset') }),
      'dataset',
    );
  }
  datasetVersion(datasetId: string, assetIds: string[]): Promise<string> {
    return created(
      this.c.post(`/v1/datasets/${datasetId}/versions`, { versionTag: unique('v'), assetIds }),
      'dataset version',
    );
  }
  storageConnection(secret?: string): Promise<string> {
    return created(
      this.c.post(`/v1/workspaces/${this.scope.workspaceId}/storage-connections`, {
        type: 'object_storage',
        provider: 's3',
        name: unique('Connection'),
        config: { bucket: 'external-bucket', endpoint: 'https://s3.example.com' },
        ...(secret ? { secret } : {}),
      }),
      'storage connection',
    );
  }
  annotationTask(assetId: string): Promise<string> {
    return created(
      this.c.post(`/v1/projects/${this.scope.projectId}/annotation-tasks`, {
        targetType: 'asset',
        targetRef: { id: assetId },
        labelType: 'bbox',
      }),
      'annotation task',
    );
  }
}
