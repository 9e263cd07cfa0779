// S6: the mirror write path on its own. RunStore.applyTransitions driven directly with the transitions a run
// makes (queued in scheduler-step batches, then running and success per task, several tasks in flight), against a
// naive floor: one unguarded updateOne by _id per transition.
import type { Db } from 'mongodb';
import { RunStore } from '../../src/db/runs';
import { pendingTask, runTaskId } from '../../src/domain/run';
import type { RunTaskDoc, WorkflowRunDoc } from '../../src/domain/run';
import { newId } from '../../src/ids';
import type { CommandCounter } from '../lib/mongo-monitor';
import { mapLimit, round } from '../lib/stats';
import { row } from '../report/types';
import { withEnv } from './context';
import type { Scenario } from './context';

/** Tasks queued per scheduler step (one bulkWrite) and in flight at once: the default worker activity concurrency. */
const BATCH = 16;

function fixtures(
  n: number,
  scope: { workspaceId: string; projectId: string },
): { run: WorkflowRunDoc; tasks: RunTaskDoc[] } {
  const runId = newId('run');
  const now = new Date();
  const nodes = Array.from({ length: n }, (_, i) => ({
    id: `n${i}`,
    executorType: 'builtin' as const,
    executorConfig: { op: 'noop' as const },
  }));
  const run: WorkflowRunDoc = {
    _id: runId,
    ...scope,
    workflowDefinitionId: 'wfl_bench',
    workflowVersionId: 'wfv_bench',
    versionNumber: 1,
    temporalWorkflowId: `bench-${runId}`,
    inputBindings: [],
    assetIds: [],
    datasetIds: [],
    params: {},
    triggeredBy: 'bench',
    status: 'running',
    runtimeSnapshot: { nodes, edges: [], settings: { maxParallelism: BATCH, failFast: false } },
    summary: {
      taskCounts: { pending: n, queued: 0, running: 0, success: 0, failed: 0, cancelled: 0, skipped: 0 },
      completedTaskCount: 0,
      artifactCount: 0,
      stdoutLines: 0,
      stderrLines: 0,
      failedTaskIds: [],
    },
    createdAt: now,
    updatedAt: now,
  };
  const tasks: RunTaskDoc[] = nodes.map((node) => pendingTask(run, node, [], now));
  return { run, tasks };
}

const batches = <T>(xs: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, (i + 1) * size));

/** Runs `drive` over a fresh run of n tasks; returns elapsed time and the commands it sent. */
async function measure(
  db: Db,
  counter: CommandCounter,
  n: number,
  scope: { workspaceId: string; projectId: string },
  drive: (runId: string, nodeIds: string[]) => Promise<void>,
) {
  const store = new RunStore(db);
  const { run, tasks } = fixtures(n, scope);
  counter.take(true);
  await store.insertRun(run, tasks);
  const created = counter.take(true);
  const t0 = performance.now();
  await drive(
    run._id,
    tasks.map((t) => t.nodeId),
  );
  const elapsedMs = performance.now() - t0;
  const counts = counter.take(true);
  const done = await store.tasks.countDocuments({ workflowRunId: run._id, status: 'success' });
  return { elapsedMs, counts, created, done };
}

export const s6Mirror: Scenario = {
  id: 'S6',
  title: 'mirror write path (RunStore.applyTransitions)',
  run: (ctx) =>
    withEnv(ctx, async (env) => {
      const n = ctx.sizes.s6Tasks;
      const store = new RunStore(env.db);
      const transitions = 3 * n;

      const e = await measure(env.db, env.apiCounter, n, env.scope, async (runId, ids) => {
        for (const step of batches(ids, BATCH)) {
          await store.applyTransitions(
            runId,
            step.map((nodeId) => ({ nodeId, generation: 0, status: 'queued' as const })),
          );
          await mapLimit(step, BATCH, async (nodeId) => {
            const startedAt = new Date();
            await store.applyTransitions(runId, [
              {
                nodeId,
                generation: 0,
                status: 'running',
                attempt: 1,
                attemptRecord: { attempt: 1, status: 'running', startedAt },
                set: { startedAt },
              },
            ]);
            const finishedAt = new Date();
            await store.applyTransitions(runId, [
              {
                nodeId,
                generation: 0,
                status: 'success',
                set: {
                  finishedAt,
                  durationMs: finishedAt.getTime() - startedAt.getTime(),
                  summary: { executor: 'bench' },
                },
              },
            ]);
          });
        }
      });
      const b = await measure(env.db, env.apiCounter, n, env.scope, async (runId, ids) => {
        const set = (nodeId: string, status: string) =>
          store.tasks.updateOne(
            { _id: runTaskId(runId, nodeId) },
            { $set: { status: status as never, updatedAt: new Date() } },
          );
        for (const step of batches(ids, BATCH)) {
          await mapLimit(step, BATCH, (nodeId) => set(nodeId, 'queued'));
          await mapLimit(step, BATCH, async (nodeId) => {
            await set(nodeId, 'running');
            await set(nodeId, 'success');
          });
        }
      });
      const S = 'S6';
      return {
        params: { tasks: n, transitionsPerTask: 3, batch: BATCH },
        error: e.done === n ? undefined : `only ${e.done} of ${n} tasks reached success in the mirror`,
        rows: [
          row(
            S,
            'transitions per second',
            'transitionsPerSec',
            'transitions/s',
            'higher',
            round((transitions * 1000) / e.elapsedMs, 1),
            round((transitions * 1000) / b.elapsedMs, 1),
          ),
          row(
            S,
            'time per task (3 transitions)',
            'perTaskMs',
            'ms',
            'lower',
            round(e.elapsedMs / n, 3),
            round(b.elapsedMs / n, 3),
          ),
          row(
            S,
            'write statements per task (transitions)',
            'writesPerTask',
            'writes',
            'lower',
            round(e.counts.writeStatements / n, 3),
            round(b.counts.writeStatements / n, 3),
          ),
          row(
            S,
            'write commands per task (round trips)',
            'writeCommandsPerTask',
            'commands',
            'lower',
            round(e.counts.writeCommands / n, 3),
            round(b.counts.writeCommands / n, 3),
          ),
          row(
            S,
            'write statements per task incl. creation',
            'writesPerTaskInclCreate',
            'writes',
            'lower',
            round((e.counts.writeStatements + e.created.writeStatements) / n, 3),
            round((b.counts.writeStatements + b.created.writeStatements) / n, 3),
          ),
        ],
        details: {
          definition: `queued in batches of ${BATCH} (one bulkWrite), then running and success per task with ${BATCH} tasks in flight; baseline: one unguarded updateOne by _id per transition, same concurrency`,
          emboflow: { elapsedMs: round(e.elapsedMs), counts: e.counts, creation: e.created, tasksSucceeded: e.done },
          baseline: { elapsedMs: round(b.elapsedMs), counts: b.counts, creation: b.created, tasksSucceeded: b.done },
        },
      };
    }),
};
