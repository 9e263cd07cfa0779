import type { Client, Connection } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { Metrics } from '../../src/metrics';
import type { ObjectStore } from '../../src/storage/object-store';
import { ANSWERED } from '../registry';
import type { ApiRegistry } from '../registry';

const PROBE_TIMEOUT_MS = 3000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref()),
  ]);
}

export function registerHealthRoutes(
  api: ApiRegistry,
  deps: { db: Db; temporal: Client; store: ObjectStore; metrics: Metrics },
) {
  api.route(
    { method: 'get', path: '/healthz', tag: 'health', summary: 'The process is alive', public: true },
    async () => ({ status: 'ok' }),
  );

  api.route(
    {
      method: 'get',
      path: '/readyz',
      tag: 'health',
      summary: 'MongoDB, Temporal and object storage answer',
      public: true,
    },
    async (_req, _parsed, res) => {
      const checks: Record<string, () => Promise<unknown>> = {
        mongodb: () => deps.db.command({ ping: 1 }),
        temporal: () => (deps.temporal.connection as Connection).healthService.check({}),
        s3: () => deps.store.ping(),
      };
      const results = await Promise.all(
        Object.entries(checks).map(async ([name, check]) => {
          try {
            await withTimeout(check(), PROBE_TIMEOUT_MS);
            return [name, { ok: true }] as const;
          } catch (err) {
            return [name, { ok: false, error: (err as Error).message }] as const;
          }
        }),
      );
      const notReady = results.filter(([, r]) => !r.ok).map(([n]) => n);
      res.status(notReady.length ? 503 : 200).json({
        status: notReady.length ? 'not_ready' : 'ready',
        ...(notReady.length ? { notReady } : {}),
        checks: Object.fromEntries(results),
      });
      return ANSWERED;
    },
  );

  api.route(
    { method: 'get', path: '/metrics', tag: 'health', summary: 'Prometheus metrics', public: true },
    async (_req, _p, res) => {
      res.setHeader('Content-Type', deps.metrics.registry.contentType);
      res.send(await deps.metrics.registry.metrics());
      return ANSWERED;
    },
  );
}
