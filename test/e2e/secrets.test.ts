// Workspace secrets end to end on the real stack: admins manage them, editors' nodes use them as env vars and as
// files on a tmpfs; a container that prints its secret shows *** in the live lines, the tail, the full log and the
// failure message; a dump of every MongoDB collection and the run's Temporal history hold no plaintext; a rotation
// reaches the next run; a node naming a secret that does not exist is a 400 at version creation.
import request from 'supertest';
import { runWorkflowId } from '../../src/temporal/names';
import { TEST_SECRET_KEY } from '../integration/helpers/platform';
import { seedUser } from '../support/app';
import type { TestApp } from '../support/app';
import { engineFixture } from '../support/engine';
import type { EngineFixture } from '../support/engine';
import { sh, tasksOf, until, waitForRun } from '../support/runs';

let fixture: EngineFixture;
let t: TestApp;
let editor: string;
let admin: string;
let scope: { workspaceId: string; projectId: string };

const SECRET_FILES = '/dev/shm/emboflow-secrets';
const VALUE = 'hf_Sup3rS3cretT0ken_8c1e';
const ROTATED = 'hf_R0tatedT0ken_55aa';

beforeAll(async () => {
  fixture = await engineFixture({ EMBOFLOW_SECRET_KEY: TEST_SECRET_KEY });
  ({ t, key: editor, scope } = fixture);
  admin = (await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'admin' }])).apiKey;
}, 120_000);

afterAll(async () => {
  await fixture?.close();
});

const as = (key: string) => ({
  get: (path: string) => request(t.app).get(path).set('Authorization', `Bearer ${key}`),
  post: (path: string, body: object) => request(t.app).post(path).set('Authorization', `Bearer ${key}`).send(body),
  put: (path: string, body: object) => request(t.app).put(path).set('Authorization', `Bearer ${key}`).send(body),
});

/** Renders Temporal's payload bytes as text, so a search through the history sees what they hold. */
function historyText(history: unknown): string {
  return JSON.stringify(history, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v));
}

async function mongoDump(): Promise<string> {
  const out: string[] = [];
  for (const c of await t.db.listCollections().toArray()) {
    out.push(JSON.stringify(await t.db.collection(c.name).find().toArray()));
  }
  return out.join('\n');
}

test('admins manage secrets, editors only see their names; a node naming a missing secret is a 400', async () => {
  const base = `/v1/workspaces/${scope.workspaceId}/secrets`;
  expect((await as(editor).post(base, { name: 'HF_TOKEN', value: VALUE })).status).toBe(403);
  const created = await as(admin).post(base, { name: 'HF_TOKEN', value: VALUE });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ name: 'HF_TOKEN', version: 1 });
  expect(JSON.stringify(created.body)).not.toContain(VALUE);
  expect((await as(admin).post(base, { name: 'HF_TOKEN', value: VALUE })).status).toBe(409);
  expect((await as(admin).post(base, { name: 'SHORT', value: 'abc' })).status).toBe(400);
  const listed = await as(editor).get(base);
  expect(listed.body.items.map((s: { name: string }) => s.name)).toEqual(['HF_TOKEN']);

  const wf = await as(editor).post(`/v1/projects/${scope.projectId}/workflows`, { name: 'needs-a-secret' });
  const bad = await as(editor).post(`/v1/workflows/${wf.body.id}/versions`, {
    runtimeGraph: { nodes: [sh('a', 'true', {}, { secrets: [{ name: 'NOPE', env: 'NOPE' }] })] },
  });
  expect(bad.status).toBe(400);
  expect(bad.body.error.details).toEqual([
    expect.objectContaining({
      path: 'nodes.0.executorConfig.secrets.0.name',
      message: 'the workspace has no secret NOPE',
    }),
  ]);
});

test('a container printing its secret shows *** everywhere; MongoDB and the Temporal history hold no plaintext', async () => {
  const secrets = [{ name: 'HF_TOKEN', env: 'HF_TOKEN', file: 'token' }];
  const wf = await as(editor).post(`/v1/projects/${scope.projectId}/workflows`, { name: 'uses-a-secret' });
  const version = await as(editor).post(`/v1/workflows/${wf.body.id}/versions`, {
    runtimeGraph: {
      nodes: [
        sh(
          'leaky',
          'echo "token is $HF_TOKEN"; echo "file has $(cat /emboflow/secrets/token)" >&2; ' +
            'same=false; [ "$(cat /emboflow/secrets/token)" = "$HF_TOKEN" ] && same=true; ' +
            'echo "{\\"same\\": $same, \\"echo\\": \\"$HF_TOKEN\\"}" > /emboflow/outputs/result.json; sleep 2',
          { cache: { enabled: false } },
          { secrets },
        ),
        sh('fails', 'echo "refused with $HF_TOKEN" >&2; exit 3', { cache: { enabled: false } }, { secrets }),
      ],
      edges: [],
    },
  });
  expect(version.status).toBe(201);
  await as(editor).post(`/v1/workflows/${wf.body.id}/versions/1/publish`, {});
  const run = await as(editor).post(`/v1/workflows/${wf.body.id}/runs`, {});
  expect(run.status).toBe(202);
  // While leaky runs, its secret file sits on the host tmpfs, in a folder of its container's own.
  const { readdirSync, existsSync } = await import('node:fs');
  const secretDirs = () =>
    existsSync(SECRET_FILES) ? readdirSync(SECRET_FILES).filter((d) => d.includes(run.body.id)) : [];
  const during = await until('the secret folder of the running node', async () => {
    const dirs = secretDirs().filter((d) => existsSync(`${SECRET_FILES}/${d}/token`));
    return dirs.length > 0 && dirs;
  });
  expect(during.some((d) => d.includes('leaky'))).toBe(true);
  expect((await waitForRun(t.app, editor, run.body.id)).status).toBe('failed');

  const tasks = await tasksOf(t.app, editor, run.body.id);
  // The file and the env var held the same value, which the container saw in plain.
  expect(tasks.leaky!.lastResultPreview).toEqual({ same: true, echo: '***' });
  expect(tasks.leaky!.logLines).toEqual(expect.arrayContaining(['token is ***', 'file has ***']));
  expect(tasks.fails!.errorMessage).toContain('refused with ***');

  const live = await t.db.collection('execution_logs').find({ runId: run.body.id }).toArray();
  expect(live.map((l) => l.line)).toEqual(expect.arrayContaining(['token is ***', 'file has ***', 'refused with ***']));
  const full = await as(editor).get(`/v1/runs/${run.body.id}/tasks/leaky/logs?full=true`);
  expect(full.status).toBe(200);
  expect(full.text).toContain('token is ***');
  expect(full.text).not.toContain(VALUE);

  const dump = await mongoDump();
  expect(dump).toContain('token is ***');
  expect(dump).toContain('HF_TOKEN');
  expect(dump).not.toContain(VALUE);
  const history = historyText(await t.temporal.workflow.getHandle(runWorkflowId(run.body.id)).fetchHistory());
  expect(history).toContain(run.body.id);
  expect(history).not.toContain(VALUE);
  // The secret files are gone from the host with the containers.
  expect(secretDirs()).toEqual([]);

  // A rotation reaches the next run.
  const rotated = await as(admin).put(`/v1/workspaces/${scope.workspaceId}/secrets/HF_TOKEN`, { value: ROTATED });
  expect(rotated.body.version).toBe(2);
  const next = await as(editor).post(`/v1/workflows/${wf.body.id}/runs`, {});
  await waitForRun(t.app, editor, next.body.id);
  const after = await tasksOf(t.app, editor, next.body.id);
  expect(after.leaky!.lastResultPreview).toEqual({ same: true, echo: '***' });
  expect(JSON.stringify(after)).not.toContain(ROTATED);
  await until('the audit records', async () => {
    const audit = await t.db.collection('audit_logs').find({ resourceType: 'workspace_secret' }).toArray();
    return audit.length >= 2 && audit;
  });
  expect(await mongoDump()).not.toContain(ROTATED);
}, 180_000);
