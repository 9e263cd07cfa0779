// Sub-workflow nodes end to end, on the real stack: a workflow node runs a pinned version of another workflow as a
// child run of its own (linked both ways) whose root nodes see the node's upstream outputs and whose leaf outputs flow
// on to the parent's next node; cancelling the parent cancels the child and leaves no container; publishing refuses
// a workflow that would run itself again.
import request from 'supertest';
import { createSubWorkflowActivities } from '../../activities/sub-workflow';
import { RunStore } from '../../src/db/runs';
import { newRunDocs } from '../../src/domain/run';
import { SUB_WORKFLOW_DEPTH_MAX } from '../../src/domain/runtime-graph';
import { seedWorkspace } from '../support/app';
import type { TestApp } from '../support/app';
import { engineFixture, seedWorkflow } from '../support/engine';
import type { EngineFixture } from '../support/engine';
import { sh, startRun, tasksOf, until, waitForRun } from '../support/runs';

let fixture: EngineFixture;
let t: TestApp;
let key: string;
let scope: EngineFixture['scope'];
beforeAll(async () => ({ t, key, scope } = fixture = await engineFixture()));
afterAll(() => fixture?.close());

const sub = (id: string, workflowId: string, versionNumber = 1) => ({
  id,
  executorType: 'workflow' as const,
  executorConfig: { workflowId, versionNumber },
});

/** Starts a run whose node `nested` is a workflow node; answers once the child run's container is running. */
async function startWithRunningChild(workflowId: string) {
  const run = await startRun(t.app, key, workflowId);
  const childRunId = await until(
    'the child run',
    async () => (await tasksOf(t.app, key, run.id)).nested?.childRunId as string,
  );
  await until('the child container to run', async () =>
    (await fixture.engine.runner.listManaged({ run: childRunId })).some((c) => c.State === 'running'),
  );
  return { run, childRunId };
}

const getRun = async (runId: string) => {
  const res = await request(t.app).get(`/v1/runs/${runId}`).set('Authorization', `Bearer ${key}`);
  expect(res.status).toBe(200);
  return res.body as Record<string, any>;
};

test("a workflow node runs the child with its upstream outputs; the child's outputs flow to the next parent node", async () => {
  const child = await seedWorkflow(
    t.db,
    scope,
    {
      nodes: [
        sh(
          'shout',
          'tr a-z A-Z < /emboflow/inputs/gen/g.txt > /emboflow/outputs/out.txt; echo \'{"n": 7}\' > /emboflow/outputs/result.json',
        ),
      ],
    },
    'child',
  );
  const parent = await seedWorkflow(
    t.db,
    scope,
    {
      nodes: [
        sh('gen', 'echo hello > /emboflow/outputs/g.txt'),
        sub('nested', child.workflowId),
        sh(
          'after',
          'echo "{\\"got\\": \\"$(cat /emboflow/inputs/nested/shout/out.txt)\\"}" > /emboflow/outputs/result.json',
        ),
      ],
      edges: [
        { source: 'gen', target: 'nested' },
        { source: 'nested', target: 'after' },
      ],
    },
    'parent',
  );
  const run = await startRun(t.app, key, parent.workflowId);
  expect((await waitForRun(t.app, key, run.id)).status).toBe('success');

  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.after!.lastResultPreview).toEqual({ got: 'HELLO' });
  expect(tasks.nested).toMatchObject({ status: 'success', lastResultPreview: { shout: { n: 7 } } });
  const childRunId = tasks.nested!.childRunId as string;
  expect(childRunId).toMatch(/^run_/);

  // Linked both ways: the child names its parent and node, the parent lists its child.
  expect((await getRun(run.id)).childRunIds).toEqual([childRunId]);
  const childRun = await getRun(childRunId);
  expect(childRun).toMatchObject({
    status: 'success',
    parentRunId: run.id,
    parentNodeId: 'nested',
    depth: 1,
    triggeredBy: `run:${run.id}`,
    workflowDefinitionId: child.workflowId,
    versionNumber: 1,
  });
  expect((await tasksOf(t.app, key, childRunId)).shout!.status).toBe('success');
});

test('a child run that fails fails the workflow node with its reason; retrying the node starts a new child run', async () => {
  const child = await seedWorkflow(t.db, scope, { nodes: [sh('boom', 'exit 9')] }, 'failing-child');
  const parent = await seedWorkflow(t.db, scope, {
    nodes: [sub('nested', child.workflowId), sh('after', 'true')],
    edges: [{ source: 'nested', target: 'after' }],
  });
  const run = await startRun(t.app, key, parent.workflowId);
  expect((await waitForRun(t.app, key, run.id)).status).toBe('failed');
  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.nested!.status).toBe('failed');
  expect(tasks.nested!.errorMessage).toContain(`sub-workflow run ${tasks.nested!.childRunId} ended failed`);
  expect(tasks.nested!.errorMessage).toContain('boom');
  expect(tasks.after!.status).toBe('skipped');

  // Retrying the node starts a new child run (the node's next generation), linked like the first.
  const retry = await request(t.app)
    .post(`/v1/runs/${run.id}/tasks/nested/retry`)
    .set('Authorization', `Bearer ${key}`);
  expect(retry.status).toBe(202);
  const second = await until('a second child run', async () => {
    const id = (await tasksOf(t.app, key, run.id)).nested?.childRunId as string | undefined;
    return id && id !== tasks.nested!.childRunId && id;
  });
  expect((await waitForRun(t.app, key, run.id)).status).toBe('failed');
  expect(await getRun(second)).toMatchObject({ status: 'failed', parentRunId: run.id, parentNodeId: 'nested' });
  expect([...(await getRun(run.id)).childRunIds].sort()).toEqual([tasks.nested!.childRunId, second].sort());
});

test('a child run cancelled on its own fails the workflow node; the parent is not cancelled', async () => {
  const child = await seedWorkflow(t.db, scope, { nodes: [sh('long', 'sleep 120')] }, 'cancelled-child');
  const parent = await seedWorkflow(t.db, scope, {
    nodes: [sub('nested', child.workflowId), sh('other', 'true')],
  });
  const { run, childRunId } = await startWithRunningChild(parent.workflowId);
  const res = await request(t.app).post(`/v1/runs/${childRunId}/cancel`).set('Authorization', `Bearer ${key}`);
  expect(res.status).toBe(202);
  expect((await waitForRun(t.app, key, run.id)).status).toBe('failed');
  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.nested).toMatchObject({
    status: 'failed',
    errorMessage: `sub-workflow run ${childRunId} ended cancelled`,
  });
  expect(tasks.other!.status).toBe('success');
  expect((await getRun(childRunId)).status).toBe('cancelled');
});

test("cancelling the parent while the child's container runs cancels both runs and leaves no container", async () => {
  const child = await seedWorkflow(
    t.db,
    scope,
    { nodes: [sh('long', 'sleep 120'), sh('next', 'true')], edges: [{ source: 'long', target: 'next' }] },
    'slow-child',
  );
  const parent = await seedWorkflow(t.db, scope, {
    nodes: [sub('nested', child.workflowId), sh('after', 'true')],
    edges: [{ source: 'nested', target: 'after' }],
  });
  // Not vacuous: the child's container is seen running first.
  const { run, childRunId } = await startWithRunningChild(parent.workflowId);
  const res = await request(t.app).post(`/v1/runs/${run.id}/cancel`).set('Authorization', `Bearer ${key}`);
  expect(res.status).toBe(202);

  expect((await waitForRun(t.app, key, run.id)).status).toBe('cancelled');
  expect((await waitForRun(t.app, key, childRunId)).status).toBe('cancelled');
  const tasks = await tasksOf(t.app, key, run.id);
  expect(tasks.nested!.status).toBe('cancelled');
  expect(tasks.after!.status).toBe('cancelled');
  const childTasks = await tasksOf(t.app, key, childRunId);
  expect(childTasks.long!.status).toBe('cancelled');
  expect(childTasks.next!.status).toBe('cancelled');
  // The child's workflow waited for its container to stop before it ended; none is left.
  expect(await fixture.engine.runner.listManaged({ run: childRunId })).toEqual([]);
});

test('past the depth limit, the deepest workflow node fails at run time and every level above fails', async () => {
  // Seeded, not published (publishing refuses it): limit+1 workflows each run the next, the last one a builtin node;
  // the run at depth <limit> has a workflow node that would start a run one level too deep.
  let inner = await seedWorkflow(t.db, scope, {
    nodes: [{ id: 'leaf', executorType: 'builtin', executorConfig: { op: 'noop' } }],
  });
  for (let level = 0; level <= SUB_WORKFLOW_DEPTH_MAX; level++)
    inner = await seedWorkflow(t.db, scope, { nodes: [sub('down', inner.workflowId)] });
  const run = await startRun(t.app, key, inner.workflowId);
  expect((await waitForRun(t.app, key, run.id)).status).toBe('failed');
  // Follow the chain of child runs down to the one whose node could not start a child.
  let runId = run.id;
  for (let depth = 1; depth <= SUB_WORKFLOW_DEPTH_MAX; depth++) {
    runId = (await tasksOf(t.app, key, runId)).down!.childRunId as string;
    expect(await getRun(runId)).toMatchObject({ status: 'failed', depth });
  }
  const deepest = (await tasksOf(t.app, key, runId)).down!;
  expect(deepest.childRunId).toBeUndefined();
  expect(deepest.errorMessage).toBe(`sub-workflows nest more than ${SUB_WORKFLOW_DEPTH_MAX} levels deep here`);
  const top = (await tasksOf(t.app, key, run.id)).down!;
  expect(top.errorMessage).toBe(`sub-workflow run ${top.childRunId} ended failed: failed nodes: down`);
});

test('creating the child run twice for the same node generation (a retried activity) makes one run', async () => {
  const child = await seedWorkflow(t.db, scope, { nodes: [sh('x', 'true')] });
  const parent = await seedWorkflow(t.db, scope, { nodes: [sub('nested', child.workflowId)] });
  const version = await t.db.collection('workflow_definition_versions').findOne({ _id: parent.versionId as never });
  const runId = `run_idem${Date.now()}`;
  const { run, tasks } = newRunDocs(
    {
      _id: runId,
      ...scope,
      workflowDefinitionId: parent.workflowId,
      temporalWorkflowId: `not-started-${runId}`,
      inputBindings: [],
      assetIds: [],
      datasetIds: [],
      params: {},
      triggeredBy: 'test',
    },
    { _id: parent.versionId, versionNumber: 1, runtimeGraph: version!.runtimeGraph },
    new Date(),
  );
  const runs = new RunStore(t.db);
  await runs.insertRun(run, tasks);
  const activities = createSubWorkflowActivities(t.db, runs);
  const input = { runId, nodeId: 'nested', generation: 0, attemptBase: 0, maxAttempts: 1, assetIds: [], upstream: [] };
  const first = await activities.startChildRun(input, 1_800_000_000_000);
  const again = await activities.startChildRun(input, 1_800_000_000_000);
  expect(again.childRunId).toBe(first.childRunId);
  expect(await t.db.collection('workflow_runs').countDocuments({ parentRunId: runId })).toBe(1);
  expect((await runs.getRun(runId))!.childRunIds).toEqual([first.childRunId]);
  // The node's next generation is another child run.
  const next = await activities.startChildRun({ ...input, generation: 1 }, 1_800_000_000_000);
  expect(next.childRunId).not.toBe(first.childRunId);
});

describe('references are checked', () => {
  const api = () => ({
    post: (path: string, body: unknown = {}) =>
      request(t.app)
        .post(path)
        .set('Authorization', `Bearer ${key}`)
        .send(body as object),
  });
  const createWorkflow = async (name: string) => {
    const res = await api().post(`/v1/projects/${scope.projectId}/workflows`, { name });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const createVersion = (workflowId: string, nodes: unknown[]) =>
    api().post(`/v1/workflows/${workflowId}/versions`, { runtimeGraph: { nodes } });

  test('publishing a workflow whose sub-workflow runs it again is a 400 naming the field', async () => {
    const a = await createWorkflow('cycle-a');
    const b = await createWorkflow('cycle-b');
    expect((await createVersion(a, [sh('x', 'true')])).status).toBe(201);
    // b v1 runs a v1; publishing it is fine.
    expect((await createVersion(b, [sub('run-a', a)])).status).toBe(201);
    expect((await api().post(`/v1/workflows/${b}/versions/1/publish`)).status).toBe(200);
    // a v2 runs b v1, which runs a: the version can be created, never published.
    expect((await createVersion(a, [sh('first', 'true'), sub('run-b', b)])).status).toBe(201);
    const res = await api().post(`/v1/workflows/${a}/versions/2/publish`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_graph');
    expect(res.body.error.details).toEqual([
      expect.objectContaining({ nodeId: 'run-b', path: 'nodes.1.executorConfig.workflowId' }),
    ]);
    expect(res.body.error.message).toContain('cycles are refused');
    // Nothing was published.
    const def = await request(t.app).get(`/v1/workflows/${a}`).set('Authorization', `Bearer ${key}`);
    expect(def.body.publishedVersionNumber ?? null).toBeNull();
  });

  test("a missing version, or another tenant's workflow, is a 400 naming the field; nothing is created", async () => {
    const target = await createWorkflow('target');
    expect((await createVersion(target, [sh('x', 'true')])).status).toBe(201);
    const host = await createWorkflow('host');
    const missingVersion = await createVersion(host, [sub('s', target, 9)]);
    expect(missingVersion.status).toBe(400);
    expect(missingVersion.body.error.details).toEqual([
      expect.objectContaining({ path: 'nodes.0.executorConfig.versionNumber' }),
    ]);
    const elsewhere = await seedWorkflow(t.db, await seedWorkspace(t.db), { nodes: [sh('x', 'true')] });
    const foreign = await createVersion(host, [sub('s', elsewhere.workflowId)]);
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.details).toEqual([
      expect.objectContaining({
        path: 'nodes.0.executorConfig.workflowId',
        message: `workflow ${elsewhere.workflowId} not found in this project`,
      }),
    ]);
    const unpinned = await createVersion(host, [
      { id: 's', executorType: 'workflow', executorConfig: { workflowId: target } },
    ]);
    expect(unpinned.status).toBe(400);
    expect(JSON.stringify(unpinned.body)).toContain('nodes.0.executorConfig.versionNumber');
    const versions = await request(t.app).get(`/v1/workflows/${host}/versions`).set('Authorization', `Bearer ${key}`);
    expect(versions.body.items).toEqual([]);
  });
});
