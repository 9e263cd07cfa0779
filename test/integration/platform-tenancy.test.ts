// Cross-tenant isolation: two workspaces with 50 objects of every kind. Every read and every mutation of one
// tenant's objects with the other tenant's owner key is a 404 (never a 403, which would confirm the object exists)
// and changes nothing in the database.
import type { Response } from 'supertest';
import { Builder, fingerprint, inParallel, seedTenant, simpleGraph, startPlatformApp } from './helpers/platform';
import type { Client } from './helpers/platform';
import type { PlatformApp, Tenant } from './helpers/platform';

const PER_KIND = 50;
const CONCURRENCY = 8;

interface Objects {
  projects: string[];
  workflows: string[];
  /** One version (number 1) per workflow. */
  versions: Array<{ workflowId: string; versionNumber: number }>;
  customNodes: string[];
  assets: string[];
  datasets: string[];
  datasetVersions: Array<{ datasetId: string; versionId: string }>;
  connections: string[];
  tasks: string[];
  memberships: string[];
}

let t: PlatformApp;
let seq = 0;
/** A fresh number for names that must not repeat. */
const i = () => ++seq;
const tenants: Record<'A' | 'B', { tenant: Tenant; objects: Objects }> = {} as never;

async function times<T>(n: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  await inParallel(
    Array.from({ length: n }, (_, i) => i),
    CONCURRENCY,
    async (i) => {
      out[i] = await make(i);
    },
  );
  return out;
}

/** 50 objects of every kind, created through the API by the tenant's owner. */
async function populate(tenant: Tenant): Promise<Objects> {
  const build = new Builder(tenant.as.owner, tenant);
  const projects = await times(PER_KIND, () => build.project());
  const workflows = await times(PER_KIND, () => build.workflow());
  const versions = await times(PER_KIND, async (i) => ({
    workflowId: workflows[i]!,
    versionNumber: await build.version(workflows[i]!),
  }));
  const customNodes = await times(PER_KIND, () => build.customNode());
  const assets = await times(PER_KIND, () => build.asset(t.store.bucket));
  const datasets = await times(PER_KIND, () => build.dataset());
  const datasetVersions = await times(PER_KIND, async (i) => ({
    datasetId: datasets[i]!,
    versionId: await build.datasetVersion(datasets[i]!, [assets[i]!]),
  }));
  const connections = await times(PER_KIND, () => build.storageConnection(`secret-${i()}`));
  const tasks = await times(PER_KIND, (i) => build.annotationTask(assets[i]!));
  const memberships = (await t.db.collection('memberships').find({ workspaceId: tenant.workspaceId }).toArray()).map(
    (m) => String(m._id),
  );
  return {
    projects,
    workflows,
    versions,
    customNodes,
    assets,
    datasets,
    datasetVersions,
    connections,
    tasks,
    memberships,
  };
}
beforeAll(async () => {
  t = await startPlatformApp();
  for (const name of ['A', 'B'] as const) {
    const tenant = await seedTenant(t, name.toLowerCase());
    tenants[name] = { tenant, objects: await populate(tenant) };
  }
}, 240_000);

afterAll(async () => {
  await t?.close();
});

type Attempt = (c: Client) => Promise<Response>;

const upload = (c: Client, projectId: string) =>
  c
    .call('post', `/v1/projects/${projectId}/assets/upload?displayName=x.bin`)
    .set('Content-Type', 'application/octet-stream')
    .send(Buffer.from('x'));

/** Every route that addresses an object of the kind, each with a body that would be valid in the owner's hands. */
const ATTEMPTS: Record<string, (o: Objects, ws: string) => Attempt[]> = {
  workspace: (_o, ws) => [
    (c) => c.get(`/v1/workspaces/${ws}`),
    (c) => c.patch(`/v1/workspaces/${ws}`, { name: 'taken over' }),
    (c) => c.get(`/v1/workspaces/${ws}/members`),
    (c) => c.post(`/v1/workspaces/${ws}/members`, { userId: c.userId, role: 'owner' }),
    (c) =>
      c.post(`/v1/workspaces/${ws}/users`, { email: `intruder-${i()}@test.local`, displayName: 'I', role: 'admin' }),
    (c) => c.get(`/v1/workspaces/${ws}/projects`),
    (c) => c.post(`/v1/workspaces/${ws}/projects`, { name: 'planted' }),
    (c) => c.get(`/v1/workspaces/${ws}/storage-connections`),
    (c) =>
      c.post(`/v1/workspaces/${ws}/storage-connections`, {
        type: 'object_storage',
        provider: 's3',
        name: 'x',
        config: {},
      }),
    (c) => c.post(`/v1/workspaces/${ws}/plugins`, { name: 'planted', version: '1' }),
    (c) => c.get(`/v1/workspaces/${ws}/audit-logs`),
  ],
  memberships: (o, ws) =>
    o.memberships.flatMap((id): Attempt[] => [
      (c) => c.patch(`/v1/workspaces/${ws}/members/${id}`, { role: 'viewer' }),
      (c) => c.delete(`/v1/workspaces/${ws}/members/${id}`),
    ]),
  projects: (o) =>
    o.projects.flatMap((id): Attempt[] => [
      (c) => c.get(`/v1/projects/${id}`),
      (c) => c.patch(`/v1/projects/${id}`, { name: 'taken over' }),
      (c) => c.get(`/v1/projects/${id}/workflows`),
      (c) => c.post(`/v1/projects/${id}/workflows`, { name: 'planted' }),
      (c) => c.get(`/v1/projects/${id}/custom-nodes`),
      (c) =>
        c.post(`/v1/projects/${id}/custom-nodes`, {
          name: 'planted',
          contract: { inputs: [], outputs: [] },
          source: { kind: 'image', image: 'alpine:3' },
        }),
      (c) => c.get(`/v1/projects/${id}/assets`),
      (c) => c.post(`/v1/projects/${id}/assets`, { type: 'raw_file', displayName: 'planted' }),
      (c) => upload(c, id),
      (c) => c.get(`/v1/projects/${id}/datasets`),
      (c) => c.post(`/v1/projects/${id}/datasets`, { name: `planted-${i()}` }),
      (c) => c.get(`/v1/projects/${id}/annotation-tasks`),
      (c) => c.get(`/v1/projects/${id}/runs`),
    ]),
  workflows: (o) =>
    o.workflows.flatMap((id): Attempt[] => [
      (c) => c.get(`/v1/workflows/${id}`),
      (c) => c.get(`/v1/workflows/${id}/versions`),
      (c) => c.post(`/v1/workflows/${id}/versions`, { runtimeGraph: simpleGraph() }),
      (c) => c.post(`/v1/workflows/${id}/runs`, {}),
    ]),
  versions: (o) =>
    o.versions.flatMap(({ workflowId, versionNumber }): Attempt[] => [
      (c) => c.get(`/v1/workflows/${workflowId}/versions/${versionNumber}`),
      (c) => c.post(`/v1/workflows/${workflowId}/versions/${versionNumber}/publish`),
      (c) => c.post(`/v1/workflows/${workflowId}/runs`, { versionNumber }),
    ]),
  customNodes: (o) =>
    o.customNodes.map(
      (id): Attempt =>
        (c) =>
          c.get(`/v1/custom-nodes/${id}`),
    ),
  assets: (o) =>
    o.assets.flatMap((id): Attempt[] => [
      (c) => c.get(`/v1/assets/${id}`),
      (c) => c.get(`/v1/assets/${id}/probe-reports`),
      (c) => c.post(`/v1/assets/${id}/probe-reports`, { warnings: ['planted'] }),
    ]),
  datasets: (o) =>
    o.datasets.flatMap((id): Attempt[] => [
      (c) => c.get(`/v1/datasets/${id}`),
      (c) => c.get(`/v1/datasets/${id}/versions`),
      (c) => c.post(`/v1/datasets/${id}/versions`, { versionTag: `planted-${i()}`, assetIds: [o.assets[0]!] }),
    ]),
  datasetVersions: (o) =>
    o.datasetVersions.map(
      ({ datasetId, versionId }): Attempt =>
        (c) =>
          c.get(`/v1/datasets/${datasetId}/versions/${versionId}`),
    ),
  connections: (o) =>
    o.connections.map(
      (id): Attempt =>
        (c) =>
          c.get(`/v1/storage-connections/${id}`),
    ),
  tasks: (o) =>
    o.tasks.flatMap((id): Attempt[] => [
      (c) => c.get(`/v1/annotation-tasks/${id}`),
      (c) => c.get(`/v1/annotation-tasks/${id}/annotations`),
      (c) => c.post(`/v1/annotation-tasks/${id}/annotations`, { payload: { planted: true } }),
    ]),
};

let baseline: Awaited<ReturnType<typeof fingerprint>> | undefined;

const matrix = Object.keys(ATTEMPTS).flatMap((kind) =>
  (['A', 'B'] as const).map((victim) => ({ kind, victim, attacker: victim === 'A' ? ('B' as const) : ('A' as const) })),
);

it('populated 50 objects of every kind in each workspace', () => {
  for (const { objects } of Object.values(tenants)) {
    for (const [kind, list] of Object.entries(objects)) {
      if (kind !== 'memberships') expect({ kind, count: list.length }).toEqual({ kind, count: PER_KIND });
    }
  }
});

it.each(matrix)(
  "$kind of $victim with $attacker's owner key: every attempt is a 404 and nothing changes",
  async ({ kind, victim, attacker }) => {
    const { objects, tenant } = tenants[victim];
    const intruder = tenants[attacker].tenant.as.owner;
    const attempts = ATTEMPTS[kind]!(objects, tenant.workspaceId);
    // Every batch is compared with the state right after populating: nothing may ever change it.
    baseline ??= await fingerprint(t.db);
    const before = baseline;
    const answers: Array<{ i: number; status: number }> = [];
    await inParallel(attempts, CONCURRENCY, async (attempt, n) => {
      const res = await attempt(intruder);
      answers.push({ i: n, status: res.status });
    });
    expect(answers.filter((a) => a.status !== 404)).toEqual([]);
    expect(answers).toHaveLength(attempts.length);
    const after = await fingerprint(t.db);
    expect(after.counts).toEqual(before.counts);
    expect(after.hashes).toEqual(before.hashes);
  },
);

it("lists only the caller's own workspaces and plugins", async () => {
  for (const [name, other] of [
    ['A', 'B'],
    ['B', 'A'],
  ] as const) {
    const mine = await tenants[name].tenant.as.viewer.get('/v1/workspaces');
    const ids = mine.body.items.map((w: { id: string }) => w.id);
    expect(ids).toContain(tenants[name].tenant.workspaceId);
    expect(ids).not.toContain(tenants[other].tenant.workspaceId);
  }
});

it('still serves every object to its own tenant (the 404s above were about tenancy, not the objects)', async () => {
  for (const { tenant, objects } of Object.values(tenants)) {
    const owner = tenant.as.viewer;
    const checks = [
      `/v1/projects/${objects.projects[PER_KIND - 1]}`,
      `/v1/workflows/${objects.workflows[0]}/versions/1`,
      `/v1/custom-nodes/${objects.customNodes[0]}`,
      `/v1/assets/${objects.assets[0]}`,
      `/v1/datasets/${objects.datasetVersions[0]!.datasetId}/versions/${objects.datasetVersions[0]!.versionId}`,
      `/v1/annotation-tasks/${objects.tasks[0]}`,
    ];
    for (const path of checks) expect({ path, status: (await owner.get(path)).status }).toEqual({ path, status: 200 });
    expect((await tenant.as.editor.get(`/v1/storage-connections/${objects.connections[0]}`)).status).toBe(200);
  }
});
