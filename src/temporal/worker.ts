import { hostname } from 'node:os';
import { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import type { WorkerOptions } from '@temporalio/worker';
import type { Db } from 'mongodb';
import { createActivities } from '../../activities';
import type { Config } from '../config';
import { TriggerRepository } from '../db/triggers';
import type { ContainerRunner } from '../docker/container-runner';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { RunService } from '../services/runs';
import { TriggerDispatcher } from '../services/triggers';
import type { ObjectStore } from '../storage/object-store';
import { workerTracingOptions } from '../tracing';
import type { Tracing } from '../tracing';
import { gpuQueue } from './names';
import { ensureReconcileSchedule } from './reconcile-schedule';

/** A deployment is one database: container labels and the reaper are scoped by it. */
export function deploymentName(config: Pick<Config, 'MONGODB_DB'>): string {
  return config.MONGODB_DB;
}

export function workerIdentity(config: Pick<Config, 'WORKER_ID'>): string {
  return config.WORKER_ID ?? `${hostname()}-${process.pid}`;
}

export interface WorkerDeps {
  config: Config;
  db: Db;
  store: ObjectStore;
  runner: ContainerRunner;
  logger: Logger;
  connection: NativeConnection;
  metrics?: Metrics;
  /** A prebuilt workflow bundle (tests build it once); otherwise workflows/ is bundled at start-up. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** OpenTelemetry tracing (src/tracing.ts); its workflow interceptors are bundled in, so no prebuilt bundle is used. */
  tracing?: Tracing;
}

/**
 * One Temporal worker per configured task queue. The run workflow is served only on RUN_TASK_QUEUE;
 * every queue serves node activities, so nodes can route to pools (for example a 'gpu' queue). A worker serving
 * RUN_TASK_QUEUE also serves the reconciler and makes sure its schedule exists (workflows/reconcile.ts).
 */
export async function createWorkers(deps: WorkerDeps): Promise<Worker[]> {
  const { config } = deps;
  const workerId = workerIdentity(config);
  const runQueue = config.TASK_QUEUE_PREFIX + config.RUN_TASK_QUEUE;
  const servesRuns = config.WORKER_TASK_QUEUES.includes(config.RUN_TASK_QUEUE);
  const temporal = new Client({ connection: deps.connection, namespace: config.TEMPORAL_NAMESPACE });
  const runService = new RunService(deps.db, temporal, config);
  const dispatcher = new TriggerDispatcher(deps.db, temporal, config);
  const activities = createActivities({
    ...deps,
    workerId,
    defaultTaskQueue: config.RUN_TASK_QUEUE,
    taskQueuePrefix: config.TASK_QUEUE_PREFIX,
    deployment: deploymentName(config),
    continueAfterEvents: config.CONTINUE_AS_NEW_AFTER_EVENTS,
    workspaceContainerLimit: config.WORKSPACE_MAX_RUNNING_CONTAINERS,
    workerGpus: config.WORKER_GPUS,
    secretKey: config.EMBOFLOW_SECRET_KEY,
    storageDefaults: { endpoint: config.S3_ENDPOINT, region: config.S3_REGION },
    ...(servesRuns
      ? {
          reconcile: { temporal, runTaskQueue: runQueue, sweepEvents: () => dispatcher.sweep() },
          triggers: { runs: runService, triggers: new TriggerRepository(deps.db), events: dispatcher.events },
        }
      : {}),
    notify: { temporal, runTaskQueue: runQueue },
  });
  if (servesRuns) {
    // Without the schedule a terminated run's mirror would never converge; the worker still serves runs meanwhile.
    await ensureReconcileSchedule(temporal, config).catch((err: unknown) =>
      deps.logger.error({ err }, 'could not create or update the reconciler schedule; the next worker start retries'),
    );
  }
  const queues = [...new Set(config.WORKER_TASK_QUEUES)];
  // A worker with GPUs also takes the GPU nodes of its queues (activities only; runs stay on RUN_TASK_QUEUE).
  if (config.WORKER_GPUS > 0) queues.push(...queues.map((q) => gpuQueue(q, config.WORKER_GPUS)));
  const traced = workerTracingOptions(deps.tracing);
  const prebuilt = deps.tracing
    ? undefined
    : (deps.workflowBundle ?? (config.WORKFLOW_BUNDLE_PATH ? { codePath: config.WORKFLOW_BUNDLE_PATH } : undefined));
  if (deps.tracing && (deps.workflowBundle || config.WORKFLOW_BUNDLE_PATH)) {
    deps.logger.info(
      'tracing is on: bundling the workflows with their tracing interceptors instead of the prebuilt bundle',
    );
  }
  return Promise.all(
    queues.map((taskQueue) =>
      Worker.create({
        connection: deps.connection,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: config.TASK_QUEUE_PREFIX + taskQueue,
        identity: workerId,
        activities,
        ...(taskQueue === config.RUN_TASK_QUEUE
          ? prebuilt
            ? { workflowBundle: prebuilt }
            : { workflowsPath: require.resolve('../../workflows') }
          : {}),
        ...traced,
        maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
        shutdownGraceTime: `${config.WORKER_SHUTDOWN_GRACE_SECONDS}s`,
      }),
    ),
  );
}
