// S3: a large layered DAG of no-op nodes in one run. This is where Temporal's per-execution limits (history events
// and size, payload size) show: the run workflow continues as new past its event threshold, so the run spans
// several executions, measured together (bench/lib/temporal.ts). A failure is a finding, recorded verbatim, not a
// bench error. maxParallelism 50: S3 is about the DAG's size, S2 about width.
import { layeredWorkflow } from '../baseline/workflows';
import { layeredGraph } from '../lib/graphs';
import { MiB, round } from '../lib/stats';
import { row } from '../report/types';
import { withEnv } from './context';
import type { Scenario } from './context';

const MAX_PARALLELISM = 50;

export const s3Layered: Scenario = {
  id: 'S3',
  title: 'large layered DAG of no-op builtin nodes',
  run: (ctx) =>
    withEnv(ctx, async (env) => {
      const { s3Layers: layers, s3Width: width } = ctx.sizes;
      const nodes = layers * width;
      const timeoutMs = (ctx.mode === 'full' ? 15 : 2) * 60_000;
      const maxParallelism = Math.min(MAX_PARALLELISM, width);
      const graph = layeredGraph(layers, width, maxParallelism);
      const e = await env.runEmboflow(graph, timeoutMs);
      const b = await env.runBaseline(layeredWorkflow, [layers, width, maxParallelism], timeoutMs);
      // Node activities completed, from the history: the mirror may be the part that hangs, so it is not asked here.
      const succeeded = e.exec.activityCompletedAt.length;
      const completed = e.exec.status === 'COMPLETED';
      const S = 'S3';
      const writes = e.worker.mongo!.writeStatements + e.api.writeStatements;
      return {
        params: {
          layers,
          width,
          nodes,
          edges: graph.edges!.length,
          maxParallelism: graph.settings!.maxParallelism!,
          timeoutS: timeoutMs / 1000,
        },
        error: completed
          ? undefined
          : `EmboFlow run did not complete: ${e.exec.status}: ${e.exec.failure ?? 'unknown'}`,
        rows: [
          row(
            S,
            'completed (1 = yes)',
            'completed',
            'bool',
            'higher',
            completed ? 1 : 0,
            b.exec.status === 'COMPLETED' ? 1 : 0,
          ),
          row(
            S,
            'wall time (workflow start to close)',
            'makespanMs',
            'ms',
            'lower',
            e.exec.makespanMs,
            b.exec.makespanMs,
            completed ? undefined : 'EmboFlow did not complete: time to failure',
          ),
          row(
            S,
            'per-node mean (makespan / nodes)',
            'perNodeMeanMs',
            'ms',
            'lower',
            round(e.exec.makespanMs / nodes),
            round(b.exec.makespanMs / nodes),
          ),
          row(S, 'nodes succeeded', 'nodesSucceeded', 'nodes', 'higher', succeeded, b.exec.activityCompletedAt.length),
          row(
            S,
            'workflow executions (continue-as-new)',
            'executions',
            'executions',
            'lower',
            e.exec.executions,
            b.exec.executions,
          ),
          row(
            S,
            'history events per workflow execution (largest)',
            'historyEvents',
            'events',
            'lower',
            e.exec.historyLength,
            b.exec.historyLength,
          ),
          row(
            S,
            'history events, all executions',
            'historyEventsTotal',
            'events',
            'lower',
            e.exec.historyEventsTotal,
            b.exec.historyEventsTotal,
          ),
          row(
            S,
            'history size per execution (largest)',
            'historyMiB',
            'MiB',
            'lower',
            round((e.exec.historySizeBytes ?? 0) / MiB, 2),
            round((b.exec.historySizeBytes ?? 0) / MiB, 2),
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
            'MongoDB write statements per task (API + worker)',
            'writesPerTask',
            'writes',
            'lower',
            round(writes / nodes, 3),
            null,
          ),
          row(
            S,
            'MongoDB read commands per task (worker)',
            'readsPerTask',
            'commands',
            'lower',
            round(e.worker.mongo!.readCommands / nodes, 3),
            null,
          ),
        ],
        details: {
          emboflow: {
            ...e.exec,
            activityCompletedAt: undefined,
            workerMongo: e.worker.mongo,
            apiMongo: e.api,
            postMs: round(e.postMs),
            nodesSucceeded: succeeded,
          },
          baseline: { ...b.exec, activityCompletedAt: undefined },
        },
      };
    }),
};
