import { fingerprint, seedTenant, simpleGraph, startPlatformApp, type PlatformApp } from './helpers/platform';

let t: PlatformApp;
beforeAll(async () => { t = await startPlatformApp(); });
afterAll(async () => { await t?.close(); });

it('smoke', async () => {
  const a = await seedTenant(t, 'a');
  const p = a.as.editor;
  let r = await p.post(`/v1/projects/${a.projectId}/workflows`, { name: 'My flow' });
  console.log(r.status, r.body);
  const wf = r.body.id;
  r = await p.post(`/v1/workflows/${wf}/versions`, { runtimeGraph: simpleGraph() });
  console.log(r.status, JSON.stringify(r.body).slice(0, 300));
  r = await p.post(`/v1/workflows/${wf}/versions`, { runtimeGraph: { nodes: [{ id: 'x', executorType: 'approval' }, { id: 'x', executorType: 'bogus' }], edges: [{ source: 'x', target: 'zz', condition: 'a' }] } });
  console.log(r.status, JSON.stringify(r.body, null, 1));
  r = await p.post(`/v1/projects/${a.projectId}/assets/upload?displayName=hello.h5`).set('Content-Type', 'application/octet-stream').send(Buffer.from('hello world'));
  console.log(r.status, r.body);
  r = await p.post(`/v1/projects/${a.projectId}/datasets`, { name: 'ds' });
  console.log(r.status, r.body);
  r = await p.post(`/v1/datasets/${r.body.id}/versions`, { versionTag: 'v1', assetIds: [] });
  console.log(r.status, r.body);
  r = await a.as.admin.post(`/v1/workspaces/${a.workspaceId}/storage-connections`, { type: 'object_storage', provider: 's3', name: 'ext', config: { bucket: 'b1' }, secret: 'shh' });
  console.log(r.status, r.body);
  r = await a.as.admin.get(`/v1/workspaces/${a.workspaceId}/audit-logs`);
  console.log(r.status, JSON.stringify(r.body).slice(0, 500));
  console.log(await fingerprint(t.db));
  r = await p.get('/openapi.json');
  console.log(Object.keys(r.body.paths).length, JSON.stringify(r.body.paths['/v1/workflows/{workflowId}/versions'].post.requestBody).slice(0, 400));
});
