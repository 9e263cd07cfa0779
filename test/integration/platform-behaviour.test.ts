// What the platform routes do beyond access control: version numbering and graph validation, membership rules,
// API keys, uploads, dataset manifests, encrypted secrets, annotations, plugins, the audit trail and the
// document shapes every collection ends up holding.
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { MAX_SIMPLE_UPLOAD_BYTES } from '../../api/routes/assets';
import { DOCUMENT_SCHEMAS } from '../../src/domain/collections';
import { RunService } from '../../src/services/runs';
import { SecretBox, SecretStore } from '../../src/services/secrets';
import { seedUser, seedWorkspace, startTestApp } from '../support/app';
import { Builder, Client, listen, seedTenant, startPlatformApp, TEST_SECRET_KEY, unique } from './helpers/platform';
import type { PlatformApp, Tenant } from './helpers/platform';

let t: PlatformApp;
let A: Tenant;
let B: Tenant;
let build: Builder;

beforeAll(async () => {
  t = await startPlatformApp();
  A = await seedTenant(t, 'alpha');
  B = await seedTenant(t, 'beta');
  build = new Builder(A.as.editor, A);
});

afterAll(async () => {
  await t?.close();
});

const auditCount = (filter: Record<string, unknown>) =>
  t.db.collection('audit_logs').countDocuments({ workspaceId: A.workspaceId, ...filter });

describe('workflow definitions and versions', () => {
  it('numbers concurrent versions 1..n without duplicates, even on a server without atomic updates', async () => {
    const workflowId = await build.workflow();
    const numbers = await Promise.all(Array.from({ length: 10 }, () => build.version(workflowId)));
    expect([...numbers].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Whatever the counter went through, the next version follows the highest stored one and the head says so.
    expect(await build.version(workflowId)).toBe(11);
    expect((await A.as.viewer.get(`/v1/workflows/${workflowId}`)).body.latestVersionNumber).toBe(11);
    const stored = await t.db
      .collection('workflow_definition_versions')
      .countDocuments({ workflowDefinitionId: workflowId });
    expect(stored).toBe(11);
  });

  it('lists versions newest first with cursor pagination, and stores the graph with defaults applied', async () => {
    const workflowId = await build.workflow();
    for (let n = 1; n <= 6; n++) expect(await build.version(workflowId)).toBe(n);
    const v1 = await A.as.viewer.get(`/v1/workflows/${workflowId}/versions/1`);
    expect(v1.status).toBe(200);
    expect(v1.body.runtimeGraph.settings).toEqual({ maxParallelism: 8, failFast: false });
    expect(v1.body.runtimeGraph.nodes[0].executorConfig).toMatchObject({
      cpu: 1,
      memoryMb: 256,
      network: false,
      taskQueue: 'default',
      env: {},
    });

    const list = await A.as.viewer.get(`/v1/workflows/${workflowId}/versions?limit=4`);
    expect(list.body.items.map((v: { versionNumber: number }) => v.versionNumber)).toEqual([6, 5, 4, 3]);
    expect(list.body.items[0].runtimeGraph).toBeUndefined();
    const rest = await A.as.viewer.get(`/v1/workflows/${workflowId}/versions?limit=4&cursor=${list.body.nextCursor}`);
    expect(rest.body.items.map((v: { versionNumber: number }) => v.versionNumber)).toEqual([2, 1]);
    expect(rest.body.nextCursor).toBeNull();
  });

  it('publishes an existing version only, and the run service starts from what was stored', async () => {
    const workflowId = await build.workflow();
    await build.version(workflowId);
    expect((await A.as.editor.post(`/v1/workflows/${workflowId}/versions/2/publish`)).status).toBe(404);
    const published = await A.as.editor.post(`/v1/workflows/${workflowId}/versions/1/publish`);
    expect(published.body.publishedVersionNumber).toBe(1);

    // The engine's reader of these documents sees a definition with a published version.
    const runs = new RunService(t.db, t.temporal, t.config);
    const def = await runs.getDefinition(workflowId);
    expect(def).toMatchObject({ publishedVersionNumber: 1, workspaceId: A.workspaceId, projectId: A.projectId });
    expect(await auditCount({ resourceType: 'workflow_definition', action: 'publish', resourceId: workflowId })).toBe(
      1,
    );
  });

  it('keeps versions immutable: there is no route that edits or deletes one', async () => {
    const workflowId = await build.workflow();
    await build.version(workflowId);
    for (const method of ['patch', 'delete'] as const) {
      const res = await A.as.owner.call(
        method,
        `/v1/workflows/${workflowId}/versions/1`,
        method === 'patch' ? { summary: 'x' } : undefined,
      );
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
    }
  });

  it('answers one invalid_graph listing every problem, each with its node', async () => {
    const workflowId = await build.workflow();
    const res = await A.as.editor.post(`/v1/workflows/${workflowId}/versions`, {
      runtimeGraph: {
        nodes: [
          { id: 'probe', executorType: 'docker', executorConfig: { image: 'emboflow/tools:local', cpu: 1000 } },
          { id: 'probe', executorType: 'builtin', executorConfig: { op: 'noop' } },
          { id: 'wait', executorType: 'timer', executorConfig: { seconds: -1 } },
          { id: 'mystery', executorType: 'lambda' },
        ],
        edges: [
          { source: 'probe', target: 'ghost' },
          { source: 'wait', target: 'wait' },
        ],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_graph');
    const problems = res.body.error.details as Array<{ nodeId?: string; path: string; message: string }>;
    expect(problems.map((p) => p.path).sort()).toEqual(
      [
        'nodes.0.executorConfig.cpu',
        'nodes.1.id',
        'nodes.2.executorConfig.seconds',
        'nodes.3.executorType',
        'edges.0.target',
        'edges.1',
      ].sort(),
    );
    expect(problems.find((p) => p.path === 'nodes.3.executorType')?.nodeId).toBe('mystery');
    expect(problems.find((p) => p.path === 'edges.1')).toEqual({
      nodeId: 'wait',
      path: 'edges.1',
      message: 'node "wait" has an edge to itself',
    });
    expect(problems.find((p) => p.path === 'nodes.1.id')?.message).toBe('duplicate node id "probe"');
    // Nothing was allocated for the refused version.
    expect((await A.as.viewer.get(`/v1/workflows/${workflowId}`)).body.latestVersionNumber).toBe(0);
  });

  it('resolves contracts through custom nodes of the same project only', async () => {
    const producesJson = await build.customNode({ inputs: [], outputs: ['json'] });
    const wantsVideo = await build.customNode({ inputs: ['video'], outputs: [] });
    const otherProjectNode = await new Builder(B.as.editor, B).customNode();
    const workflowId = await build.workflow();
    const res = await A.as.editor.post(`/v1/workflows/${workflowId}/versions`, {
      runtimeGraph: {
        nodes: [
          { id: 'make', executorType: 'docker', executorConfig: { customNodeId: producesJson } },
          { id: 'view', executorType: 'docker', executorConfig: { customNodeId: wantsVideo } },
          { id: 'steal', executorType: 'docker', executorConfig: { customNodeId: otherProjectNode } },
        ],
        edges: [{ source: 'make', target: 'view' }],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual(
      expect.arrayContaining([
        {
          nodeId: 'steal',
          path: 'nodes.2.executorConfig.customNodeId',
          message: `custom node ${otherProjectNode} not found in this project`,
        },
        { nodeId: 'view', path: 'edges.0', message: '"make" produces [json] but "view" accepts [video]' },
      ]),
    );
    expect(res.body.error.details).toHaveLength(2);

    const fits = await A.as.editor.post(`/v1/workflows/${workflowId}/versions`, {
      runtimeGraph: {
        nodes: [
          { id: 'make', executorType: 'docker', executorConfig: { customNodeId: producesJson } },
          {
            id: 'keep',
            executorType: 'docker',
            executorConfig: { image: 'emboflow/tools:local' },
            contract: { inputs: ['file'] },
          },
        ],
        edges: [{ source: 'make', target: 'keep' }],
      },
    });
    expect(fits.status).toBe(201);
  });

  it('refuses a slug already used in the project, and derives free ones from names', async () => {
    const first = await A.as.editor.post(`/v1/projects/${A.projectId}/workflows`, {
      name: 'Same Name',
      slug: 'fixed-slug',
    });
    expect(first.status).toBe(201);
    const again = await A.as.editor.post(`/v1/projects/${A.projectId}/workflows`, {
      name: 'Other',
      slug: 'fixed-slug',
    });
    expect(again.status).toBe(409);
    expect(again.body.error.details).toEqual({ field: 'slug' });
    const derived = await A.as.editor.post(`/v1/projects/${A.projectId}/workflows`, { name: 'Same Name' });
    const derivedAgain = await A.as.editor.post(`/v1/projects/${A.projectId}/workflows`, { name: 'Same Name' });
    expect(derived.body.slug).toBe('same-name');
    expect(derivedAgain.body.slug).toMatch(/^same-name-[0-9a-f]{8}$/);
  });
});

describe('memberships and users', () => {
  it('lets only owners grant, change or remove the owner role', async () => {
    const { userId } = await seedUser(t.db, []);
    const asAdmin = await A.as.admin.post(`/v1/workspaces/${A.workspaceId}/members`, { userId, role: 'owner' });
    expect(asAdmin.status).toBe(403);
    const asOwner = await A.as.owner.post(`/v1/workspaces/${A.workspaceId}/members`, { userId, role: 'owner' });
    expect(asOwner.status).toBe(201);
    expect(
      (await A.as.admin.patch(`/v1/workspaces/${A.workspaceId}/members/${asOwner.body.id}`, { role: 'viewer' })).status,
    ).toBe(403);
    expect((await A.as.admin.delete(`/v1/workspaces/${A.workspaceId}/members/${asOwner.body.id}`)).status).toBe(403);
    expect(
      (await A.as.owner.patch(`/v1/workspaces/${A.workspaceId}/members/${asOwner.body.id}`, { role: 'admin' })).body
        .role,
    ).toBe('admin');
    const viewer = await A.as.admin.post(`/v1/workspaces/${A.workspaceId}/users`, {
      email: `${unique('x')}@test.local`,
      displayName: 'X',
      role: 'viewer',
    });
    expect(
      (
        await A.as.admin.patch(`/v1/workspaces/${A.workspaceId}/members/${viewer.body.membership.id}`, {
          role: 'owner',
        })
      ).status,
    ).toBe(403);
  });

  it('never removes or demotes the last owner', async () => {
    const ws = await A.as.viewer.post('/v1/workspaces', { name: unique('Solo') });
    const members = await A.as.viewer.get(`/v1/workspaces/${ws.body.id}/members`);
    expect(members.body.items).toEqual([expect.objectContaining({ userId: A.as.viewer.userId, role: 'owner' })]);
    const own = members.body.items[0].id;
    expect((await A.as.viewer.patch(`/v1/workspaces/${ws.body.id}/members/${own}`, { role: 'admin' })).status).toBe(
      409,
    );
    expect((await A.as.viewer.delete(`/v1/workspaces/${ws.body.id}/members/${own}`)).status).toBe(409);
  });

  it('adds by email, refuses duplicates and foreign projects, and a removed member loses access at once', async () => {
    const created = await A.as.admin.post(`/v1/workspaces/${A.workspaceId}/users`, {
      email: `${unique('Mixed')}@Test.Local`,
      displayName: 'M',
      role: 'viewer',
    });
    expect(created.status).toBe(201);
    const email = created.body.user.email as string;
    expect(email).toBe(email.toLowerCase());
    expect(
      (await A.as.admin.post(`/v1/workspaces/${A.workspaceId}/users`, { email, displayName: 'M', role: 'viewer' }))
        .status,
    ).toBe(409);
    expect((await A.as.admin.post(`/v1/workspaces/${A.workspaceId}/members`, { email, role: 'editor' })).status).toBe(
      409,
    );
    const foreign = await A.as.admin.post(`/v1/workspaces/${A.workspaceId}/members`, {
      email,
      role: 'editor',
      projectId: B.projectId,
    });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.details).toEqual([{ field: 'projectId', message: 'no such project in this workspace' }]);
    const projectOwner = await A.as.owner.post(`/v1/workspaces/${A.workspaceId}/members`, {
      email,
      role: 'owner',
      projectId: A.projectId,
    });
    expect(projectOwner.status).toBe(400);

    const member = await seedUser(t.db, [{ workspaceId: A.workspaceId, role: 'editor' }]);
    const client = new Client(t.url, member.apiKey);
    expect((await client.get(`/v1/projects/${A.projectId}`)).status).toBe(200);
    const membership = await t.db.collection('memberships').findOne({ userId: member.userId });
    expect((await A.as.admin.delete(`/v1/workspaces/${A.workspaceId}/members/${membership!._id}`)).status).toBe(204);
    expect((await client.get(`/v1/projects/${A.projectId}`)).status).toBe(404);
  });

  it('shows a project member their project and its workspace, and nothing else of it', async () => {
    const projectId = await new Builder(A.as.owner, A).project();
    const member = await seedUser(t.db, [{ workspaceId: A.workspaceId, projectId, role: 'editor' }]);
    const client = new Client(t.url, member.apiKey);
    expect((await client.get(`/v1/workspaces/${A.workspaceId}`)).status).toBe(200);
    const projects = await client.get(`/v1/workspaces/${A.workspaceId}/projects`);
    expect(projects.body.items.map((p: { id: string }) => p.id)).toEqual([projectId]);
    expect((await client.post(`/v1/projects/${projectId}/workflows`, { name: 'mine' })).status).toBe(201);
    expect((await client.get(`/v1/projects/${A.projectId}`)).status).toBe(404);
    expect((await client.get(`/v1/workspaces/${A.workspaceId}/members`)).status).toBe(404);
    const me = await client.get('/v1/me');
    expect(me.body.memberships).toEqual([
      expect.objectContaining({ workspaceId: A.workspaceId, projectId, role: 'editor' }),
    ]);
  });
});

describe('API keys', () => {
  it('shows the plaintext once, stores only its hash, and stops working when revoked', async () => {
    const created = await A.as.editor.post('/v1/api-keys', { name: 'laptop' });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    expect(key).toMatch(/^efk_[a-z0-9]{12}_[a-z0-9]{32}$/);
    expect(created.body.hash).toBeUndefined();
    const stored = await t.db.collection('api_keys').findOne({ _id: created.body.id });
    expect(JSON.stringify(stored)).not.toContain(key.slice(17));

    const fresh = new Client(t.url, key);
    expect((await fresh.get('/v1/me')).body.user.id).toBe(A.as.editor.userId);
    const listed = await A.as.editor.get('/v1/api-keys');
    expect(listed.body.items.length).toBeGreaterThanOrEqual(2);
    for (const item of listed.body.items) {
      expect(item.key).toBeUndefined();
      expect(item.hash).toBeUndefined();
    }

    expect((await fresh.post(`/v1/api-keys/${created.body.id}/revoke`)).body.status).toBe('revoked');
    expect((await fresh.get('/v1/me')).status).toBe(401);
    expect((await A.as.editor.post(`/v1/api-keys/${created.body.id}/revoke`)).status).toBe(409);
  });

  it("lets admins manage a member's keys but not an owner's, and nobody another tenant's", async () => {
    const ownerKeys = await A.as.admin.get(`/v1/api-keys?userId=${A.as.owner.userId}`);
    expect(ownerKeys.status).toBe(403);
    const editorKeys = await A.as.admin.get(`/v1/api-keys?userId=${A.as.editor.userId}`);
    expect(editorKeys.status).toBe(200);
    expect((await B.as.owner.get(`/v1/api-keys?userId=${A.as.editor.userId}`)).status).toBe(404);
    const ownerKey = await t.db.collection('api_keys').findOne({ userId: A.as.owner.userId });
    expect((await A.as.admin.post(`/v1/api-keys/${ownerKey!._id}/revoke`)).status).toBe(403);
    expect(await auditCount({ resourceType: 'api_key' })).toBe(0);
  });
});

describe('assets', () => {
  it('uploads bytes to object storage and records where they are', async () => {
    const bytes = Buffer.from('\u0089HDF\r\n\u001a\n fake hdf5 bytes');
    const res = await A.as.editor
      .call('post', `/v1/projects/${A.projectId}/assets/upload?displayName=../../episode%201.h5&type=hdf5_dataset`)
      .set('Content-Type', 'application/octet-stream')
      .send(bytes);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      type: 'hdf5_dataset',
      sourceType: 'upload',
      sizeBytes: bytes.length,
      fileCount: 1,
      detectedFormats: ['hdf5'],
    });
    expect(res.body.storageRef.key).toBe(
      `workspaces/${A.workspaceId}/projects/${A.projectId}/assets/${res.body.id}/__.._episode_1.h5`,
    );
    expect(await t.store.getBuffer(res.body.storageRef.key)).toEqual(bytes);
    expect(await auditCount({ resourceType: 'asset', action: 'upload', resourceId: res.body.id })).toBe(1);
  });

  it('refuses JSON, empty and oversized uploads', async () => {
    const path = `/v1/projects/${A.projectId}/assets/upload?displayName=x.bin`;
    expect((await A.as.editor.post(path, { bytes: 'x' })).status).toBe(400);
    expect((await A.as.editor.call('post', path).set('Content-Type', 'application/json').send('{}')).status).toBe(415);
    expect(
      (await A.as.editor.call('post', path).set('Content-Type', 'application/octet-stream').send(Buffer.alloc(0)))
        .status,
    ).toBe(400);
    // No fixed 64 MiB cap any more (uploads stream): only a declared length past what storage takes is refused,
    // from the headers, before a byte is read. The claimed body is never sent.
    const tooBig = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(new URL(path, t.url), {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${A.as.editor.apiKey}`,
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(MAX_SIMPLE_UPLOAD_BYTES + 1),
        },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        res.resume();
        req.destroy();
        resolve(res.statusCode!);
      });
      req.flushHeaders();
    });
    expect(tooBig).toBe(413);
    const big = await A.as.editor
      .call('post', `/v1/projects/${A.projectId}/assets/upload?displayName=big.bin`)
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.alloc(64 * 1024 * 1024 + 1));
    expect(big.status).toBe(201);
    expect(big.body.sizeBytes).toBe(64 * 1024 * 1024 + 1);
  });

  it('a resumable upload becomes the same kind of asset as a simple one', async () => {
    const bytes = Buffer.from('resumable bytes');
    const created = await A.as.editor.post(`/v1/projects/${A.projectId}/asset-uploads`, {
      displayName: 'episode.bag',
      type: 'rosbag',
      sizeBytes: bytes.length,
      checksum: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    });
    expect(created.status).toBe(201);
    const part = await A.as.editor
      .call('put', `/v1/asset-uploads/${created.body.id}/parts/1`)
      .set('Content-Type', 'application/octet-stream')
      .send(bytes);
    expect(part.body).toEqual({ partNumber: 1, sizeBytes: bytes.length });
    const asset = await A.as.editor.post(`/v1/asset-uploads/${created.body.id}/complete`);
    expect(asset.status).toBe(201);
    expect(asset.body).toMatchObject({
      type: 'rosbag',
      sourceType: 'upload',
      sizeBytes: bytes.length,
      detectedFormats: ['rosbag'],
    });
    expect(await t.store.getBuffer(asset.body.storageRef.key)).toEqual(bytes);
    expect(await auditCount({ resourceType: 'asset', action: 'upload', resourceId: asset.body.id })).toBe(1);
  });

  it('registers only references into its own workspace, or through its own connections', async () => {
    const post = (body: object) =>
      A.as.editor.post(`/v1/projects/${A.projectId}/assets`, { type: 'raw_file', displayName: 'ref', ...body });
    const foreign = await post({
      storageRef: { bucket: t.store.bucket, key: `workspaces/${B.workspaceId}/secret.bin` },
    });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.details[0].field).toBe('storageRef.key');
    expect((await post({ storageRef: { bucket: t.store.bucket, key: `runs/run_x/a/g0/outputs/x` } })).status).toBe(400);
    expect((await post({ storageRef: { bucket: 'someone-elses', key: `workspaces/${A.workspaceId}/x` } })).status).toBe(
      400,
    );

    const connectionId = await new Builder(A.as.admin, A).storageConnection();
    const via = await post({
      storageRef: { bucket: 'external-bucket', key: 'anything/at/all.bin' },
      storageConnectionId: connectionId,
    });
    expect(via.status).toBe(201);
    expect(via.body.storageRef).toMatchObject({
      kind: 'object',
      bucket: 'external-bucket',
      uri: 's3://external-bucket/anything/at/all.bin',
      storageConnectionId: connectionId,
    });
    const wrongBucket = await post({
      storageRef: { bucket: 'other-bucket', key: 'x' },
      storageConnectionId: connectionId,
    });
    expect(wrongBucket.body.error.details[0].field).toBe('storageRef.bucket');
    const theirs = await new Builder(B.as.admin, B).storageConnection();
    const stolen = await post({ prefix: 'x/', storageConnectionId: theirs });
    expect(stolen.status).toBe(400);
    expect(stolen.body.error.details[0].field).toBe('storageConnectionId');
  });

  it('lists by type and status with cursor pagination, and keeps probe reports per asset', async () => {
    const projectId = await new Builder(A.as.owner, A).project();
    const local = new Builder(A.as.editor, { workspaceId: A.workspaceId, projectId });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await local.asset(t.store.bucket));
    await A.as.editor.post(`/v1/projects/${projectId}/assets`, {
      type: 'rosbag',
      displayName: 'bag',
      prefix: `workspaces/${A.workspaceId}/bags/`,
    });
    const first = await A.as.viewer.get(`/v1/projects/${projectId}/assets?type=hdf5_dataset&limit=3`);
    const second = await A.as.viewer.get(
      `/v1/projects/${projectId}/assets?type=hdf5_dataset&limit=3&cursor=${first.body.nextCursor}`,
    );
    expect([...first.body.items, ...second.body.items].map((a: { id: string }) => a.id)).toEqual(ids.reverse());
    expect(second.body.nextCursor).toBeNull();
    expect((await A.as.viewer.get(`/v1/projects/${projectId}/assets?status=failed`)).body.items).toEqual([]);

    await A.as.editor.post(`/v1/assets/${ids[0]}/probe-reports`, {
      reportVersion: '2',
      recommendedNextNodes: ['normalize'],
    });
    const reports = await A.as.viewer.get(`/v1/assets/${ids[0]}/probe-reports`);
    expect(reports.body.items).toEqual([
      expect.objectContaining({ assetId: ids[0], reportVersion: '2', recommendedNextNodes: ['normalize'] }),
    ]);
  });
});

describe('datasets', () => {
  it('writes each version manifest to object storage, chains versions, and feeds run input expansion', async () => {
    const assets = [
      await build.asset(t.store.bucket),
      await build.asset(t.store.bucket),
      await build.asset(t.store.bucket),
    ];
    const datasetId = await build.dataset();
    const v1 = await A.as.editor.post(`/v1/datasets/${datasetId}/versions`, {
      versionTag: 'v1',
      assetIds: assets.slice(0, 2),
      stats: { episodes: 2 },
    });
    const v2 = await A.as.editor.post(`/v1/datasets/${datasetId}/versions`, {
      versionTag: 'v2',
      sourceAssetId: assets[2],
      assetIds: assets.slice(1),
    });
    expect(v2.status).toBe(201);
    expect(v2.body).toMatchObject({
      parentVersionId: v1.body.id,
      assetIds: assets.slice(1),
      assetCount: 2,
      status: 'ready',
    });
    expect((await A.as.viewer.get(`/v1/datasets/${datasetId}`)).body.latestVersionId).toBe(v2.body.id);

    const manifest = JSON.parse((await t.store.getBuffer(v2.body.manifestRef.key)).toString('utf8'));
    expect(manifest).toMatchObject({
      datasetId,
      versionId: v2.body.id,
      versionTag: 'v2',
      sourceAsset: { id: assets[2] },
    });
    expect(manifest.assets.map((a: { id: string }) => a.id)).toEqual(assets.slice(1));
    expect(manifest.assets[0].storageRef.key).toMatch(new RegExp(`^workspaces/${A.workspaceId}/`));

    const listed = await A.as.viewer.get(`/v1/datasets/${datasetId}/versions`);
    expect(listed.body.items.map((v: { versionTag: string }) => v.versionTag)).toEqual(['v2', 'v1']);
    expect(listed.body.items[0].assetIds).toBeUndefined();

    const runs = new RunService(t.db, t.temporal, t.config);
    const resolved = await runs.resolveBindings([{ kind: 'dataset', id: datasetId }], {
      workspaceId: A.workspaceId,
      projectId: A.projectId,
    });
    expect(resolved.assetIds.sort()).toEqual(assets.slice(1).sort());
    expect(resolved.datasetVersions).toEqual([{ datasetId, versionId: v2.body.id }]);

    // A pinned version resolves to its own assets, and is recorded as the one used.
    const pinned = await runs.resolveBindings([{ kind: 'dataset', id: datasetId, versionId: v1.body.id }], {
      workspaceId: A.workspaceId,
      projectId: A.projectId,
    });
    expect(pinned.assetIds.sort()).toEqual(assets.slice(0, 2).sort());
    expect(pinned.datasetVersions).toEqual([{ datasetId, versionId: v1.body.id }]);
  });

  it('a run on a dataset with no version, or on a version of another dataset, is a 400 naming the binding', async () => {
    const empty = await build.dataset();
    const other = await build.dataset();
    const otherVersion = await build.datasetVersion(other, [await build.asset(t.store.bucket)]);
    const runs = new RunService(t.db, t.temporal, t.config);
    const scope = { workspaceId: A.workspaceId, projectId: A.projectId };
    await expect(runs.resolveBindings([{ kind: 'dataset', id: empty }], scope)).rejects.toMatchObject({
      status: 400,
      details: { field: 'inputBindings.0.id' },
      message: `dataset ${empty} has no version yet: create one before running on it`,
    });
    // Another dataset's version is not this dataset's: named by its position in the bindings.
    await expect(
      runs.resolveBindings(
        [
          { kind: 'dataset', id: other },
          { kind: 'dataset', id: empty, versionId: otherVersion },
        ],
        scope,
      ),
    ).rejects.toMatchObject({ status: 400, details: { field: 'inputBindings.1.versionId' } });
  });

  it('refuses duplicate tags and assets of other projects', async () => {
    const datasetId = await build.dataset();
    const mine = await build.asset(t.store.bucket);
    const theirs = await new Builder(B.as.editor, B).asset(t.store.bucket);
    await build.datasetVersion(datasetId, [mine]);
    const tag = (await A.as.viewer.get(`/v1/datasets/${datasetId}/versions`)).body.items[0].versionTag;
    expect(
      (await A.as.editor.post(`/v1/datasets/${datasetId}/versions`, { versionTag: tag, assetIds: [mine] })).status,
    ).toBe(409);
    const foreign = await A.as.editor.post(`/v1/datasets/${datasetId}/versions`, {
      versionTag: 'v9',
      assetIds: [mine, theirs],
    });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.details).toEqual([
      { field: 'assetIds.1', message: `no asset ${theirs} in this project` },
    ]);
    expect(
      (
        await A.as.editor.post(`/v1/projects/${A.projectId}/datasets`, {
          name: (await A.as.viewer.get(`/v1/datasets/${datasetId}`)).body.name,
        })
      ).status,
    ).toBe(409);
  });
});

describe('notification endpoints', () => {
  it('answer the signing secret once, store it only encrypted (bound to the endpoint) and never list it', async () => {
    const created = await A.as.admin.post(`/v1/workspaces/${A.workspaceId}/notification-endpoints`, {
      url: 'https://hooks.example.com/emboflow',
    });
    expect(created.status).toBe(201);
    const { id, secret } = created.body as { id: string; secret: string };
    expect(secret).toMatch(/^whsec_/);
    const doc = await t.db
      .collection<{ _id: string; secretRef: string }>('notification_endpoints')
      .findOne({ _id: id });
    expect(JSON.stringify(doc)).not.toContain(secret);
    expect(await t.db.collection('secrets').findOne({ _id: doc!.secretRef as never })).toMatchObject({
      workspaceId: A.workspaceId,
      ownerType: 'notification_endpoint',
      ownerId: id,
    });
    const listed = await A.as.editor.get(`/v1/workspaces/${A.workspaceId}/notification-endpoints`);
    expect(listed.body.items.find((e: { id: string }) => e.id === id)).toEqual({
      id,
      workspaceId: A.workspaceId,
      url: 'https://hooks.example.com/emboflow',
      status: 'active',
      createdBy: expect.any(String),
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const audit = await A.as.admin.get(
      `/v1/workspaces/${A.workspaceId}/audit-logs?resourceType=notification_endpoint&action=create`,
    );
    expect(audit.body.items[0]).toMatchObject({ resourceId: id });
    expect(JSON.stringify(audit.body)).not.toContain(secret);
  });
});

describe('workspace secrets and triggers', () => {
  it('keeps secret values and webhook secrets only encrypted; records a listened-for event once', async () => {
    const value = `token-${unique('v')}`;
    const created = await A.as.admin.post(`/v1/workspaces/${A.workspaceId}/secrets`, { name: 'API_TOKEN', value });
    expect(created.status).toBe(201);
    const doc = await t.db.collection('workspace_secrets').findOne({ name: 'API_TOKEN', workspaceId: A.workspaceId });
    expect(JSON.stringify(doc)).not.toContain(value);
    expect(await t.db.collection('secrets').findOne({ _id: doc!.secretRef })).toMatchObject({
      ownerType: 'workspace_secret',
      ownerId: doc!._id,
    });

    const workflowId = await build.workflow();
    await build.version(workflowId);
    const hook = await A.as.editor.post(`/v1/workflows/${workflowId}/triggers`, { kind: 'webhook', versionNumber: 1 });
    expect(hook.status).toBe(201);
    const stored = await t.db.collection('triggers').findOne({ _id: hook.body.id });
    expect(JSON.stringify(stored)).not.toContain(hook.body.secret);

    const listener = await A.as.editor.post(`/v1/workflows/${workflowId}/triggers`, {
      kind: 'event',
      versionNumber: 1,
      event: { on: 'asset.registered', format: 'hdf5' },
    });
    expect(listener.status).toBe(201);
    const asset = await A.as.editor
      .call('post', `/v1/projects/${A.projectId}/assets/upload?displayName=episode.h5`)
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.from('h5'));
    expect(asset.status).toBe(201);
    const event = await t.db.collection('trigger_events').findOne({ assetId: asset.body.id });
    expect(event).toMatchObject({ event: 'asset.registered', formats: ['hdf5'] });
    // No worker serves this app: the launcher the event started waits in Temporal; it goes with the test.
    await t.temporal.workflow
      .getHandle(`emboflow-trigger-${listener.body.id}-${String(event!._id)}`)
      .terminate('test over')
      .catch(() => undefined);
  });
});

describe('storage connections', () => {
  it('encrypts the secret into its own collection and never answers with it', async () => {
    const secret = `s3-secret-${unique('x')}`;
    const id = await new Builder(A.as.admin, A).storageConnection(secret);
    const doc = await t.db.collection<{ _id: string; secretRef: string }>('storage_connections').findOne({ _id: id });
    expect(doc!.secretRef).toMatch(/^secret_/);
    expect(JSON.stringify(doc)).not.toContain(secret);
    const stored = await t.db.collection<{ _id: string }>('secrets').findOne({ _id: doc!.secretRef });
    expect(stored).toMatchObject({
      workspaceId: A.workspaceId,
      ownerType: 'storage_connection',
      ownerId: id,
      algorithm: 'aes-256-gcm',
    });
    expect(JSON.stringify(stored)).not.toContain(secret);

    const secrets = new SecretStore(t.db, new SecretBox(TEST_SECRET_KEY));
    expect(
      await secrets.reveal(doc!.secretRef, {
        workspaceId: A.workspaceId,
        ownerType: 'storage_connection',
        ownerId: id,
      }),
    ).toBe(secret);
    await expect(
      secrets.reveal(doc!.secretRef, {
        workspaceId: A.workspaceId,
        ownerType: 'storage_connection',
        ownerId: 'stc_other',
      }),
    ).rejects.toThrow();
    await expect(
      new SecretStore(t.db, new SecretBox('another-key-of-at-least-32-characters!')).reveal(doc!.secretRef, {
        workspaceId: A.workspaceId,
        ownerType: 'storage_connection',
        ownerId: id,
      }),
    ).rejects.toThrow();

    const answer = await A.as.editor.get(`/v1/storage-connections/${id}`);
    expect(answer.body).toMatchObject({ id, hasSecret: true, secretRef: doc!.secretRef });
    expect(JSON.stringify(answer.body)).not.toContain(secret);
  });

  it("keeps a registry login's password encrypted and bound to it, never answers it, and deletes it with the login", async () => {
    const secrets = new SecretStore(t.db, new SecretBox(TEST_SECRET_KEY));
    const password = `registry-${unique('pw')}`;
    const path = `/v1/workspaces/${A.workspaceId}/registry-credentials`;
    const created = await A.as.admin.post(path, { registry: 'Registry.Example.com:5000', username: 'ci', password });
    expect(created.status).toBe(201);
    // Matched by host as image references name it: lower case.
    expect(created.body).toMatchObject({ registry: 'registry.example.com:5000', username: 'ci' });
    expect(JSON.stringify(created.body)).not.toContain(password);
    const doc = await t.db.collection('registry_credentials').findOne({ _id: created.body.id });
    const owner = { workspaceId: A.workspaceId, ownerType: 'registry_credential' as const, ownerId: created.body.id };
    expect(await secrets.reveal(doc!.secretRef, owner)).toBe(password);
    await expect(secrets.reveal(doc!.secretRef, { ...owner, ownerType: 'storage_connection' })).rejects.toThrow();
    const listed = await A.as.admin.get(path);
    expect(JSON.stringify(listed.body)).not.toContain(password);
    expect(JSON.stringify(listed.body)).not.toContain(doc!.secretRef);
    // One per registry: the same host again (in another spelling) is a 409 that writes nothing.
    const secretsBefore = await t.db.collection('secrets').countDocuments();
    const again = await A.as.admin.post(path, { registry: 'registry.example.com:5000', username: 'x', password: 'y' });
    expect(again.status).toBe(409);
    expect(await t.db.collection('secrets').countDocuments()).toBe(secretsBefore);

    const other = await A.as.admin.post(path, { registry: 'other.example.com', username: 'ci', password });
    const otherDoc = await t.db.collection('registry_credentials').findOne({ _id: other.body.id });
    expect((await A.as.admin.delete(`/v1/registry-credentials/${other.body.id}`)).status).toBe(204);
    expect(await t.db.collection('registry_credentials').findOne({ _id: other.body.id })).toBeNull();
    expect(await t.db.collection('secrets').findOne({ _id: otherDoc!.secretRef })).toBeNull();
    expect((await A.as.admin.delete(`/v1/registry-credentials/${other.body.id}`)).status).toBe(404);
  });

  it('refuses a secret, naming the field and the setting, when EMBOFLOW_SECRET_KEY is unset', async () => {
    const bare = await listen(await startTestApp({}, { rateLimitPerMinute: 100_000 }));
    try {
      const { workspaceId } = await seedWorkspace(bare.db, 'bare');
      const { apiKey } = await seedUser(bare.db, [{ workspaceId, role: 'admin' }]);
      const client = new Client(bare.url, apiKey);
      const body = { type: 'object_storage', provider: 's3', name: 'n', config: {} };
      const res = await client.post(`/v1/workspaces/${workspaceId}/storage-connections`, { ...body, secret: 'shh' });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toEqual([
        { field: 'secret', message: expect.stringContaining('EMBOFLOW_SECRET_KEY') },
      ]);
      expect(await bare.db.collection('storage_connections').countDocuments()).toBe(0);
      expect(await bare.db.collection('secrets').countDocuments()).toBe(0);
      expect((await client.post(`/v1/workspaces/${workspaceId}/storage-connections`, body)).status).toBe(201);
      const login = { registry: 'ghcr.io', username: 'ci', password: 'shh' };
      const refused = await client.post(`/v1/workspaces/${workspaceId}/registry-credentials`, login);
      expect(refused.status).toBe(400);
      expect(refused.body.error.details).toEqual([
        { field: 'password', message: expect.stringContaining('EMBOFLOW_SECRET_KEY') },
      ]);
      expect(await bare.db.collection('registry_credentials').countDocuments()).toBe(0);
    } finally {
      await bare.close();
    }
  });
});

describe('annotations', () => {
  it('targets objects of the project and people of the workspace, and lets assignees annotate', async () => {
    const asset = await build.asset(t.store.bucket);
    const post = (body: object) =>
      A.as.editor.post(`/v1/projects/${A.projectId}/annotation-tasks`, {
        targetType: 'asset',
        targetRef: { id: asset },
        labelType: 'bbox',
        ...body,
      });
    const foreignAsset = await new Builder(B.as.editor, B).asset(t.store.bucket);
    expect((await post({ targetRef: { id: foreignAsset } })).body.error.details[0].field).toBe('targetRef.id');
    expect((await post({ assigneeIds: [A.as.viewer.userId, B.as.viewer.userId] })).body.error.details[0].field).toBe(
      'assigneeIds.1',
    );

    const task = await post({ assigneeIds: [A.as.viewer.userId] });
    expect(task.status).toBe(201);
    expect(task.body.status).toBe('open');
    const byAssignee = await A.as.viewer.post(`/v1/annotation-tasks/${task.body.id}/annotations`, {
      payload: { label: 'cup' },
    });
    expect(byAssignee.status).toBe(201);
    expect(byAssignee.body).toMatchObject({
      targetRef: { id: asset },
      status: 'submitted',
      createdBy: A.as.viewer.userId,
    });

    const unassigned = await seedUser(t.db, [{ workspaceId: A.workspaceId, role: 'viewer' }]);
    expect(
      (
        await new Client(t.url, unassigned.apiKey).post(`/v1/annotation-tasks/${task.body.id}/annotations`, {
          payload: {},
        })
      ).status,
    ).toBe(403);
    const listed = await A.as.viewer.get(
      `/v1/projects/${A.projectId}/annotation-tasks?assigneeId=${A.as.viewer.userId}`,
    );
    expect(listed.body.items.map((x: { id: string }) => x.id)).toContain(task.body.id);
  });
});

describe('plugins and audit', () => {
  it('shows platform plugins to everyone and workspace plugins to their members only', async () => {
    const now = new Date();
    await t.db.collection('plugins').insertOne({
      _id: 'plg_platform' as never,
      scope: 'platform',
      name: 'core',
      status: 'enabled',
      currentVersion: '1',
      versions: [],
      permissions: [],
      metadata: {},
      createdAt: now,
      updatedAt: now,
    });
    const mine = await A.as.admin.post(`/v1/workspaces/${A.workspaceId}/plugins`, {
      name: 'labeler',
      version: '0.1.0',
      image: 'ghcr.io/acme/labeler:0.1.0',
    });
    expect(mine.body).toMatchObject({
      scope: 'workspace',
      status: 'enabled',
      currentVersion: '0.1.0',
      versions: [expect.objectContaining({ version: '0.1.0' })],
    });
    expect(
      (await A.as.admin.post(`/v1/workspaces/${A.workspaceId}/plugins`, { name: 'labeler', version: '0.2.0' })).status,
    ).toBe(409);
    const forA = (await A.as.viewer.get('/v1/plugins')).body.items.map((p: { id: string }) => p.id);
    const forB = (await B.as.viewer.get('/v1/plugins')).body.items.map((p: { id: string }) => p.id);
    expect(forA).toEqual(expect.arrayContaining(['plg_platform', mine.body.id]));
    expect(forB).toContain('plg_platform');
    expect(forB).not.toContain(mine.body.id);
  });

  it('keeps one audit record per mutation, filterable, with summaries only', async () => {
    const before = await auditCount({});
    const workflowId = await build.workflow();
    await build.version(workflowId);
    await A.as.editor.post(`/v1/workflows/${workflowId}/versions/1/publish`);
    await A.as.admin.patch(`/v1/projects/${A.projectId}`, { description: 'audited' });
    expect(await auditCount({})).toBe(before + 4);

    const page = await A.as.admin.get(
      `/v1/workspaces/${A.workspaceId}/audit-logs?resourceType=workflow_version&limit=1`,
    );
    expect(page.body.items[0]).toMatchObject({
      actorId: A.as.editor.userId,
      projectId: A.projectId,
      action: 'create',
      afterSummary: { workflowDefinitionId: workflowId, versionNumber: 1, nodeCount: 2, edgeCount: 1 },
    });
    expect(page.body.items[0].afterSummary.runtimeGraph).toBeUndefined();
    const updates = await A.as.admin.get(
      `/v1/workspaces/${A.workspaceId}/audit-logs?action=update&resourceType=project`,
    );
    expect(updates.body.items[0]).toMatchObject({
      beforeSummary: expect.any(Object),
      afterSummary: expect.any(Object),
      metadata: { fields: ['description'] },
    });
    expect((await B.as.owner.get(`/v1/workspaces/${A.workspaceId}/audit-logs`)).status).toBe(404);
  });
});

// Last: everything the suites above wrote, in every platform collection, has the shape its schema declares.
it('stores every document in the shape of its collection schema', async () => {
  let checked = 0;
  for (const [name, schema] of Object.entries(DOCUMENT_SCHEMAS)) {
    const docs = await t.db.collection(name).find({}).toArray();
    expect({ name, count: docs.length > 0 }).toEqual({ name, count: true });
    for (const doc of docs) {
      const parsed = schema.safeParse(doc);
      expect({ name, id: doc._id, issues: parsed.success ? [] : parsed.error.issues }).toEqual({
        name,
        id: doc._id,
        issues: [],
      });
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(100);
});
