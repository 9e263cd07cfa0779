// S2: one root, a wide fan-out of no-op nodes, one sink (fan-in). Throughput of the scheduler and of Temporal.
import { fanOutInGraph } from '../lib/graphs';
import { MiB, round } from '../lib/stats';
import { row } from '../report/types';
import { withEnv, type Scenario } from './context';

const TIMEOUT_MS = 10 * 60_000;

export const s2FanOut: Scenario = {
  id: 'S2',
  title: 'fan-out + fan-in of no-op builtin nodes',
  run: (ctx) =>
    withEnv(ctx, async (env) => {
      const width = ctx.sizes.s2Width;
      const tasks = width + 2;
      const graph = fanOutInGraph(width);
      const e = await env.runEmboflow(graph, TIMEOUT_MS);
      const b = await env.runBaseline('fanOutInWorkflow', [width, graph.settings!.maxParallelism], TIMEOUT_MS);
      const S = 'S2';
      const writes = e.worker.mongo!.writeStatements + e.api.writeStatements;
      return {
        params: { width, tasks, maxParallelism: graph.settings!.maxParallelism! },
        error: e.exec.status === 'COMPLETED' ? undefined : `EmboFlow run ${e.exec.status}: ${e.exec.failure ?? ''}`,
        rows: [
          row(S, 'makespan', 'makespanMs', 'ms', 'lower', e.exec.makespanMs, b.exec.makespanMs),
          row(S, 'tasks per second', 'tasksPerSec', 'tasks/s', 'higher', round((tasks * 1000) / e.exec.makespanMs, 1), round((tasks * 1000) / b.exec.makespanMs, 1)),
          row(S, 'per-node mean (makespan / nodes)', 'perNodeMeanMs', 'ms', 'lower', round(e.exec.makespanMs / tasks), round(b.exec.makespanMs / tasks)),
          row(S, 'history events per workflow', 'historyEvents', 'events', 'lower', e.exec.historyLength, b.exec.historyLength),
          row(S, 'worker peak RSS', 'peakRssMiB', 'MiB', 'lower', round(e.worker.peakRssBytes / MiB, 1), round(b.worker.peakRssBytes / MiB, 1)),
          row(S, 'MongoDB write statements per task (API + worker)', 'writesPerTask', 'writes', 'lower', round(writes / tasks, 3), null),
        ],
        details: {
          emboflow: { ...e.exec, activityCompletedAt: undefined, workerMongo: e.worker.mongo, apiMongo: e.api, postMs: round(e.postMs) },
          baseline: { ...b.exec, activityCompletedAt: undefined },
        },
      };
    }),
};
