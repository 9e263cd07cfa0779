// Images from registries end to end, on the real stack and a real registry: Debian's docker-registry on loopback
// with htpasswd basic auth (scripts/registry.sh installs it once and starts one per suite). The tools image is pushed
// under a tag of this suite's own; the tests only ever remove that tag (emboflow/tools:local stays).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import request from 'supertest';
import { TEST_SECRET_KEY } from '../integration/helpers/platform';
import { seedUser, seedWorkspace } from '../support/app';
import type { TestApp } from '../support/app';
import { engineFixture, seedWorkflow } from '../support/engine';
import type { EngineFixture } from '../support/engine';
import { sh, startRun, tasksOf, TOOLS_IMAGE, waitForRun } from '../support/runs';

const run = promisify(execFile);
const USER = 'emboflow-ci';
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;

let fixture: EngineFixture;
let t: TestApp;
let admin: string;
let scope: { workspaceId: string; projectId: string };
let dir: string;
let registry: string;
let image: string;
/** The workspace's login for the suite's registry (the first test adds it). */
let credentialId: string;
/** The manifest digest the registry gave the pushed image. */
let pushedDigest: string;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Follows a push or pull stream to its end; the engine reports failures inside it. */
function follow(stream: Readable): Promise<Array<{ error?: string; aux?: { Digest?: string } }>> {
  return new Promise((resolve, reject) =>
    fixture.engine.runner.docker.modem.followProgress(stream, (err: Error | null, out: Array<{ error?: string }>) => {
      const failed = out?.find((e) => e.error);
      if (err || failed) reject(err ?? new Error(failed!.error));
      else resolve(out);
    }),
  );
}

/** Takes this suite's tag off the engine (the image itself stays: emboflow/tools:local holds it). */
async function untag(): Promise<void> {
  await fixture.engine.runner.docker
    .getImage(image)
    .remove({ noprune: true })
    .catch((err: { statusCode?: number }) => {
      if (err.statusCode !== 404) throw err;
    });
}

const pulling = (id: string, config: Record<string, unknown> = {}, node: Record<string, unknown> = {}) =>
  sh(id, 'echo pulled > /emboflow/outputs/out.txt', { cache: { enabled: false }, ...node }, { image, ...config });

async function addCredential(key: string, workspaceId: string, body: Record<string, unknown>) {
  return request(t.app)
    .post(`/v1/workspaces/${workspaceId}/registry-credentials`)
    .set('Authorization', `Bearer ${key}`)
    .send(body);
}

beforeAll(async () => {
  fixture = await engineFixture({ EMBOFLOW_SECRET_KEY: TEST_SECRET_KEY });
  ({ t, scope } = fixture);
  admin = (await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'admin' }])).apiKey;
  dir = await mkdtemp(join(tmpdir(), 'emboflow-registry-'));
  const port = await freePort();
  registry = `127.0.0.1:${port}`;
  const repo = `${registry}/emboflow/registry-test`;
  const tag = `t${Date.now()}`;
  image = `${repo}:${tag}`;
  // Installs docker-registry on the first run (apt): bounded, like every wait here.
  await run('bash', ['scripts/registry.sh', 'start', dir, String(port), USER, PASSWORD], { timeout: 240_000 });
  const docker = fixture.engine.runner.docker;
  await docker.getImage(TOOLS_IMAGE).tag({ repo, tag });
  const pushed = await follow(
    (await docker
      .getImage(image)
      .push({ authconfig: { username: USER, password: PASSWORD, serveraddress: registry } })) as unknown as Readable,
  );
  pushedDigest = pushed.find((e) => e.aux?.Digest)!.aux!.Digest!;
  expect(pushedDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
  await untag();
}, 300_000);

afterAll(async () => {
  if (fixture && image) await untag().catch(() => undefined);
  if (dir) {
    await run('bash', ['scripts/registry.sh', 'stop', dir], { timeout: 30_000 }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
  await fixture?.close();
});

test('an admin adds a registry login: the password is stored encrypted and never answered; bad input is a 400', async () => {
  const created = await addCredential(admin, scope.workspaceId, { registry, username: USER, password: PASSWORD });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ registry, username: USER, workspaceId: scope.workspaceId });
  expect(JSON.stringify(created.body)).not.toContain(PASSWORD);
  expect(created.body.secretRef).toBeUndefined();
  credentialId = created.body.id;

  const listed = await request(t.app)
    .get(`/v1/workspaces/${scope.workspaceId}/registry-credentials`)
    .set('Authorization', `Bearer ${admin}`);
  expect(listed.status).toBe(200);
  expect(listed.body.items.map((c: { id: string }) => c.id)).toEqual([created.body.id]);
  expect(JSON.stringify(listed.body)).not.toContain(PASSWORD);
  // Nowhere in the database in plain.
  for (const name of ['registry_credentials', 'secrets', 'audit_logs'])
    expect(JSON.stringify(await t.db.collection(name).find({}).toArray())).not.toContain(PASSWORD);

  const again = await addCredential(admin, scope.workspaceId, { registry, username: 'x', password: 'y' });
  expect(again.status).toBe(409);
  const bad = await addCredential(admin, scope.workspaceId, {
    registry: 'http://bad host/',
    username: 'x',
    password: 'y',
  });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(bad.body)).toContain('registry');
  // An editor may not add one; another tenant's workspace does not exist for this admin.
  expect(
    (await addCredential(fixture.key, scope.workspaceId, { registry: 'ghcr.io', username: 'x', password: 'y' })).status,
  ).toBe(403);
  const other = await seedWorkspace(t.db, 'other');
  expect(
    (await addCredential(admin, other.workspaceId, { registry: 'ghcr.io', username: 'x', password: 'y' })).status,
  ).toBe(404);
  const foreign = (await seedUser(t.db, [{ workspaceId: other.workspaceId, role: 'admin' }])).apiKey;
  const stolen = await request(t.app)
    .delete(`/v1/registry-credentials/${created.body.id}`)
    .set('Authorization', `Bearer ${foreign}`);
  expect(stolen.status).toBe(404);
});

test('ifNotPresent pulls the absent image with the workspace login; the task records the digest it ran', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, { nodes: [pulling('pull')] });
  const started = await startRun(t.app, fixture.key, workflowId);
  expect((await waitForRun(t.app, fixture.key, started.id)).status).toBe('success');
  const { pull } = await tasksOf(t.app, fixture.key, started.id);
  const tools = await fixture.engine.runner.docker.getImage(TOOLS_IMAGE).inspect();
  expect(pull).toMatchObject({ status: 'success', imageDigest: pushedDigest, imageId: tools.Id });
  // The engine has the tag again, from the registry.
  const pulled = await fixture.engine.runner.docker.getImage(image).inspect();
  expect(pulled.RepoDigests).toContain(`${image.replace(/:[^:]*$/, '')}@${pushedDigest}`);
  // The password went nowhere near Temporal's history.
  const history = await t.temporal.workflow.getHandle(started.temporalWorkflowId).fetchHistory();
  expect(JSON.stringify(history)).not.toContain(PASSWORD);
});

test('a pull with a wrong password, or with no login at all, fails the task with a clear error and is not retried', async () => {
  await untag();
  const other = await seedWorkspace(t.db, 'wrong-password');
  const otherAdmin = (await seedUser(t.db, [{ workspaceId: other.workspaceId, role: 'admin' }])).apiKey;
  const wrong = `wrong-${randomBytes(8).toString('hex')}`;
  const cred = await addCredential(otherAdmin, other.workspaceId, { registry, username: USER, password: wrong });
  expect(cred.status).toBe(201);
  const { workflowId } = await seedWorkflow(t.db, other, {
    nodes: [pulling('pull', {}, { retry: { maxAttempts: 3, initialIntervalMs: 10 } })],
  });
  const started = await startRun(t.app, otherAdmin, workflowId);
  expect((await waitForRun(t.app, otherAdmin, started.id)).status).toBe('failed');
  const { pull } = await tasksOf(t.app, otherAdmin, started.id);
  expect(pull!.status).toBe('failed');
  expect(pull!.errorMessage).toContain(
    `pulling image ${image} from ${registry} with registry credential ${cred.body.id}`,
  );
  expect(pull!.errorMessage).toMatch(/unauthorized|authentication required/i);
  expect(pull!.errorMessage).not.toContain(wrong);
  expect(pull!.attempt).toBe(1);

  await request(t.app)
    .delete(`/v1/registry-credentials/${cred.body.id}`)
    .set('Authorization', `Bearer ${otherAdmin}`)
    .expect(204);
  const anonymous = await startRun(t.app, otherAdmin, workflowId);
  expect((await waitForRun(t.app, otherAdmin, anonymous.id)).status).toBe('failed');
  const tasks = await tasksOf(t.app, otherAdmin, anonymous.id);
  expect(tasks.pull!.errorMessage).toContain(
    `without credentials (this workspace has no registry credential for ${registry})`,
  );
  await expect(fixture.engine.runner.docker.getImage(image).inspect()).rejects.toMatchObject({ statusCode: 404 });
});

test('pullPolicy never with the image absent fails the task, naming the image and the policy', async () => {
  await untag();
  const { workflowId } = await seedWorkflow(t.db, scope, { nodes: [pulling('never', { pullPolicy: 'never' })] });
  const started = await startRun(t.app, fixture.key, workflowId);
  expect((await waitForRun(t.app, fixture.key, started.id)).status).toBe('failed');
  const { never } = await tasksOf(t.app, fixture.key, started.id);
  expect(never!.errorMessage).toContain(`image ${image} is not on the worker's Docker engine`);
  expect(never!.errorMessage).toContain('pullPolicy is never');
});

test('a malformed image reference or pull policy, or a registry credential not for the image, is a 400 at version creation naming the field', async () => {
  const def = await request(t.app)
    .post(`/v1/projects/${scope.projectId}/workflows`)
    .set('Authorization', `Bearer ${fixture.key}`)
    .send({ name: 'bad-images' });
  const version = (config: Record<string, unknown>) =>
    request(t.app)
      .post(`/v1/workflows/${def.body.id}/versions`)
      .set('Authorization', `Bearer ${fixture.key}`)
      .send({ runtimeGraph: { nodes: [sh('a', 'true', {}, config)] } });
  const bad = await version({ image: 'Registry.Example/UPPER/Case:tag!' });
  expect(bad.status).toBe(400);
  expect(bad.body.error.message).toContain(
    'runtimeGraph has 1 problem(s): nodes.0.executorConfig.image: an image reference is',
  );
  expect(bad.body.error.details).toEqual([expect.objectContaining({ path: 'nodes.0.executorConfig.image' })]);
  const policy = await version({ pullPolicy: 'sometimes' });
  expect(policy.status).toBe(400);
  expect(policy.body.error.details).toEqual([expect.objectContaining({ path: 'nodes.0.executorConfig.pullPolicy' })]);
  const unknown = await version({ image, registryCredentialId: 'rgc_missing' });
  expect(unknown.status).toBe(400);
  expect(unknown.body.error.details).toEqual([
    expect.objectContaining({
      path: 'nodes.0.executorConfig.registryCredentialId',
      message: 'registry credential rgc_missing not found in this workspace',
    }),
  ]);
  const elsewhere = await version({ image: 'ghcr.io/team/tool:1', registryCredentialId: credentialId });
  expect(elsewhere.status).toBe(400);
  expect(elsewhere.body.error.details).toEqual([
    expect.objectContaining({
      path: 'nodes.0.executorConfig.registryCredentialId',
      message: `registry credential ${credentialId} is for ${registry}, but the image is pulled from ghcr.io`,
    }),
  ]);
  expect((await version({ image, pullPolicy: 'always', registryCredentialId: credentialId })).status).toBe(201);
  expect(
    await t.db.collection('workflow_definition_versions').countDocuments({ workflowDefinitionId: def.body.id }),
  ).toBe(1);
});
