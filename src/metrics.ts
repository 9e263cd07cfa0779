import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** One registry per process; the API and the worker each serve theirs on /metrics. */
export function createMetrics(component: 'api' | 'worker') {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Histogram({
      name: 'emboflow_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    runsStarted: new Counter({ name: 'emboflow_runs_started_total', help: 'Runs started through the API', registers: [registry] }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
