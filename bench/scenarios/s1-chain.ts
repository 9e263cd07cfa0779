// S1: a chain of no-op builtin nodes. What one node costs the orchestrator when it does no work.
import { chainWorkflow } from '../baseline/workflows';
import { chainGraph } from '../lib/graphs';
import { gaps, mean, MiB, percentile, round } from '../lib/stats';
import { row } from '../report/types';
import { withEnv } from './context';
import type { Scenario } from './context';

const TIMEOUT_MS = 5 * 60_000;

export const s1Chain: Scenario = {
  id: 'S1',
  title: 'chain of no-op builtin nodes',
  run: (ctx) =>
    withEnv(ctx, async (env) => {
      const n = ctx.sizes.s1Nodes;
      // Warm both sides (workflow caches, connections, code paths) so first-use costs are not billed to S1.
      await env.runEmboflow(chainGraph(3), TIMEOUT_MS);
      await env.runBaseline(chainWorkflow, [3], TIMEOUT_MS);

      const e = await env.runEmboflow(chainGraph(n), TIMEOUT_MS);
      const b = await env.runBaseline(chainWorkflow, [n], TIMEOUT_MS);
      const eGaps = gaps(e.exec.activityCompletedAt);
      const bGaps = gaps(b.exec.activityCompletedAt);
      const workerWrites = e.worker.mongo!.writeStatements;
      const apiWrites = e.api.writeStatements;
      const S = 'S1';
      return {
        params: { nodes: n },
        error: e.exec.status === 'COMPLETED' ? undefined : `EmboFlow run ${e.exec.status}: ${e.exec.failure ?? ''}`,
        rows: [
          row(
            S,
            'per-node step p50',
            'perNodeP50Ms',
            'ms',
            'lower',
            round(percentile(eGaps, 50)),
            round(percentile(bGaps, 50)),
          ),
          row(
            S,
            'per-node step p95',
            'perNodeP95Ms',
            'ms',
            'lower',
            round(percentile(eGaps, 95)),
            round(percentile(bGaps, 95)),
          ),
          row(
            S,
            'per-node mean (makespan / nodes)',
            'perNodeMeanMs',
            'ms',
            'lower',
            round(e.exec.makespanMs / n),
            round(b.exec.makespanMs / n),
          ),
          row(S, 'makespan', 'makespanMs', 'ms', 'lower', e.exec.makespanMs, b.exec.makespanMs),
          row(
            S,
            'history events per workflow',
            'historyEvents',
            'events',
            'lower',
            e.exec.historyLength,
            b.exec.historyLength,
          ),
          row(
            S,
            'worker peak RSS',
            'peakRssMiB',
            'MiB',
            'lower',
            round(e.worker.peakRssBytes / MiB, 1),
            round(b.worker.peakRssBytes / MiB, 1),
          ),
          row(
            S,
            'MongoDB write statements per task (worker: mirror)',
            'workerWritesPerTask',
            'writes',
            'lower',
            round(workerWrites / n, 3),
            null,
          ),
          row(
            S,
            'MongoDB write statements per task (API + worker)',
            'writesPerTask',
            'writes',
            'lower',
            round((workerWrites + apiWrites) / n, 3),
            null,
          ),
          row(
            S,
            'MongoDB write commands (round trips) per task',
            'writeCommandsPerTask',
            'commands',
            'lower',
            round((e.worker.mongo!.writeCommands + e.api.writeCommands) / n, 3),
            null,
          ),
          row(
            S,
            'MongoDB read commands per task (worker)',
            'readsPerTask',
            'commands',
            'lower',
            round(e.worker.mongo!.readCommands / n, 3),
            null,
          ),
        ],
        details: {
          definition:
            'per-node step = interval between consecutive ActivityTaskCompleted events of the workflow history (Temporal server clock); n nodes give n-1 steps',
          emboflow: {
            ...e.exec,
            activityCompletedAt: undefined,
            meanStepMs: round(mean(eGaps)),
            workerMongo: e.worker.mongo,
            apiMongo: e.api,
            postMs: round(e.postMs),
          },
          baseline: { ...b.exec, activityCompletedAt: undefined, meanStepMs: round(mean(bGaps)) },
        },
      };
    }),
};
