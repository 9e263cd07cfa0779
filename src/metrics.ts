import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** One registry per process; the API and the worker each serve theirs on /metrics. */
export function createMetrics(component: 'api' | 'worker') {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Histogram({
      name: 'emboflow_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: SECONDS,
      registers,
    }),
    runsStarted: new Counter({ name: 'emboflow_runs_started_total', help: 'Runs started', registers }),
    runsFinished: new Counter({
      name: 'emboflow_runs_finished_total',
      help: 'Runs finished, by final status',
      labelNames: ['status'],
      registers,
    }),
    runsReconciled: new Counter({
      name: 'emboflow_runs_reconciled_total',
      help: 'Runs the reconciler brought in line with Temporal: closed (by how the execution closed) or reopened',
      labelNames: ['action', 'status'],
      registers,
    }),
    taskDuration: new Histogram({
      name: 'emboflow_task_duration_seconds',
      help: 'Node execution time, by executor and outcome',
      labelNames: ['executor', 'outcome'],
      buckets: SECONDS,
      registers,
    }),
    scheduleToStart: new Histogram({
      name: 'emboflow_task_schedule_to_start_seconds',
      help: 'Time from a node activity being scheduled to a worker starting it, by task queue',
      labelNames: ['task_queue'],
      buckets: SECONDS,
      registers,
    }),
    containerStart: new Histogram({
      name: 'emboflow_container_start_seconds',
      help: 'Time to create, stage and start a node container',
      buckets: SECONDS,
      registers,
    }),
    mirrorWrite: new Histogram({
      name: 'emboflow_mirror_write_seconds',
      help: 'Latency of run mirror writes to MongoDB, by operation',
      labelNames: ['op'],
      buckets: SECONDS,
      registers,
    }),
    cacheLookups: new Counter({
      name: 'emboflow_cache_lookups_total',
      help: 'Node cache lookups, by result (hit or miss)',
      labelNames: ['result'],
      registers,
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
