// Hostile input against every mutating platform route: operator injection, prototype keys, mass assignment,
// deep nesting, oversized strings, wrong types, invalid UTF-8, unknown fields, bad path and query parameters and
// references into another tenant. Every case must be a 4xx and must write nothing: not a document in any
// collection (compared by count and by content hash) and not an object in the workspace's storage.
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { Response } from 'supertest';
import { seedUser } from '../support/app';
import { Builder, fingerprint, seedTenant, simpleGraph, startPlatformApp } from './helpers/platform';
import type { PlatformApp, Tenant } from './helpers/platform';

let t: PlatformApp;
// Filled in beforeAll; the case list is built before that and reads only the bodies' keys.
let A = {} as Tenant;
let B = {} as Tenant;
let bucket = '';
let s3: S3Client;
const fx = { workflowId: '', assetId: '', datasetId: '', taskId: '', membershipId: '', keyId: '', userId: '' };
const theirs = { assetId: '', customNodeId: '', connectionId: '', keyId: '' };
let baseline: { counts: Record<string, number>; hashes: Record<string, string>; objects: number };

async function objectCount(): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: t.store.bucket,
        Prefix: `workspaces/${A.workspaceId}/`,
        ContinuationToken: token,
      }),
    );
    count += page.KeyCount ?? 0;
    token = page.NextContinuationToken;
  } while (token);
  return count;
}

beforeAll(async () => {
  t = await startPlatformApp();
  s3 = new S3Client({
    endpoint: t.config.S3_ENDPOINT,
    region: t.config.S3_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: t.config.S3_ACCESS_KEY_ID, secretAccessKey: t.config.S3_SECRET_ACCESS_KEY },
  });
  bucket = t.store.bucket;
  A = await seedTenant(t, 'alpha');
  B = await seedTenant(t, 'beta');
  const build = new Builder(A.as.owner, A);
  fx.workflowId = await build.workflow();
  await build.version(fx.workflowId);
  fx.assetId = await build.asset(t.store.bucket);
  fx.datasetId = await build.dataset();
  await build.datasetVersion(fx.datasetId, [fx.assetId]);
  fx.taskId = await build.annotationTask(fx.assetId);
  const member = await seedUser(t.db, [{ workspaceId: A.workspaceId, role: 'viewer' }]);
  fx.userId = (await seedUser(t.db, [])).userId;
  fx.membershipId = String((await t.db.collection('memberships').findOne({ userId: member.userId }))!._id);
  fx.keyId = String((await t.db.collection('api_keys').findOne({ userId: member.userId }))!._id);
  const other = new Builder(B.as.owner, B);
  theirs.assetId = await other.asset(t.store.bucket);
  theirs.customNodeId = await other.customNode();
  theirs.connectionId = await other.storageConnection('their-secret');
  theirs.keyId = String((await t.db.collection('api_keys').findOne({ userId: B.as.viewer.userId }))!._id);
  // Warm every key once so the authenticator's lastUsedAt bookkeeping is done before the baseline.
  await A.as.owner.get('/v1/me');
  baseline = { ...(await fingerprint(t.db)), objects: await objectCount() };
});

afterAll(async () => {
  s3?.destroy();
  await t?.close();
});

interface Target {
  route: string;
  method: 'post' | 'patch';
  path(): string;
  /** A valid body: each attack changes one thing about it. */
  body(): Record<string, unknown>;
  /** Fields the server decides that the body must not set (beyond the generic ones). */
  serverFields?: string[];
}

const targets: Target[] = [
  {
    route: 'POST /v1/workspaces',
    method: 'post',
    path: () => '/v1/workspaces',
    body: () => ({ name: 'Team', slug: 'team-x' }),
    serverFields: ['ownerId', 'type'],
  },
  {
    route: 'PATCH /v1/workspaces/:id',
    method: 'patch',
    path: () => `/v1/workspaces/${A.workspaceId}`,
    body: () => ({ name: 'Renamed', settings: { theme: 'dark' } }),
    serverFields: ['ownerId', 'slug'],
  },
  {
    route: 'POST members',
    method: 'post',
    path: () => `/v1/workspaces/${A.workspaceId}/members`,
    body: () => ({ userId: fx.userId, role: 'viewer' }),
    serverFields: ['workspaceId'],
  },
  {
    route: 'PATCH members/:id',
    method: 'patch',
    path: () => `/v1/workspaces/${A.workspaceId}/members/${fx.membershipId}`,
    body: () => ({ role: 'editor' }),
    serverFields: ['userId'],
  },
  {
    route: 'POST users',
    method: 'post',
    path: () => `/v1/workspaces/${A.workspaceId}/users`,
    body: () => ({ email: 'new@test.local', displayName: 'New', role: 'viewer' }),
  },
  {
    route: 'POST /v1/api-keys',
    method: 'post',
    path: () => '/v1/api-keys',
    body: () => ({ name: 'ci' }),
    serverFields: ['userId', 'hash', 'prefix', 'key'],
  },
  {
    route: 'POST api-keys/:id/revoke',
    method: 'post',
    path: () => `/v1/api-keys/${fx.keyId}/revoke`,
    body: () => ({}),
    serverFields: ['revokedBy'],
  },
  {
    route: 'POST projects',
    method: 'post',
    path: () => `/v1/workspaces/${A.workspaceId}/projects`,
    body: () => ({ name: 'P', description: 'd' }),
  },
  {
    route: 'PATCH /v1/projects/:id',
    method: 'patch',
    path: () => `/v1/projects/${A.projectId}`,
    body: () => ({ name: 'P2', description: 'd2' }),
    serverFields: ['slug'],
  },
  {
    route: 'POST workflows',
    method: 'post',
    path: () => `/v1/projects/${A.projectId}/workflows`,
    body: () => ({ name: 'W', description: 'd' }),
    serverFields: ['latestVersionNumber', 'publishedVersionNumber'],
  },
  {
    route: 'POST versions',
    method: 'post',
    path: () => `/v1/workflows/${fx.workflowId}/versions`,
    body: () => ({ runtimeGraph: simpleGraph(), summary: 's' }),
    serverFields: ['versionNumber', 'workflowDefinitionId'],
  },
  {
    route: 'POST publish',
    method: 'post',
    path: () => `/v1/workflows/${fx.workflowId}/versions/1/publish`,
    body: () => ({}),
    serverFields: ['publishedVersionNumber'],
  },
  {
    route: 'POST custom-nodes',
    method: 'post',
    path: () => `/v1/projects/${A.projectId}/custom-nodes`,
    body: () => ({
      name: 'N',
      contract: { inputs: [], outputs: ['json'] },
      source: { kind: 'image', image: 'alpine:3.20' },
    }),
  },
  {
    route: 'POST assets',
    method: 'post',
    path: () => `/v1/projects/${A.projectId}/assets`,
    body: () => ({
      type: 'raw_file',
      displayName: 'a',
      storageRef: { bucket, key: `workspaces/${A.workspaceId}/a.bin` },
    }),
  },
  {
    route: 'POST probe-reports',
    method: 'post',
    path: () => `/v1/assets/${fx.assetId}/probe-reports`,
    body: () => ({ warnings: ['w'], rawReport: { ok: true } }),
    serverFields: ['assetId'],
  },
  {
    route: 'POST datasets',
    method: 'post',
    path: () => `/v1/projects/${A.projectId}/datasets`,
    body: () => ({ name: 'D', summary: {} }),
    serverFields: ['latestVersionId'],
  },
  {
    route: 'POST dataset versions',
    method: 'post',
    path: () => `/v1/datasets/${fx.datasetId}/versions`,
    body: () => ({ versionTag: 'v-new', assetIds: [fx.assetId] }),
    serverFields: ['manifestRef', 'parentVersionId', 'datasetId'],
  },
  {
    route: 'POST storage-connections',
    method: 'post',
    path: () => `/v1/workspaces/${A.workspaceId}/storage-connections`,
    body: () => ({ type: 'object_storage', provider: 's3', name: 'S', config: { bucket: 'b' }, secret: 'k' }),
    serverFields: ['secretRef'],
  },
  {
    route: 'POST annotation-tasks',
    method: 'post',
    path: () => `/v1/projects/${A.projectId}/annotation-tasks`,
    body: () => ({ targetType: 'asset', targetRef: { id: fx.assetId }, labelType: 'bbox' }),
  },
  {
    route: 'POST annotations',
    method: 'post',
    path: () => `/v1/annotation-tasks/${fx.taskId}/annotations`,
    body: () => ({ payload: { label: 'x' } }),
    serverFields: ['annotationTaskId'],
  },
  {
    route: 'POST plugins',
    method: 'post',
    path: () => `/v1/workspaces/${A.workspaceId}/plugins`,
    body: () => ({ name: 'pl', version: '1.0.0' }),
    serverFields: ['scope', 'currentVersion'],
  },
];

/** Fields the server always decides: no body may set them. */
const SERVER_FIELDS = [
  '_id',
  'id',
  'workspaceId',
  'projectId',
  'createdBy',
  'createdAt',
  'updatedAt',
  'status',
  'role',
  'ownerId',
];
const OPERATORS: unknown[] = [
  { $gt: '' },
  { $ne: null },
  { $where: 'sleep(1000) || true' },
  { nested: { deeper: { $nor: [{ a: { $exists: true } }] } } },
];
const WRONG_TYPES: unknown[] = [12345, [{ a: 1 }], null, true];

interface Case {
  name: string;
  send(): Promise<Response>;
}

/** Only uploads and dataset versions write to object storage, so only their cases list it afterwards. */
const writesObjects = (name: string) => /upload|dataset version/i.test(name);

const json = (target: Target, body: unknown) => A.as.owner.call(target.method, target.path(), body);
const raw = (target: Target, text: string | Buffer, type = 'application/json') =>
  A.as.owner.call(target.method, target.path()).set('Content-Type', type).send(text);

function casesFor(target: Target): Case[] {
  const cases: Case[] = [];
  const add = (what: string, send: () => Promise<Response>) => cases.push({ name: `${target.route}: ${what}`, send });
  const fields = Object.keys(target.body());
  const attacked = fields.length ? fields : ['(body)'];

  for (const field of attacked) {
    OPERATORS.forEach((op, i) =>
      add(`operator ${i} in ${field}`, async () =>
        json(target, field === '(body)' ? op : { ...target.body(), [field]: op }),
      ),
    );
    WRONG_TYPES.forEach((v) =>
      add(`${JSON.stringify(v)} as ${field}`, async () => json(target, { ...target.body(), [field]: v })),
    );
  }
  for (const key of ['__proto__', 'constructor', 'prototype']) {
    add(`${key} at the top`, async () =>
      raw(
        target,
        JSON.stringify(target.body())
          .replace(/^\{/, `{"${key}":{"role":"owner","workspaceId":"${B.workspaceId}"},`)
          .replace(/,\}$/, '}'),
      ),
    );
    add(`${key} nested`, async () =>
      raw(target, JSON.stringify({ ...target.body(), extra: { inner: 'x' } }).replace('"inner"', `"${key}"`)),
    );
  }
  for (const field of [...SERVER_FIELDS, ...(target.serverFields ?? [])].filter((f) => !fields.includes(f))) {
    const value = () =>
      field === 'workspaceId'
        ? B.workspaceId
        : field === 'projectId'
          ? B.projectId
          : field === 'role'
            ? 'owner'
            : field === 'status'
              ? 'active'
              : 'forged';
    add(`mass assignment of ${field}`, async () => json(target, { ...target.body(), [field]: value() }));
  }
  add('nesting 50 deep', async () => raw(target, `{"${attacked[0]}":${'{"a":'.repeat(50)}1${'}'.repeat(50)}}`));
  add('a 900 KiB string', async () => json(target, { ...target.body(), [attacked[0]!]: 'x'.repeat(900 * 1024) }));
  add('a 1.5 MiB string (over the body limit)', async () =>
    json(target, { ...target.body(), [attacked[0]!]: 'x'.repeat(1536 * 1024) }),
  );
  add('invalid UTF-8', async () =>
    raw(
      target,
      Buffer.concat([Buffer.from(`{"${attacked[0]}":"`), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('"}')]),
    ),
  );
  add('an unknown field', async () => json(target, { ...target.body(), isAdmin: true }));
  add('malformed JSON', async () => raw(target, `{"${attacked[0]}": "unterminated`));
  add('a form body', async () => raw(target, 'name=x&role=owner', 'application/x-www-form-urlencoded'));
  add('a dotted key in free-form JSON', async () =>
    json(target, { ...target.body(), summary: { 'a.b': 1 }, settings: { 'a.b': 1 }, payload: { 'x.y': 1 } }),
  );
  add('an array nested in an array', async () => json(target, { ...target.body(), [attacked[0]!]: [[1, 2]] }));
  return cases;
}

/** Ids in paths: injection-looking, prototype and traversal values never reach a query. */
const PATH_ATTACKS = [
  '%24ne',
  encodeURIComponent('{"$gt":""}'),
  '__proto__',
  '..%2F..%2Fworkspaces',
  'a'.repeat(65),
  '%00',
  'x%20y',
];
const pathRoutes: Array<
  [method: 'post' | 'patch' | 'delete', label: string, path: (id: string) => string, body: unknown]
> = [
  ['post', '/v1/projects/:id/workflows', (id) => `/v1/projects/${id}/workflows`, { name: 'W' }],
  ['post', '/v1/workflows/:id/versions', (id) => `/v1/workflows/${id}/versions`, { runtimeGraph: simpleGraph() }],
  ['post', '/v1/assets/:id/probe-reports', (id) => `/v1/assets/${id}/probe-reports`, {}],
  ['post', '/v1/datasets/:id/versions', (id) => `/v1/datasets/${id}/versions`, { versionTag: 'v', assetIds: ['x'] }],
  ['patch', '/v1/projects/:id', (id) => `/v1/projects/${id}`, { name: 'x' }],
  ['post', '/v1/api-keys/:id/revoke', (id) => `/v1/api-keys/${id}/revoke`, {}],
  ['delete', '/v1/workspaces/:ws/members/:id', (id) => `/v1/workspaces/${A.workspaceId}/members/${id}`, undefined],
];
const pathCases: Case[] = pathRoutes.flatMap(([method, label, path, body]) =>
  PATH_ATTACKS.map((id) => ({
    name: `${method.toUpperCase()} ${label} with id ${decodeURIComponent(id).slice(0, 20)}`,
    send: async () => A.as.owner.call(method, path(id), body),
  })),
);

const upload = (query: string, body: Buffer | string = Buffer.from('bytes'), type = 'application/octet-stream') =>
  A.as.owner.call('post', `/v1/projects/${A.projectId}/assets/upload?${query}`).set('Content-Type', type).send(body);
const uploadCases: Case[] = [
  ['operator in the query', 'displayName[$ne]=x'],
  ['repeated type', 'displayName=a&type=raw_file&type=archive'],
  ['empty displayName', 'displayName='],
  ['NUL in displayName', 'displayName=a%00b'],
  ['workspaceId in the query', 'displayName=a&workspaceId=wsp_other'],
  ['a type uploads cannot have', 'displayName=a&type=object_storage_prefix'],
  ['a 10 KiB displayName', `displayName=${'x'.repeat(10 * 1024)}`],
  ['__proto__ in the query', 'displayName=a&__proto__[role]=owner'],
].map(([what, query]) => ({ name: `upload: ${what}`, send: async () => upload(query!) }));
uploadCases.push(
  {
    name: 'upload: a JSON body with an operator',
    send: async () => upload('displayName=a', '{"$where":"1"}', 'application/json'),
  },
  { name: 'upload: text/plain', send: async () => upload('displayName=a', 'bytes', 'text/plain') },
  { name: 'upload: empty bytes', send: async () => upload('displayName=a', Buffer.alloc(0)) },
);

/** Well-formed requests that point into another tenant: refused, and nothing is written. */
const crossTenantCases: Case[] = [
  {
    name: 'dataset version over their asset',
    send: async () =>
      A.as.owner.post(`/v1/datasets/${fx.datasetId}/versions`, { versionTag: 'x1', assetIds: [theirs.assetId] }),
  },
  {
    name: 'dataset version sourced from their asset',
    send: async () =>
      A.as.owner.post(`/v1/datasets/${fx.datasetId}/versions`, { versionTag: 'x2', sourceAssetId: theirs.assetId }),
  },
  {
    name: 'workflow version running their custom node',
    send: async () =>
      A.as.owner.post(`/v1/workflows/${fx.workflowId}/versions`, {
        runtimeGraph: {
          nodes: [{ id: 'n', executorType: 'docker', executorConfig: { customNodeId: theirs.customNodeId } }],
        },
      }),
  },
  {
    name: 'annotation task on their asset',
    send: async () =>
      A.as.owner.post(`/v1/projects/${A.projectId}/annotation-tasks`, {
        targetType: 'asset',
        targetRef: { id: theirs.assetId },
        labelType: 'bbox',
      }),
  },
  {
    name: 'annotation task assigned to their member',
    send: async () =>
      A.as.owner.post(`/v1/projects/${A.projectId}/annotation-tasks`, {
        targetType: 'asset',
        targetRef: { id: fx.assetId },
        labelType: 'bbox',
        assigneeIds: [B.as.viewer.userId],
      }),
  },
  {
    name: 'annotation on their asset',
    send: async () =>
      A.as.owner.post(`/v1/annotation-tasks/${fx.taskId}/annotations`, {
        targetRef: { id: theirs.assetId },
        payload: {},
      }),
  },
  {
    name: 'asset through their storage connection',
    send: async () =>
      A.as.owner.post(`/v1/projects/${A.projectId}/assets`, {
        type: 'raw_file',
        displayName: 'x',
        prefix: 'p/',
        storageConnectionId: theirs.connectionId,
      }),
  },
  {
    name: 'asset pointing at their objects',
    send: async () =>
      A.as.owner.post(`/v1/projects/${A.projectId}/assets`, {
        type: 'raw_file',
        displayName: 'x',
        storageRef: { bucket: t.store.bucket, key: `workspaces/${B.workspaceId}/x` },
      }),
  },
  {
    name: 'membership in their project',
    send: async () =>
      A.as.owner.post(`/v1/workspaces/${A.workspaceId}/members`, {
        userId: fx.userId,
        role: 'viewer',
        projectId: B.projectId,
      }),
  },
  { name: 'revoking their key', send: async () => A.as.owner.post(`/v1/api-keys/${theirs.keyId}/revoke`) },
  {
    name: 'membership in their workspace',
    send: async () => A.as.owner.post(`/v1/workspaces/${B.workspaceId}/members`, { userId: fx.userId, role: 'owner' }),
  },
];

const cases: Case[] = [...targets.flatMap(casesFor), ...pathCases, ...uploadCases, ...crossTenantCases];

it('has at least 300 hostile cases', () => {
  expect(cases.length).toBeGreaterThanOrEqual(300);
});

it.each(cases.map((c) => [c.name, c] as const))('%s: a 4xx that writes nothing', async (_name, c) => {
  const res = await c.send();
  expect({ status: res.status, client: res.status >= 400 && res.status < 500 }).toEqual({
    status: res.status,
    client: true,
  });
  expect(res.body?.error?.code).toEqual(expect.any(String));
  const after = await fingerprint(t.db);
  expect(after.counts).toEqual(baseline.counts);
  expect(after.hashes).toEqual(baseline.hashes);
  if (writesObjects(c.name)) expect(await objectCount()).toBe(baseline.objects);
});

it('still accepts the valid version of every targeted request (the attacks changed one thing each)', async () => {
  for (const target of targets) {
    const res = await json(target, target.body());
    expect({ route: target.route, ok: res.status < 300 }).toEqual({ route: target.route, ok: true });
  }
});
