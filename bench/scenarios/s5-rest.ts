// S5: many concurrent runs of a small DAG started through the REST API on a real loopback HTTP server, with
// bounded client concurrency. The baseline starts the same DAG as a raw Temporal workflow with the Temporal client.
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { RunStore } from '../../src/db/runs';
import { TERMINAL_RUN_STATUSES } from '../../src/domain/run';
import { seedWorkflow } from '../../test/support/engine';
import { diamondWorkflow } from '../baseline/workflows';
import { diamondGraph } from '../lib/graphs';
import { mapLimit, percentile, round, sleep } from '../lib/stats';
import { row } from '../report/types';
import { withEnv } from './context';
import type { Scenario } from './context';

const DRAIN_TIMEOUT_MS = 10 * 60_000;

interface Started {
  ok: boolean;
  status: number;
  sentAt: number;
  latencyMs: number;
  id?: string;
  error?: string;
}

/** Time of the first ActivityTaskStarted event of a workflow (server clock), if any. */
async function firstActivityStart(client: Client, workflowId: string): Promise<number | undefined> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const e = history.events?.find((ev) => ev.activityTaskStartedEventAttributes);
  return e ? tsToMs(e.eventTime) : undefined;
}

async function closeTimes(client: Client, workflowIds: string[]): Promise<number[]> {
  return (
    await mapLimit(workflowIds, 20, async (id) => (await client.workflow.getHandle(id).describe()).closeTime?.getTime())
  ).filter((t): t is number => t !== undefined);
}

export const s5Rest: Scenario = {
  id: 'S5',
  title: 'concurrent runs started through REST',
  run: (ctx) =>
    withEnv(ctx, async (env) => {
      const { s5Runs: runs, s5Concurrency: concurrency } = ctx.sizes;
      const { workflowId } = await seedWorkflow(env.db, env.scope, diamondGraph(), 'bench-s5');
      const server = await env.listen();
      const post = async (): Promise<Started> => {
        const sentAt = Date.now();
        const t0 = performance.now();
        try {
          const res = await fetch(`${server.url}/v1/workflows/${workflowId}/runs`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${env.apiKey}`, 'Content-Type': 'application/json' },
            body: '{}',
            signal: AbortSignal.timeout(30_000),
          });
          const body = (await res.json()) as { id?: string; error?: { message?: string } };
          const latencyMs = performance.now() - t0;
          return {
            ok: res.status === 202,
            status: res.status,
            sentAt,
            latencyMs,
            id: body.id,
            error: body.error?.message,
          };
        } catch (err) {
          return { ok: false, status: 0, sentAt, latencyMs: performance.now() - t0, error: String(err) };
        }
      };
      let started: Started[];
      try {
        // A few warm-up requests (connection set-up, first-route compilation), then the measured burst.
        await mapLimit([1, 2, 3], 3, () => post());
        await sleep(2_000);
        started = await mapLimit(
          Array.from({ length: runs }, (_, i) => i),
          concurrency,
          () => post(),
        );
      } finally {
        await server.close();
      }
      const ok = started.filter((s) => s.ok && s.id);
      const ids = ok.map((s) => s.id!);

      // Drain: wait (bounded) until every started run is terminal in the mirror.
      const deadline = Date.now() + DRAIN_TIMEOUT_MS;
      const mirror = new RunStore(env.db);
      let terminal = 0;
      while (Date.now() < deadline) {
        terminal = await mirror.countRuns(ids, TERMINAL_RUN_STATUSES);
        if (terminal === ids.length) break;
        await sleep(250);
      }
      const docs = await mirror.getRunOutcomes(ids);
      const succeeded = docs.filter((d) => d.status === 'success').length;
      const firstStart = await mirror.firstTaskStarts(ids);
      const sentAt = new Map(ok.map((s) => [s.id!, s.sentAt]));
      const ttfn = [...firstStart].map(([id, at]) => at - sentAt.get(id)!);
      const emboflowWindow =
        Math.max(...docs.map((d) => d.finishedAt?.getTime() ?? Date.now())) - Math.min(...started.map((s) => s.sentAt));

      // Baseline: the same DAG as a raw Temporal workflow, started with the Temporal client at the same concurrency.
      const nonce = randomBytes(4).toString('hex');
      const base = await mapLimit(
        Array.from({ length: runs }, (_, i) => i),
        concurrency,
        async (i) => {
          const sent = Date.now();
          const t0 = performance.now();
          const handle = await env.temporal.workflow.start(diamondWorkflow, {
            taskQueue: env.baselineQueue,
            workflowId: `bench-s5-${nonce}-${i}`,
            args: [],
          });
          return { id: handle.workflowId, sentAt: sent, latencyMs: performance.now() - t0 };
        },
      );
      await mapLimit(base, 20, (b) => env.temporal.workflow.getHandle(b.id).result());
      const baseTtfn = await mapLimit(
        base,
        20,
        async (b) => ((await firstActivityStart(env.temporal, b.id)) ?? NaN) - b.sentAt,
      );
      const baseClose = await closeTimes(
        env.temporal,
        base.map((b) => b.id),
      );
      const baseWindow = Math.max(...baseClose) - Math.min(...base.map((b) => b.sentAt));

      const S = 'S5';
      const lat = started.map((s) => s.latencyMs);
      const baseLat = base.map((b) => b.latencyMs);
      const errors = started.length - ok.length + (ids.length - succeeded);
      return {
        params: { runs, clientConcurrency: concurrency, dag: 'diamond, 10 no-op builtin nodes' },
        error: errors ? `${errors} of ${runs} runs failed to start or to succeed` : undefined,
        rows: [
          row(
            S,
            'start latency p50 (POST vs client.workflow.start)',
            'postP50Ms',
            'ms',
            'lower',
            round(percentile(lat, 50)),
            round(percentile(baseLat, 50)),
          ),
          row(
            S,
            'start latency p99 (POST vs client.workflow.start)',
            'postP99Ms',
            'ms',
            'lower',
            round(percentile(lat, 99)),
            round(percentile(baseLat, 99)),
          ),
          row(
            S,
            'time to first node start p50',
            'ttfnP50Ms',
            'ms',
            'lower',
            round(percentile(ttfn, 50)),
            round(percentile(baseTtfn, 50)),
          ),
          row(
            S,
            'time to first node start p95',
            'ttfnP95Ms',
            'ms',
            'lower',
            round(percentile(ttfn, 95)),
            round(percentile(baseTtfn, 95)),
          ),
          row(
            S,
            'runs per second (first request to last run closed)',
            'runsPerSec',
            'runs/s',
            'higher',
            round((succeeded * 1000) / emboflowWindow, 2),
            round((baseClose.length * 1000) / baseWindow, 2),
          ),
        ],
        details: {
          definition:
            'start latency = client-side request time (HTTP POST to 202; or client.workflow.start); time to first node start = earliest task startedAt (worker clock) minus the moment the request was sent; runs/s = runs succeeded / (first request sent to last run finished)',
          errors,
          httpStatuses: Object.fromEntries(
            [...new Set(started.map((s) => s.status))].map((st) => [st, started.filter((s) => s.status === st).length]),
          ),
          firstErrors: started
            .filter((s) => !s.ok)
            .slice(0, 5)
            .map((s) => s.error),
          runsStarted: ids.length,
          runsTerminal: terminal,
          runsSucceeded: succeeded,
          windowMs: { emboflow: emboflowWindow, baseline: baseWindow },
        },
      };
    }),
};
