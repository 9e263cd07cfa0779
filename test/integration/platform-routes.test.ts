// Every platform route: a valid call succeeds for exactly the roles it should (and is a 404 to another tenant),
// and an invalid one is a 400 that names the offending field.
import { createHash } from 'node:crypto';
import type { Response } from 'supertest';
import type { Role } from '../../src/services/auth';
import { signWebhook } from '../../src/services/webhook-signature';
import { seedUser } from '../support/app';
import { Builder, Client, ROLE_LIST, seedTenant, simpleGraph, startPlatformApp, unique } from './helpers/platform';
import type { PlatformApp, Tenant } from './helpers/platform';

let t: PlatformApp;
let A: Tenant;
let outsider: Client;
const fx = {
  workflowId: '',
  customNodeId: '',
  assetId: '',
  datasetId: '',
  datasetVersionId: '',
  connectionId: '',
  taskId: '',
  uploadId: '',
  abortUploadId: '',
  endpointId: '',
  hookId: '',
  hookSecret: '',
  scheduleId: '',
  secretName: '',
};

/** A one-part resumable upload of PART_BYTES. */
const PART_BYTES = Buffer.from('ten bytes!');
const UPLOAD = {
  displayName: 'upload.bin',
  sizeBytes: PART_BYTES.length,
  checksum: `sha256:${createHash('sha256').update(PART_BYTES).digest('hex')}`,
};

beforeAll(async () => {
  t = await startPlatformApp();
  A = await seedTenant(t, 'alpha');
  // The outsider owns another workspace: powerful there, a stranger here.
  outsider = (await seedTenant(t, 'beta')).as.owner;
  const build = new Builder(A.as.owner, A);
  fx.workflowId = await build.workflow();
  await build.version(fx.workflowId);
  fx.customNodeId = await build.customNode();
  fx.assetId = await build.asset(t.store.bucket);
  fx.datasetId = await build.dataset();
  fx.datasetVersionId = await build.datasetVersion(fx.datasetId, [fx.assetId]);
  fx.connectionId = await build.storageConnection();
  fx.taskId = await build.annotationTask(fx.assetId);
  fx.endpointId = (await freshEndpoint()).id;
  ({ id: fx.hookId, secret: fx.hookSecret } = await freshTrigger({ kind: 'webhook' }));
  fx.scheduleId = (await freshTrigger({ kind: 'schedule', schedule: { intervalSeconds: 3600 }, paused: true })).id;
  fx.secretName = await freshSecret();
  for (const key of ['uploadId', 'abortUploadId'] as const) {
    const res = await A.as.owner.post(`/v1/projects/${A.projectId}/asset-uploads`, UPLOAD);
    fx[key] = res.body.id;
  }
});

afterAll(async () => {
  // Schedules and the launchers run-now and backfill started live in Temporal, not in the test's database.
  for (const doc of await t.db.collection('triggers').find({ kind: 'schedule' }).toArray()) {
    const handle = t.temporal.schedule.getHandle(`emboflow-schedule-${String(doc._id)}`);
    const described = await handle.describe().catch(() => undefined);
    for (const action of described?.info.recentActions ?? []) {
      if (action.action.type !== 'startWorkflow') continue;
      await t.temporal.workflow
        .getHandle(action.action.workflow.workflowId)
        .terminate('test over')
        .catch(() => undefined);
    }
    await handle.delete().catch(() => undefined);
  }
  await t?.close();
});

/** A trigger of the fixture workflow (pinned to its version 1), created by A's owner. */
async function freshTrigger(body: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const res = await A.as.owner.post(`/v1/workflows/${fx.workflowId}/triggers`, { versionNumber: 1, ...body });
  if (res.status !== 201) throw new Error(`trigger: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; secret: string };
}

/** A workspace secret of A, created by its owner; answers its name. */
async function freshSecret(): Promise<string> {
  const name = unique('S').replace(/[^A-Za-z0-9_]/g, '_');
  const res = await A.as.owner.post(`/v1/workspaces/${A.workspaceId}/secrets`, { name, value: 'value-1234' });
  if (res.status !== 201) throw new Error(`secret: ${res.status} ${JSON.stringify(res.body)}`);
  return name;
}

/** A signed delivery to the fixture webhook. */
function deliver(c: Client, body: string, secret = fx.hookSecret) {
  const ts = String(Math.floor(Date.now() / 1000));
  return c
    .call('post', `/v1/hooks/${fx.hookId}`)
    .set('Content-Type', 'application/json')
    .set('X-Emboflow-Timestamp', ts)
    .set('X-Emboflow-Signature', signWebhook(secret, ts, body))
    .send(body);
}

/** A user of workspace A with the given role, their membership and key ids (fresh for every call). */
async function freshMember(role: Role = 'viewer') {
  const { userId } = await seedUser(t.db, [{ workspaceId: A.workspaceId, role }]);
  const membership = await t.db.collection('memberships').findOne({ userId });
  const key = await t.db.collection('api_keys').findOne({ userId });
  return { userId, membershipId: String(membership!._id), keyId: String(key!._id) };
}

/** A notification endpoint of workspace A, added by its owner. */
async function freshEndpoint(): Promise<{ id: string }> {
  const res = await A.as.owner.post(`/v1/workspaces/${A.workspaceId}/notification-endpoints`, {
    url: 'https://hooks.example.com/emboflow',
  });
  return res.body as { id: string };
}

const upload = (c: Client, query: string, bytes: Buffer) =>
  c
    .call('post', `/v1/projects/${A.projectId}/assets/upload?${query}`)
    .set('Content-Type', 'application/octet-stream')
    .send(bytes);

const putPart = (c: Client, path: string) =>
  c.call('put', path).set('Content-Type', 'application/octet-stream').send(PART_BYTES);

interface RouteCase {
  route: string;
  /** The lowest role that may call it; 'anyone' for routes about the caller themselves. */
  min: Role | 'anyone';
  status: number;
  send(c: Client): Promise<Response>;
  invalid: { send(c: Client): Promise<Response>; field: string };
}

const cases: RouteCase[] = [
  {
    route: 'GET /v1/me',
    min: 'anyone',
    status: 200,
    send: async (c) => c.get('/v1/me'),
    invalid: { send: async (c) => c.get('/v1/me?verbose=1'), field: 'verbose' },
  },
  {
    route: 'POST /v1/workspaces',
    min: 'anyone',
    status: 201,
    send: async (c) => c.post('/v1/workspaces', { name: unique('Team') }),
    invalid: { send: async (c) => c.post('/v1/workspaces', { name: '' }), field: 'body.name' },
  },
  {
    route: 'GET /v1/workspaces',
    min: 'anyone',
    status: 200,
    send: async (c) => c.get('/v1/workspaces'),
    invalid: { send: async (c) => c.get('/v1/workspaces?limit=0'), field: 'query.limit' },
  },
  {
    route: 'GET /v1/workspaces/:workspaceId',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/workspaces/${A.workspaceId}`),
    invalid: { send: async (c) => c.get('/v1/workspaces/not%20an%20id'), field: 'params.workspaceId' },
  },
  {
    route: 'PATCH /v1/workspaces/:workspaceId',
    min: 'admin',
    status: 200,
    send: async (c) => c.patch(`/v1/workspaces/${A.workspaceId}`, { name: unique('Alpha') }),
    invalid: {
      send: async (c) => c.patch(`/v1/workspaces/${A.workspaceId}`, { settings: 'dark' }),
      field: 'body.settings',
    },
  },
  {
    route: 'POST /v1/workspaces/:workspaceId/members',
    min: 'admin',
    status: 201,
    send: async (c) =>
      c.post(`/v1/workspaces/${A.workspaceId}/members`, { userId: (await seedUser(t.db, [])).userId, role: 'viewer' }),
    invalid: {
      send: async (c) =>
        c.post(`/v1/workspaces/${A.workspaceId}/members`, { email: 'x@test.local', role: 'superuser' }),
      field: 'body.role',
    },
  },
  {
    route: 'GET /v1/workspaces/:workspaceId/members',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/workspaces/${A.workspaceId}/members`),
    invalid: { send: async (c) => c.get(`/v1/workspaces/${A.workspaceId}/members?role=god`), field: 'query.role' },
  },
  {
    route: 'PATCH /v1/workspaces/:workspaceId/members/:membershipId',
    min: 'admin',
    status: 200,
    send: async (c) =>
      c.patch(`/v1/workspaces/${A.workspaceId}/members/${(await freshMember()).membershipId}`, { role: 'editor' }),
    invalid: {
      send: async (c) =>
        c.patch(`/v1/workspaces/${A.workspaceId}/members/${(await freshMember()).membershipId}`, {
          role: 'editor',
          status: 'active',
        }),
      field: 'status',
    },
  },
  {
    route: 'DELETE /v1/workspaces/:workspaceId/members/:membershipId',
    min: 'admin',
    status: 204,
    send: async (c) => c.delete(`/v1/workspaces/${A.workspaceId}/members/${(await freshMember()).membershipId}`),
    invalid: {
      send: async (c) => c.delete(`/v1/workspaces/${A.workspaceId}/members/$where`),
      field: 'params.membershipId',
    },
  },
  {
    route: 'POST /v1/workspaces/:workspaceId/users',
    min: 'admin',
    status: 201,
    send: async (c) =>
      c.post(`/v1/workspaces/${A.workspaceId}/users`, {
        email: `${unique('u')}@test.local`,
        displayName: 'New',
        role: 'viewer',
      }),
    invalid: {
      send: async (c) =>
        c.post(`/v1/workspaces/${A.workspaceId}/users`, { email: 'not-an-email', displayName: 'New', role: 'viewer' }),
      field: 'body.email',
    },
  },
  {
    route: 'POST /v1/api-keys',
    min: 'anyone',
    status: 201,
    send: async (c) => c.post('/v1/api-keys', { name: unique('ci') }),
    invalid: { send: async (c) => c.post('/v1/api-keys', { name: 'ci', userId: 'usr_someoneelse' }), field: 'userId' },
  },
  {
    route: 'GET /v1/api-keys',
    min: 'anyone',
    status: 200,
    send: async (c) => c.get('/v1/api-keys'),
    invalid: { send: async (c) => c.get('/v1/api-keys?cursor=!!'), field: 'query.cursor' },
  },
  {
    route: 'POST /v1/api-keys/:keyId/revoke',
    min: 'admin',
    status: 200,
    send: async (c) => c.post(`/v1/api-keys/${(await freshMember()).keyId}/revoke`),
    invalid: {
      send: async (c) => c.post(`/v1/api-keys/${(await freshMember()).keyId}/revoke`, { reason: 'x' }),
      field: 'reason',
    },
  },
  {
    route: 'POST /v1/workspaces/:workspaceId/projects',
    min: 'admin',
    status: 201,
    send: async (c) => c.post(`/v1/workspaces/${A.workspaceId}/projects`, { name: unique('P') }),
    invalid: {
      send: async (c) => c.post(`/v1/workspaces/${A.workspaceId}/projects`, { name: 'P', slug: 'Not A Slug' }),
      field: 'body.slug',
    },
  },
  {
    route: 'GET /v1/workspaces/:workspaceId/projects',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/workspaces/${A.workspaceId}/projects`),
    invalid: { send: async (c) => c.get(`/v1/workspaces/${A.workspaceId}/projects?limit=1000`), field: 'query.limit' },
  },
  {
    route: 'GET /v1/projects/:projectId',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/projects/${A.projectId}`),
    invalid: { send: async (c) => c.get(`/v1/projects/${'x'.repeat(65)}`), field: 'params.projectId' },
  },
  {
    route: 'PATCH /v1/projects/:projectId',
    min: 'admin',
    status: 200,
    send: async (c) => c.patch(`/v1/projects/${A.projectId}`, { description: unique('d') }),
    invalid: { send: async (c) => c.patch(`/v1/projects/${A.projectId}`, {}), field: 'nothing to update' },
  },
  {
    route: 'POST /v1/projects/:projectId/workflows',
    min: 'editor',
    status: 201,
    send: async (c) => c.post(`/v1/projects/${A.projectId}/workflows`, { name: unique('W') }),
    invalid: { send: async (c) => c.post(`/v1/projects/${A.projectId}/workflows`, { name: 42 }), field: 'body.name' },
  },
  {
    route: 'GET /v1/projects/:projectId/workflows',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/projects/${A.projectId}/workflows`),
    invalid: {
      send: async (c) => c.get(`/v1/projects/${A.projectId}/workflows?status=deleted`),
      field: 'query.status',
    },
  },
  {
    route: 'GET /v1/workflows/:workflowId',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/workflows/${fx.workflowId}`),
    invalid: { send: async (c) => c.get('/v1/workflows/-leading-dash'), field: 'params.workflowId' },
  },
  {
    route: 'POST /v1/workflows/:workflowId/versions',
    min: 'editor',
    status: 201,
    send: async (c) => c.post(`/v1/workflows/${fx.workflowId}/versions`, { runtimeGraph: simpleGraph() }),
    invalid: {
      send: async (c) => c.post(`/v1/workflows/${fx.workflowId}/versions`, { runtimeGraph: [] }),
      field: 'body.runtimeGraph',
    },
  },
  {
    route: 'GET /v1/workflows/:workflowId/versions',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/workflows/${fx.workflowId}/versions`),
    invalid: { send: async (c) => c.get(`/v1/workflows/${fx.workflowId}/versions?sort=asc`), field: 'sort' },
  },
  {
    route: 'GET /v1/workflows/:workflowId/versions/:versionNumber',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/workflows/${fx.workflowId}/versions/1`),
    invalid: { send: async (c) => c.get(`/v1/workflows/${fx.workflowId}/versions/one`), field: 'params.versionNumber' },
  },
  {
    route: 'POST /v1/workflows/:workflowId/versions/:versionNumber/publish',
    min: 'editor',
    status: 200,
    send: async (c) => c.post(`/v1/workflows/${fx.workflowId}/versions/1/publish`),
    invalid: {
      send: async (c) => c.post(`/v1/workflows/${fx.workflowId}/versions/0/publish`),
      field: 'params.versionNumber',
    },
  },
  {
    route: 'POST /v1/projects/:projectId/custom-nodes',
    min: 'editor',
    status: 201,
    send: async (c) =>
      c.post(`/v1/projects/${A.projectId}/custom-nodes`, {
        name: unique('N'),
        contract: { inputs: [], outputs: ['json'] },
        source: { kind: 'dockerfile', dockerfile: 'FROM alpine:3.20\nRUN true\n', imageTag: 'emboflow/custom-n:1' },
      }),
    invalid: {
      send: async (c) =>
        c.post(`/v1/projects/${A.projectId}/custom-nodes`, {
          name: 'N',
          contract: { inputs: [], outputs: [] },
          source: { kind: 'image', image: 'UPPER/Case' },
        }),
      field: 'body.source.image',
    },
  },
  {
    route: 'GET /v1/projects/:projectId/custom-nodes',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/projects/${A.projectId}/custom-nodes`),
    invalid: {
      send: async (c) => c.get(`/v1/projects/${A.projectId}/custom-nodes?status=broken`),
      field: 'query.status',
    },
  },
  {
    route: 'GET /v1/custom-nodes/:customNodeId',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/custom-nodes/${fx.customNodeId}`),
    invalid: { send: async (c) => c.get('/v1/custom-nodes/a.b'), field: 'params.customNodeId' },
  },
  {
    route: 'POST /v1/projects/:projectId/assets',
    min: 'editor',
    status: 201,
    send: async (c) =>
      c.post(`/v1/projects/${A.projectId}/assets`, {
        type: 'object_storage_prefix',
        displayName: unique('A'),
        prefix: `workspaces/${A.workspaceId}/episodes/`,
      }),
    invalid: {
      send: async (c) => c.post(`/v1/projects/${A.projectId}/assets`, { type: 'spreadsheet', displayName: 'A' }),
      field: 'body.type',
    },
  },
  {
    route: 'POST /v1/projects/:projectId/assets/upload',
    min: 'editor',
    status: 201,
    send: async (c) => upload(c, 'displayName=episode.bag&type=rosbag', Buffer.from('rosbag bytes')),
    invalid: { send: async (c) => upload(c, 'type=rosbag', Buffer.from('bytes')), field: 'query.displayName' },
  },
  {
    route: 'POST /v1/projects/:projectId/asset-uploads',
    min: 'editor',
    status: 201,
    send: async (c) => c.post(`/v1/projects/${A.projectId}/asset-uploads`, { ...UPLOAD, displayName: unique('U') }),
    invalid: {
      send: async (c) => c.post(`/v1/projects/${A.projectId}/asset-uploads`, { ...UPLOAD, partSizeBytes: 1 }),
      field: 'body.partSizeBytes',
    },
  },
  {
    route: 'PUT /v1/asset-uploads/:uploadId/parts/:partNumber',
    min: 'editor',
    status: 200,
    send: async (c) => putPart(c, `/v1/asset-uploads/${fx.uploadId}/parts/1`),
    invalid: { send: async (c) => putPart(c, `/v1/asset-uploads/${fx.uploadId}/parts/0`), field: 'params.partNumber' },
  },
  {
    route: 'GET /v1/asset-uploads/:uploadId',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/asset-uploads/${fx.uploadId}`),
    invalid: { send: async (c) => c.get('/v1/asset-uploads/%24gt'), field: 'params.uploadId' },
  },
  {
    // After the PUT case: every caller allowed completes the same upload into the same asset.
    route: 'POST /v1/asset-uploads/:uploadId/complete',
    min: 'editor',
    status: 201,
    send: async (c) => c.post(`/v1/asset-uploads/${fx.uploadId}/complete`),
    invalid: { send: async (c) => c.post('/v1/asset-uploads/a.b/complete'), field: 'params.uploadId' },
  },
  {
    route: 'DELETE /v1/asset-uploads/:uploadId',
    min: 'editor',
    status: 200,
    send: async (c) => c.delete(`/v1/asset-uploads/${fx.abortUploadId}`),
    invalid: { send: async (c) => c.delete('/v1/asset-uploads/a.b'), field: 'params.uploadId' },
  },
  {
    route: 'GET /v1/projects/:projectId/assets',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/projects/${A.projectId}/assets?type=hdf5_dataset`),
    invalid: { send: async (c) => c.get(`/v1/projects/${A.projectId}/assets?type=hdf6`), field: 'query.type' },
  },
  {
    route: 'GET /v1/assets/:assetId',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/assets/${fx.assetId}`),
    invalid: { send: async (c) => c.get('/v1/assets/%24gt'), field: 'params.assetId' },
  },
  {
    route: 'POST /v1/assets/:assetId/probe-reports',
    min: 'editor',
    status: 201,
    send: async (c) =>
      c.post(`/v1/assets/${fx.assetId}/probe-reports`, {
        detectedFormatCandidates: [{ format: 'hdf5', confidence: 0.9 }],
        warnings: ['no timestamps'],
      }),
    invalid: {
      send: async (c) =>
        c.post(`/v1/assets/${fx.assetId}/probe-reports`, {
          detectedFormatCandidates: [{ format: 'hdf5', confidence: 2 }],
        }),
      field: 'body.detectedFormatCandidates.0.confidence',
    },
  },
  {
    route: 'GET /v1/assets/:assetId/probe-reports',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/assets/${fx.assetId}/probe-reports`),
    invalid: { send: async (c) => c.get(`/v1/assets/${fx.assetId}/probe-reports?limit=-1`), field: 'query.limit' },
  },
  {
    route: 'POST /v1/projects/:projectId/datasets',
    min: 'editor',
    status: 201,
    send: async (c) => c.post(`/v1/projects/${A.projectId}/datasets`, { name: unique('D') }),
    invalid: {
      send: async (c) => c.post(`/v1/projects/${A.projectId}/datasets`, { name: 'D', type: 'Has Spaces' }),
      field: 'body.type',
    },
  },
  {
    route: 'GET /v1/projects/:projectId/datasets',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/projects/${A.projectId}/datasets`),
    invalid: { send: async (c) => c.get(`/v1/projects/${A.projectId}/datasets?status=gone`), field: 'query.status' },
  },
  {
    route: 'GET /v1/datasets/:datasetId',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/datasets/${fx.datasetId}`),
    invalid: { send: async (c) => c.get('/v1/datasets/x%00y'), field: 'params.datasetId' },
  },
  {
    route: 'POST /v1/datasets/:datasetId/versions',
    min: 'editor',
    status: 201,
    send: async (c) =>
      c.post(`/v1/datasets/${fx.datasetId}/versions`, { versionTag: unique('v'), assetIds: [fx.assetId] }),
    invalid: {
      send: async (c) =>
        c.post(`/v1/datasets/${fx.datasetId}/versions`, { versionTag: 'v1', assetIds: [fx.assetId, fx.assetId] }),
      field: 'body.assetIds.1',
    },
  },
  {
    route: 'GET /v1/datasets/:datasetId/versions',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/datasets/${fx.datasetId}/versions`),
    invalid: { send: async (c) => c.get(`/v1/datasets/${fx.datasetId}/versions?limit=abc`), field: 'query.limit' },
  },
  {
    route: 'GET /v1/datasets/:datasetId/versions/:versionId',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/datasets/${fx.datasetId}/versions/${fx.datasetVersionId}`),
    invalid: {
      send: async (c) => c.get(`/v1/datasets/${fx.datasetId}/versions/__proto__x!`),
      field: 'params.versionId',
    },
  },
  {
    route: 'POST /v1/workspaces/:workspaceId/storage-connections',
    min: 'admin',
    status: 201,
    send: async (c) =>
      c.post(`/v1/workspaces/${A.workspaceId}/storage-connections`, {
        type: 'object_storage',
        provider: 'minio',
        name: unique('S'),
        config: { bucket: 'b' },
        secret: 'k',
      }),
    invalid: {
      send: async (c) =>
        c.post(`/v1/workspaces/${A.workspaceId}/storage-connections`, {
          type: 'object_storage',
          provider: 'minio',
          name: 'S',
          config: { secretAccessKey: 'plain' },
        }),
      field: 'body.config.secretAccessKey',
    },
  },
  {
    route: 'GET /v1/workspaces/:workspaceId/storage-connections',
    min: 'editor',
    status: 200,
    send: async (c) => c.get(`/v1/workspaces/${A.workspaceId}/storage-connections`),
    invalid: {
      send: async (c) => c.get(`/v1/workspaces/${A.workspaceId}/storage-connections?type=ftp`),
      field: 'query.type',
    },
  },
  {
    route: 'GET /v1/storage-connections/:connectionId',
    min: 'editor',
    status: 200,
    send: async (c) => c.get(`/v1/storage-connections/${fx.connectionId}`),
    invalid: {
      send: async (c) => c.get('/v1/storage-connections/%7B%22%24ne%22%3A1%7D'),
      field: 'params.connectionId',
    },
  },
  {
    route: 'POST /v1/workspaces/:workspaceId/notification-endpoints',
    min: 'admin',
    status: 201,
    send: async (c) =>
      c.post(`/v1/workspaces/${A.workspaceId}/notification-endpoints`, { url: 'https://hooks.example.com/a' }),
    invalid: {
      send: async (c) =>
        c.post(`/v1/workspaces/${A.workspaceId}/notification-endpoints`, { url: 'ftp://hooks.example.com/a' }),
      field: 'body.url',
    },
  },
  {
    route: 'GET /v1/workspaces/:workspaceId/notification-endpoints',
    min: 'editor',
    status: 200,
    send: async (c) => c.get(`/v1/workspaces/${A.workspaceId}/notification-endpoints`),
    invalid: {
      send: async (c) => c.get(`/v1/workspaces/${A.workspaceId}/notification-endpoints?limit=0`),
      field: 'query.limit',
    },
  },
  {
    route: 'POST /v1/workspaces/:workspaceId/registry-credentials',
    min: 'admin',
    status: 201,
    send: async (c) =>
      c.post(`/v1/workspaces/${A.workspaceId}/registry-credentials`, {
        registry: `${unique('reg')}.example.com:5000`,
        username: 'ci',
        password: 'pw',
      }),
    invalid: {
      send: async (c) =>
        c.post(`/v1/workspaces/${A.workspaceId}/registry-credentials`, {
          registry: 'https://registry.example.com/v2/',
          username: 'ci',
          password: 'pw',
        }),
      field: 'body.registry',
    },
  },
  {
    route: 'GET /v1/workspaces/:workspaceId/registry-credentials',
    min: 'admin',
    status: 200,
    send: async (c) => c.get(`/v1/workspaces/${A.workspaceId}/registry-credentials`),
    invalid: {
      send: async (c) => c.get(`/v1/workspaces/${A.workspaceId}/registry-credentials?limit=1&limit=2`),
      field: 'query.limit',
    },
  },
  {
    route: 'DELETE /v1/notification-endpoints/:endpointId',
    min: 'admin',
    status: 204,
    send: async (c) => c.delete(`/v1/notification-endpoints/${(await freshEndpoint()).id}`),
    invalid: { send: async (c) => c.delete('/v1/notification-endpoints/a.b'), field: 'params.endpointId' },
  },
  {
    route: 'GET /v1/notification-endpoints/:endpointId/deliveries',
    min: 'editor',
    status: 200,
    send: async (c) => c.get(`/v1/notification-endpoints/${fx.endpointId}/deliveries`),
    invalid: {
      send: async (c) => c.get(`/v1/notification-endpoints/${fx.endpointId}/deliveries?status=x`),
      field: 'status',
    },
  },
  {
    route: 'DELETE /v1/registry-credentials/:credentialId',
    min: 'admin',
    status: 204,
    send: async (c) => {
      const created = await A.as.owner.post(`/v1/workspaces/${A.workspaceId}/registry-credentials`, {
        registry: `${unique('del')}.example.com`,
        username: 'ci',
        password: 'pw',
      });
      return c.delete(`/v1/registry-credentials/${created.body.id}`);
    },
    invalid: {
      send: async (c) => c.delete('/v1/registry-credentials/%7B%22%24ne%22%3A1%7D'),
      field: 'params.credentialId',
    },
  },
  {
    route: 'POST /v1/projects/:projectId/annotation-tasks',
    min: 'editor',
    status: 201,
    send: async (c) =>
      c.post(`/v1/projects/${A.projectId}/annotation-tasks`, {
        targetType: 'dataset',
        targetRef: { id: fx.datasetId },
        labelType: 'episode_quality',
      }),
    invalid: {
      send: async (c) =>
        c.post(`/v1/projects/${A.projectId}/annotation-tasks`, {
          targetType: 'asset',
          targetRef: { id: fx.assetId },
          labelType: 'bbox',
          status: 'done',
        }),
      field: 'status',
    },
  },
  {
    route: 'GET /v1/projects/:projectId/annotation-tasks',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/projects/${A.projectId}/annotation-tasks?status=open`),
    invalid: {
      send: async (c) => c.get(`/v1/projects/${A.projectId}/annotation-tasks?status=closed`),
      field: 'query.status',
    },
  },
  {
    route: 'GET /v1/annotation-tasks/:taskId',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/annotation-tasks/${fx.taskId}`),
    invalid: { send: async (c) => c.get('/v1/annotation-tasks/a%20b'), field: 'params.taskId' },
  },
  {
    route: 'POST /v1/annotation-tasks/:taskId/annotations',
    min: 'editor',
    status: 201,
    send: async (c) =>
      c.post(`/v1/annotation-tasks/${fx.taskId}/annotations`, {
        payload: { boxes: [{ x: 0, y: 0, w: 10, h: 10 }], label: 'gripper' },
      }),
    invalid: {
      send: async (c) => c.post(`/v1/annotation-tasks/${fx.taskId}/annotations`, { payload: { 'a.b': 1 } }),
      field: 'body.payload.a.b',
    },
  },
  {
    route: 'GET /v1/annotation-tasks/:taskId/annotations',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/annotation-tasks/${fx.taskId}/annotations`),
    invalid: {
      send: async (c) => c.get(`/v1/annotation-tasks/${fx.taskId}/annotations?limit=1&limit=2`),
      field: 'query.limit',
    },
  },
  {
    route: 'GET /v1/plugins',
    min: 'anyone',
    status: 200,
    send: async (c) => c.get('/v1/plugins'),
    invalid: { send: async (c) => c.get('/v1/plugins?scope=global'), field: 'query.scope' },
  },
  {
    route: 'POST /v1/workspaces/:workspaceId/plugins',
    min: 'admin',
    status: 201,
    send: async (c) =>
      c.post(`/v1/workspaces/${A.workspaceId}/plugins`, {
        name: unique('plugin').toLowerCase(),
        version: '1.0.0',
        permissions: ['assets:read'],
      }),
    invalid: {
      send: async (c) =>
        c.post(`/v1/workspaces/${A.workspaceId}/plugins`, { name: 'p', version: '1.0.0', scope: 'platform' }),
      field: 'scope',
    },
  },
  {
    route: 'GET /v1/workflows/:workflowId/versions/:versionNumber/params-schema',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/workflows/${fx.workflowId}/versions/1/params-schema`),
    invalid: {
      send: async (c) => c.get(`/v1/workflows/${fx.workflowId}/versions/0/params-schema`),
      field: 'params.versionNumber',
    },
  },
  {
    route: 'POST /v1/workflows/:workflowId/triggers',
    min: 'editor',
    status: 201,
    send: async (c) =>
      c.post(`/v1/workflows/${fx.workflowId}/triggers`, {
        kind: 'event',
        versionNumber: 1,
        event: { on: 'asset.registered' },
      }),
    invalid: {
      send: async (c) =>
        c.post(`/v1/workflows/${fx.workflowId}/triggers`, { kind: 'schedule', schedule: { cron: '* * * * * *' } }),
      field: 'schedule.cron',
    },
  },
  {
    route: 'GET /v1/workflows/:workflowId/triggers',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/workflows/${fx.workflowId}/triggers?kind=webhook`),
    invalid: { send: async (c) => c.get(`/v1/workflows/${fx.workflowId}/triggers?kind=cron`), field: 'query.kind' },
  },
  {
    route: 'GET /v1/triggers/:triggerId',
    min: 'viewer',
    status: 200,
    send: async (c) => c.get(`/v1/triggers/${fx.scheduleId}`),
    invalid: { send: async (c) => c.get('/v1/triggers/a.b'), field: 'params.triggerId' },
  },
  {
    route: 'PATCH /v1/triggers/:triggerId',
    min: 'editor',
    status: 200,
    send: async (c) => c.patch(`/v1/triggers/${fx.hookId}`, { name: unique('hook') }),
    invalid: { send: async (c) => c.patch(`/v1/triggers/${fx.hookId}`, {}), field: 'name' },
  },
  {
    route: 'DELETE /v1/triggers/:triggerId',
    min: 'editor',
    status: 204,
    send: async (c) => c.delete(`/v1/triggers/${(await freshTrigger({ kind: 'webhook' })).id}`),
    invalid: { send: async (c) => c.delete('/v1/triggers/a.b'), field: 'params.triggerId' },
  },
  {
    route: 'POST /v1/triggers/:triggerId/pause',
    min: 'editor',
    status: 200,
    send: async (c) => c.post(`/v1/triggers/${fx.scheduleId}/pause`),
    invalid: { send: async (c) => c.post('/v1/triggers/a.b/pause'), field: 'params.triggerId' },
  },
  {
    route: 'POST /v1/triggers/:triggerId/resume',
    min: 'editor',
    status: 200,
    send: async (c) => c.post(`/v1/triggers/${fx.hookId}/resume`),
    invalid: { send: async (c) => c.post('/v1/triggers/a.b/resume'), field: 'params.triggerId' },
  },
  {
    route: 'POST /v1/triggers/:triggerId/run-now',
    min: 'editor',
    status: 202,
    send: async (c) => c.post(`/v1/triggers/${fx.scheduleId}/run-now`, { overlap: 'allow_all' }),
    invalid: {
      send: async (c) => c.post(`/v1/triggers/${fx.scheduleId}/run-now`, { overlap: 'sometimes' }),
      field: 'body.overlap',
    },
  },
  {
    route: 'POST /v1/triggers/:triggerId/backfill',
    min: 'editor',
    status: 202,
    send: async (c) =>
      c.post(`/v1/triggers/${fx.scheduleId}/backfill`, {
        start: '2026-01-01T00:00:00Z',
        end: '2026-01-01T00:30:00Z',
      }),
    invalid: {
      send: async (c) =>
        c.post(`/v1/triggers/${fx.scheduleId}/backfill`, {
          start: '2026-01-02T00:00:00Z',
          end: '2026-01-01T00:00:00Z',
        }),
      field: 'end',
    },
  },
  {
    route: 'POST /v1/hooks/:triggerId',
    min: 'anyone',
    status: 202,
    send: async (c) => deliver(c, JSON.stringify({ who: unique('caller') })),
    invalid: { send: async (c) => deliver(c, JSON.stringify({ 'a.b': 1 })), field: 'a.b' },
  },
  {
    route: 'POST /v1/workspaces/:workspaceId/secrets',
    min: 'admin',
    status: 201,
    send: async (c) =>
      c.post(`/v1/workspaces/${A.workspaceId}/secrets`, {
        name: unique('S').replace(/[^A-Za-z0-9_]/g, '_'),
        value: 'value-1234',
      }),
    invalid: {
      send: async (c) => c.post(`/v1/workspaces/${A.workspaceId}/secrets`, { name: '1st', value: 'value-1234' }),
      field: 'body.name',
    },
  },
  {
    route: 'GET /v1/workspaces/:workspaceId/secrets',
    min: 'editor',
    status: 200,
    send: async (c) => c.get(`/v1/workspaces/${A.workspaceId}/secrets`),
    invalid: { send: async (c) => c.get(`/v1/workspaces/${A.workspaceId}/secrets?limit=5`), field: 'limit' },
  },
  {
    route: 'PUT /v1/workspaces/:workspaceId/secrets/:name',
    min: 'admin',
    status: 200,
    send: async (c) =>
      c.call('put', `/v1/workspaces/${A.workspaceId}/secrets/${fx.secretName}`, { value: 'value-5678' }),
    invalid: {
      send: async (c) => c.call('put', `/v1/workspaces/${A.workspaceId}/secrets/${fx.secretName}`, { value: 'abc' }),
      field: 'body.value',
    },
  },
  {
    route: 'DELETE /v1/workspaces/:workspaceId/secrets/:name',
    min: 'admin',
    status: 204,
    send: async (c) => c.delete(`/v1/workspaces/${A.workspaceId}/secrets/${await freshSecret()}`),
    invalid: {
      send: async (c) => c.delete(`/v1/workspaces/${A.workspaceId}/secrets/bad-name`),
      field: 'params.name',
    },
  },
  {
    route: 'GET /v1/workspaces/:workspaceId/audit-logs',
    min: 'admin',
    status: 200,
    send: async (c) => c.get(`/v1/workspaces/${A.workspaceId}/audit-logs?resourceType=asset`),
    invalid: {
      send: async (c) => c.get(`/v1/workspaces/${A.workspaceId}/audit-logs?action=read`),
      field: 'query.action',
    },
  },
];

const callers: Array<Role | 'outsider'> = [...ROLE_LIST, 'outsider'];

/** What a caller should get: the route's status from `min` up, 403 below it, 404 from another tenant. */
function expected(c: RouteCase, who: Role | 'outsider'): number {
  if (c.min === 'anyone') return c.status;
  if (who === 'outsider') return 404;
  return ROLE_LIST.indexOf(who) >= ROLE_LIST.indexOf(c.min) ? c.status : 403;
}

describe.each(cases)('$route', (c) => {
  it.each(callers)('as %s', async (who) => {
    const client = who === 'outsider' ? outsider : A.as[who];
    const res = await c.send(client);
    expect({ who, status: res.status, body: res.status >= 400 ? res.body : undefined }).toMatchObject({
      who,
      status: expected(c, who),
    });
    if (res.status >= 400) expect(res.body.error.code).toBe(res.status === 404 ? 'not_found' : 'forbidden');
  });

  it('rejects invalid input with a 400 naming the field', async () => {
    const res = await c.invalid.send(A.as.owner);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.error)).toContain(c.invalid.field);
  });
});

it('covers every platform route the API registers', async () => {
  const res = await A.as.viewer.get('/openapi.json');
  const registered = Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(
    ([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path.replace(/\{([A-Za-z]+)\}/g, ':$1')}`),
  );
  const platform = registered.filter((r) => !/\/runs|\/artifacts|healthz|readyz|metrics|openapi/.test(r));
  expect(platform.sort()).toEqual(cases.map((c) => c.route).sort());
  const versionBody =
    res.body.paths['/v1/workflows/{workflowId}/versions'].post.requestBody.content['application/json'].schema;
  const kinds = (
    versionBody.properties.runtimeGraph.properties.nodes.items.oneOf as Array<{
      properties: { executorType: { const: string } };
    }>
  ).map((n) => n.properties.executorType.const);
  expect(kinds.sort()).toEqual(['approval', 'builtin', 'decision', 'docker', 'timer', 'workflow']);
});

it('answers without a key with a 401', async () => {
  const res = await new Client(t.url, 'efk_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb').get('/v1/me');
  expect(res.status).toBe(401);
});
