// Records the histories of representative runs on the real stack into test/replay/histories/.
// Run after a deliberate workflow change that is patched (see workflows/run.ts): `npm run record-histories -- <suffix>`.
// The committed histories must keep replaying: test/replay/replay.test.ts checks that in CI.
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { RuntimeGraphInput } from '../../src/domain/runtime-graph';
import { seedUser, seedWorkspace, startTestApp } from '../support/app';
import { seedWorkflow, startEngine } from '../support/engine';
import { sh, startRun, waitForRun } from '../support/runs';

const OUT = join(__dirname, 'histories');
/**
 * `npm run record-histories -- v2` writes `<scenario>.v2.json` beside the earlier recordings, which stay: they are
 * what proves that executions started before a patched change still replay.
 */
const SUFFIX = process.argv[2] ? `.${process.argv[2].replace(/[^\w-]/g, '')}` : '';
/** Scenarios to record (the rest of the arguments); none: all of them. */
const ONLY = new Set(process.argv.slice(3));
const wanted = (name: string) => !ONLY.size || ONLY.has(name);
const TEMPORAL = join(process.env.EMBOFLOW_CACHE_DIR ?? join(homedir(), '.cache', 'emboflow'), 'bin', 'temporal');

async function main(): Promise<void> {
  const t = await startTestApp();
  const engine = await startEngine(t);
  const scope = await seedWorkspace(t.db);
  const { apiKey } = await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'editor' }]);
  const stamp = Date.now();
  mkdirSync(OUT, { recursive: true });

  const record = async (name: string, runId: string, child?: string) => {
    const run = await waitForRun(t.app, apiKey, runId);
    const workflowId = child ? `${run.temporalWorkflowId}.${child}` : run.temporalWorkflowId;
    // The CLI writes the standard JSON history format that historyFromJSON reads.
    const json = execFileSync(
      TEMPORAL,
      ['workflow', 'show', '--workflow-id', workflowId, '--address', t.config.TEMPORAL_ADDRESS, '--output', 'json'],
      { encoding: 'utf8' },
    );
    writeFileSync(join(OUT, `${name}${SUFFIX}.json`), json);
    console.log(`${name}: ${run.status}, ${(JSON.parse(json) as { events: unknown[] }).events.length} events`);
  };
  const run = async (graph: RuntimeGraphInput) =>
    (await startRun(t.app, apiKey, (await seedWorkflow(t.db, scope, graph)).workflowId)).id;

  try {
    if (wanted('map')) {
      // A map node: the run's history, and its child workflow's (one item fails, tolerated; one page of items).
      const mapped = await run({
        nodes: [
          sh('gen', `echo '{"items": [1, 2, 3, 4]}' > /emboflow/outputs/result.json`),
          sh('each', `grep -q '"value": 3' /emboflow/context.json && exit 5; echo ${stamp} > /emboflow/outputs/x.txt`, {
            map: { over: 'inputs.gen.items', maxParallel: 2, maxFailures: 1 },
          }),
          sh('after', 'ls /emboflow/inputs/each'),
        ],
        edges: [
          { source: 'gen', target: 'each' },
          { source: 'each', target: 'after' },
        ],
      });
      await record('map', mapped);
      await record('map-items', mapped, 'map.each.g0');
    }
    if (wanted('sub-workflow')) {
      // A workflow node: the parent's history (its child workflow started and awaited) and the child run's, whose
      // root node reads the parent's upstream outputs.
      const child = await seedWorkflow(t.db, scope, {
        nodes: [sh('shout', 'tr a-z A-Z < /emboflow/inputs/gen/g.txt > /emboflow/outputs/out.txt')],
      });
      const parent = await run({
        nodes: [
          sh('gen', `echo ${stamp} > /emboflow/outputs/g.txt`),
          {
            id: 'nested',
            executorType: 'workflow',
            executorConfig: { workflowId: child.workflowId, versionNumber: 1 },
          },
          sh('after', 'cat /emboflow/inputs/nested/shout/out.txt'),
        ],
        edges: [
          { source: 'gen', target: 'nested' },
          { source: 'nested', target: 'after' },
        ],
      });
      await record('sub-workflow', parent);
      const tasks = await request(t.app).get(`/v1/runs/${parent}/tasks`).set('Authorization', `Bearer ${apiKey}`);
      const nested = (tasks.body.items as Array<{ nodeId: string; childRunId?: string }>).find(
        (x) => x.nodeId === 'nested',
      );
      await record('sub-workflow-child', nested!.childRunId!);
    }
    // The first scenarios are recorded together, as `linear`.
    if (!wanted('linear')) return;
    await record(
      'linear',
      await run({
        nodes: [
          sh('a', `echo ${stamp} > /emboflow/outputs/a.txt`),
          { id: 'b', executorType: 'builtin', executorConfig: { op: 'noop' } },
          sh('c', 'cat /emboflow/inputs/b/* 2>/dev/null; true'),
        ],
        edges: [
          { source: 'a', target: 'b' },
          { source: 'b', target: 'c' },
        ],
      }),
    );
    await record(
      'fan-out',
      await run({
        nodes: [
          { id: 'root', executorType: 'builtin', executorConfig: { op: 'noop' } },
          ...['w1', 'w2', 'w3', 'w4'].map((id) => sh(id, `echo ${id}-${stamp} > /emboflow/outputs/${id}.txt`)),
          { id: 'join', executorType: 'builtin', executorConfig: { op: 'union' } },
        ],
        edges: [
          ...['w1', 'w2', 'w3', 'w4'].flatMap((id) => [
            { source: 'root', target: id },
            { source: id, target: 'join' },
          ]),
        ],
        settings: { maxParallelism: 2, failFast: false },
      }),
    );
    await record(
      'failure-then-retry',
      await run({
        nodes: [
          sh('flaky', 'exit 3', { retry: { maxAttempts: 2, initialIntervalMs: 100, backoffCoefficient: 1 } }),
          sh('after', 'true'),
        ],
        edges: [{ source: 'flaky', target: 'after' }],
      }),
    );
    const cancelled = await run({
      nodes: [sh('long', 'sleep 60'), sh('next', 'true')],
      edges: [{ source: 'long', target: 'next' }],
    });
    await new Promise((r) => setTimeout(r, 2500));
    await request(t.app).post(`/v1/runs/${cancelled}/cancel`).set('Authorization', `Bearer ${apiKey}`);
    await record('cancel', cancelled);
    const retried = await run({
      nodes: [
        sh('x', `grep -q '"attempt": 1,' /emboflow/context.json && exit 4; echo ok-${stamp} > /emboflow/outputs/x.txt`),
        sh('y', 'true'),
      ],
      edges: [{ source: 'x', target: 'y' }],
    });
    await waitForRun(t.app, apiKey, retried);
    const res = await request(t.app).post(`/v1/runs/${retried}/tasks/x/retry`).set('Authorization', `Bearer ${apiKey}`);
    if (res.status !== 202) throw new Error(`retry-task: ${res.status} ${JSON.stringify(res.body)}`);
    await record('retry-task', retried);
  } finally {
    await engine.stop();
    await t.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
