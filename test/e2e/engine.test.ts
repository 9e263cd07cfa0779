// REST → Temporal → real containers → MongoDB → S3, end to end.
import request from 'supertest';
import { seedUser, seedWorkspace, startTestApp, type TestApp } from '../support/app';
import { seedWorkflow, startEngine, type Engine } from '../support/engine';
import { sh, startRun, tasksOf, waitForRun } from '../support/runs';

let t: TestApp;
let engine: Engine;
let key: string;
let scope: { workspaceId: string; projectId: string };

beforeAll(async () => {
  t = await startTestApp();
  engine = await startEngine(t);
  scope = await seedWorkspace(t.db);
  key = (await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'editor' }])).apiKey;
});

afterAll(async () => {
  await engine?.stop();
  await t?.close();
});

test('a diamond DAG passes files along every edge and the final artifact names its inputs', async () => {
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh('a', 'echo -n A > /emboflow/outputs/a.txt'),
      sh('b', 'echo -n "B($(cat /emboflow/inputs/a/a.txt))" > /emboflow/outputs/b.txt'),
      sh('c', 'echo -n "C($(cat /emboflow/inputs/a/a.txt))" > /emboflow/outputs/c.txt'),
      sh(
        'd',
        'v="D[$(cat /emboflow/inputs/b/b.txt)+$(cat /emboflow/inputs/c/c.txt)]"; echo -n "$v" > /emboflow/outputs/final.txt; echo "{\\"value\\":\\"$v\\"}" > /emboflow/outputs/result.json',
        { artifactType: 'delivery_package' },
      ),
    ],
    edges: [
      { source: 'a', target: 'b' },
      { source: 'a', target: 'c' },
      { source: 'b', target: 'd' },
      { source: 'c', target: 'd' },
    ],
  });
  const started = await startRun(t.app, key, workflowId);
  expect(started.temporalUiUrl).toContain(encodeURIComponent(started.temporalWorkflowId));
  const run = await waitForRun(t.app, key, started.id);
  expect(run.status).toBe('success');
  expect(run.summary.taskCounts.success).toBe(4);

  const arts = await request(t.app).get(`/v1/runs/${run.id}/artifacts`).set('Authorization', `Bearer ${key}`);
  const final = arts.body.items.find((a: { path: string }) => a.path === 'final.txt');
  const content = await request(t.app).get(`/v1/artifacts/${final.id}/content`).set('Authorization', `Bearer ${key}`).buffer(true);
  expect(content.text ?? content.body.toString()).toBe('D[B(A)+C(A)]');

  const byPath = Object.fromEntries(arts.body.items.map((a: { path: string; id: string }) => [a.path, a.id]));
  expect(final.lineage.inputArtifactIds.sort()).toEqual([byPath['b.txt'], byPath['c.txt']].sort());
  expect(final.storageRef.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(final.type).toBe('delivery_package');

  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.d!.lastResultPreview).toEqual({ value: 'D[B(A)+C(A)]' });
});
