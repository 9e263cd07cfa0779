// Typed params and templates end to end on the real stack: a version declares its params and templates its command
// and env; a run without params renders the defaults, a run with an override renders it; the rendered command is on
// the task; a param of the wrong type, an unknown one or a missing required one is a 400 naming it; a template
// naming an unknown param is a 400 at version creation, with the field and position.
import request from 'supertest';
import type { TestApp } from '../support/app';
import { engineFixture } from '../support/engine';
import type { EngineFixture } from '../support/engine';
import { sh, tasksOf, waitForRun } from '../support/runs';

let fixture: EngineFixture;
let t: TestApp;
let key: string;
let scope: { workspaceId: string; projectId: string };

beforeAll(async () => {
  fixture = await engineFixture();
  ({ t, key, scope } = fixture);
}, 120_000);

afterAll(async () => {
  await fixture?.close();
});

const post = (path: string, body: object) => request(t.app).post(path).set('Authorization', `Bearer ${key}`).send(body);
const get = (path: string) => request(t.app).get(path).set('Authorization', `Bearer ${key}`);

const PARAMS = {
  threshold: { type: 'number', default: 0.5, description: 'the QA cut-off' },
  mode: { type: 'enum', values: ['fast', 'full'], default: 'fast' },
  episodes: { type: 'integer', required: true },
};

/** probe writes a result; qa's command and env are templated from params, probe's result and the run. */
function graph(qaCommand: string) {
  return {
    params: PARAMS,
    nodes: [
      sh('probe', 'echo \'{"count": 7, "files": ["a.h5", "b.h5"]}\' > /emboflow/outputs/result.json', {
        cache: { enabled: false },
      }),
      sh('qa', qaCommand, { cache: { enabled: false } }, { env: { QA_MODE: '{{params.mode}}' } }),
    ],
    edges: [{ source: 'probe', target: 'qa' }],
  };
}

const QA =
  'line="t={{params.threshold}} n={{inputs.probe.count}} f={{inputs.probe.files.1}} e={{params.episodes}} run={{run.id}} mode=$QA_MODE"; ' +
  'echo "{\\"line\\": \\"$line\\"}" > /emboflow/outputs/result.json';

let workflowId: string;

test('a template naming an unknown param, or a node that is not upstream, is a 400 at version creation with its position', async () => {
  const wf = await post(`/v1/projects/${scope.projectId}/workflows`, { name: 'templated' });
  expect(wf.status).toBe(201);
  workflowId = wf.body.id;
  const bad = await post(`/v1/workflows/${workflowId}/versions`, {
    runtimeGraph: graph('echo {{params.threshhold}} {{inputs.qa.x}}'),
  });
  expect(bad.status).toBe(400);
  expect(bad.body.error.code).toBe('invalid_graph');
  expect(bad.body.error.details).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        path: 'nodes.1.executorConfig.command.2',
        message: 'at character 5: params.threshhold is not a declared param',
      }),
      expect.objectContaining({
        path: 'nodes.1.executorConfig.command.2',
        message: expect.stringContaining('at character 27: inputs.qa'),
      }),
    ]),
  );
  const badDefault = await post(`/v1/workflows/${workflowId}/versions`, {
    runtimeGraph: { ...graph(QA), params: { ...PARAMS, threshold: { type: 'number', default: 'high' } } },
  });
  expect(badDefault.status).toBe(400);
  expect(JSON.stringify(badDefault.body)).toContain('params.threshold.default');

  const good = await post(`/v1/workflows/${workflowId}/versions`, { runtimeGraph: graph(QA) });
  expect(good.status).toBe(201);
  expect((await post(`/v1/workflows/${workflowId}/versions/${good.body.versionNumber}/publish`, {})).status).toBe(200);
  const schema = await get(`/v1/workflows/${workflowId}/versions/${good.body.versionNumber}/params-schema`);
  expect(schema.body).toMatchObject({
    type: 'object',
    required: ['episodes'],
    additionalProperties: false,
    properties: { threshold: { type: 'number', default: 0.5 }, mode: { enum: ['fast', 'full'] } },
  });
});

test('a run renders the defaults; another renders its overrides; the rendered command is on the task', async () => {
  const first = await post(`/v1/workflows/${workflowId}/runs`, { params: { episodes: 3 } });
  expect(first.status).toBe(202);
  expect(first.body.params).toEqual({ episodes: 3, threshold: 0.5, mode: 'fast' });
  expect((await waitForRun(t.app, key, first.body.id)).status).toBe('success');
  const qa = (await tasksOf(t.app, key, first.body.id)).qa!;
  const expected = `t=0.5 n=7 f=b.h5 e=3 run=${first.body.id} mode=fast`;
  expect(qa.lastResultPreview).toEqual({ line: expected });
  expect(qa.renderedCommand[2]).toContain(`line="t=0.5 n=7 f=b.h5 e=3 run=${first.body.id} mode=$QA_MODE"`);

  const second = await post(`/v1/workflows/${workflowId}/runs`, {
    params: { episodes: 12, threshold: 0.9, mode: 'full' },
  });
  expect(second.status).toBe(202);
  expect((await waitForRun(t.app, key, second.body.id)).status).toBe('success');
  expect((await tasksOf(t.app, key, second.body.id)).qa!.lastResultPreview).toEqual({
    line: `t=0.9 n=7 f=b.h5 e=12 run=${second.body.id} mode=full`,
  });
}, 120_000);

test('a param of the wrong type, an unknown one, or a missing required one is a 400 naming it, and starts nothing', async () => {
  const before = await t.db.collection('workflow_runs').countDocuments();
  for (const [params, field] of [
    [{ episodes: 3, threshold: 'high' }, 'params.threshold'],
    [{ episodes: 2.5 }, 'params.episodes'],
    [{ episodes: 3, mode: 'slow' }, 'params.mode'],
    [{ episodes: 3, typo: 1 }, 'params.typo'],
    [{}, 'params.episodes'],
  ] as const) {
    const res = await post(`/v1/workflows/${workflowId}/runs`, { params });
    expect({ field, status: res.status }).toEqual({ field, status: 400 });
    expect(res.body.error.details.field).toBe(field);
  }
  expect(await t.db.collection('workflow_runs').countDocuments()).toBe(before);
});
