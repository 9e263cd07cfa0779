// S2: one root, a wide fan-out of no-op nodes, one sink (fan-in). Throughput of the scheduler and of Temporal.
// Run as specified (maxParallelism = width, up to 1000) and with maxParallelism 50: the run workflow queues a
// whole scheduler step in one mirror write, and FerretDB v1 (SQLite) never answers an update command carrying 100
// or more statements, so the as-specified run stalls there (see the report). Smoke runs only the bounded variant.
import { fanOutInWorkflow } from '../baseline/workflows';
import type { BenchEnv } from '../lib/env';
import { fanOutInGraph } from '../lib/graphs';
import { MiB, round } from '../lib/stats';
import { row } from '../report/types';
import type { Row } from '../report/types';
import { withEnv } from './context';
import type { Scenario } from './context';

const TIMEOUT_MS = 10 * 60_000;
const BOUNDED_PARALLELISM = 50;

async function variant(env: BenchEnv, width: number, maxParallelism: number, keyPrefix: string, label: string) {
  const tasks = width + 2;
  const e = await env.runEmboflow(fanOutInGraph(width, maxParallelism), TIMEOUT_MS);
  const b = await env.runBaseline(fanOutInWorkflow, [width, maxParallelism], TIMEOUT_MS);
  const done = e.exec.status === 'COMPLETED';
  // Node activities completed, from the history: the mirror may be the part that hangs, so it is not asked here.
  const succeeded = e.exec.activityCompletedAt.length;
  const S = 'S2';
  const m = (metric: string) => `${metric}${label}`;
  const k = (key: string) => `${keyPrefix}${key}`;
  const writes = e.worker.mongo!.writeStatements + e.api.writeStatements;
  const rows: Row[] = [
    row(
      S,
      m('completed (1 = yes)'),
      k('completed'),
      'bool',
      'higher',
      done ? 1 : 0,
      b.exec.status === 'COMPLETED' ? 1 : 0,
    ),
    row(
      S,
      m('makespan'),
      k('makespanMs'),
      'ms',
      'lower',
      done ? e.exec.makespanMs : null,
      b.exec.makespanMs,
      done ? undefined : `stalled after ${Math.round(e.exec.makespanMs / 1000)} s`,
    ),
    row(
      S,
      m('tasks per second'),
      k('tasksPerSec'),
      'tasks/s',
      'higher',
      done ? round((tasks * 1000) / e.exec.makespanMs, 1) : null,
      round((tasks * 1000) / b.exec.makespanMs, 1),
    ),
    row(
      S,
      m('per-node mean (makespan / nodes)'),
      k('perNodeMeanMs'),
      'ms',
      'lower',
      done ? round(e.exec.makespanMs / tasks) : null,
      round(b.exec.makespanMs / tasks),
    ),
    row(S, m('nodes succeeded'), k('nodesSucceeded'), 'nodes', 'higher', succeeded, b.exec.activityCompletedAt.length),
    row(
      S,
      m('history events per workflow'),
      k('historyEvents'),
      'events',
      'lower',
      e.exec.historyLength,
      b.exec.historyLength,
    ),
    row(
      S,
      m('worker peak RSS'),
      k('peakRssMiB'),
      'MiB',
      'lower',
      round(e.worker.peakRssBytes / MiB, 1),
      round(b.worker.peakRssBytes / MiB, 1),
    ),
    row(
      S,
      m('MongoDB write statements per task (API + worker)'),
      k('writesPerTask'),
      'writes',
      'lower',
      round(writes / tasks, 3),
      null,
    ),
  ];
  return {
    rows,
    error: done
      ? undefined
      : `maxParallelism ${maxParallelism}: EmboFlow run ${e.exec.status}: ${e.exec.failure ?? ''}`,
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
}

export const s2FanOut: Scenario = {
  id: 'S2',
  title: 'fan-out + fan-in of no-op builtin nodes',
  async run(ctx) {
    const width = ctx.sizes.s2Width;
    const full = Math.min(1000, width);
    const runs = [];
    // Each variant in a world of its own: a mirror write FerretDB never answers keeps its database locked.
    if (ctx.mode === 'full')
      runs.push({ mp: full, ...(await withEnv(ctx, (env) => variant(env, width, full, '', ''))) });
    runs.push({
      mp: BOUNDED_PARALLELISM,
      ...(await withEnv(ctx, (env) =>
        variant(
          env,
          width,
          BOUNDED_PARALLELISM,
          `mp${BOUNDED_PARALLELISM}.`,
          ` [maxParallelism ${BOUNDED_PARALLELISM}]`,
        ),
      )),
    });
    const errors = runs.flatMap((r) => (r.error ? [r.error] : []));
    return {
      params: { width, tasks: width + 2, maxParallelism: runs.map((r) => r.mp).join(' and ') },
      error: errors.length ? errors.join('; ') : undefined,
      rows: runs.flatMap((r) => r.rows),
      details: Object.fromEntries(runs.map((r) => [`maxParallelism${r.mp}`, r.details])),
    };
  },
};
