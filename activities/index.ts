import { existsSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import { AssetRepository, RegistryCredentialRepository, StorageConnectionRepository } from '../src/db/catalog';
import { CustomNodeRepository } from '../src/db/definitions';
import { ExecutionLogRepository, ExecutionMetricRepository } from '../src/db/execution-logs';
import { WorkspaceRepository } from '../src/db/identity';
import { ContainerSlots } from '../src/db/leases';
import { MapItemStore } from '../src/db/map-items';
import { RunStore } from '../src/db/runs';
import { WorkspaceSecretRepository } from '../src/db/workspace-secrets';
import type { ContainerRunner } from '../src/docker/container-runner';
import type {
  ActivityContract,
  MapActivityContract,
  RunControlContract,
  SubWorkflowActivityContract,
  TriggerContract,
} from '../src/engine/contract';
import type { NotifyActivities } from '../src/engine/notify';
import type { ReconcileActivities } from '../src/engine/reconcile';
import type { Logger } from '../src/logger';
import { createMetrics } from '../src/metrics';
import type { Metrics } from '../src/metrics';
import { SecretBox, SecretStore } from '../src/services/secrets';
import type { ObjectStore } from '../src/storage/object-store';
import { createBuildImageActivity } from './build-image';
import { createBuiltinActivity } from './builtin';
import { createControlActivities } from './control';
import { dockerPort } from './docker/port';
import { RegistryLogins } from './docker/pull';
import { StorageSources } from './docker/sources';
import { createDockerNodeActivity } from './docker-node';
import { createMapActivities } from './map';
import { createNotifyActivities, notifyFromActivity, runEndNotifier } from './notify';
import { createReconcileActivities } from './reconcile';
import { createSubWorkflowActivities } from './sub-workflow';
import { createTriggerActivities } from './triggers';
import type { TriggerActivityDeps } from './triggers';

export interface ActivityDeps {
  db: Db;
  store: ObjectStore;
  runner: ContainerRunner;
  logger: Logger;
  defaultTaskQueue: string;
  taskQueuePrefix: string;
  deployment: string;
  workerId: string;
  continueAfterEvents?: number;
  workspaceContainerLimit?: number;
  /** GPUs this worker's engine offers (WORKER_GPUS). */
  workerGpus?: number;
  metrics?: Metrics;
  /** Decrypts storage connection credentials (EMBOFLOW_SECRET_KEY); without it, connection assets cannot be read. */
  secretKey?: string;
  /** Endpoint and region for storage connections that name none. */
  storageDefaults?: { endpoint?: string; region: string };
  /**
   * With a Temporal client and the run task queue, the reconciler's activity is registered too (its pass also
   * dispatches catalog events no request dispatched), and with the run service the triggers' launcher activity.
   */
  reconcile?: { temporal: Client; runTaskQueue: string; sweepEvents?: () => Promise<number> };
  triggers?: TriggerActivityDeps;
  /** With a Temporal client and the run task queue, a run's recorded end starts its notifications (notify.ts). */
  notify?: { temporal: Client; runTaskQueue: string };
}

/** Every activity the worker registers, with its dependencies injected once. */
export function createActivities(
  deps: ActivityDeps,
): ActivityContract &
  MapActivityContract &
  SubWorkflowActivityContract &
  RunControlContract &
  Partial<ReconcileActivities & TriggerContract> &
  Partial<NotifyActivities> {
  const metrics = deps.metrics ?? createMetrics('worker');
  const runs = new RunStore(deps.db, (op, seconds) => metrics.mirrorWrite.observe({ op }, seconds));
  const secrets = deps.secretKey ? new SecretStore(deps.db, new SecretBox(deps.secretKey)) : undefined;
  const notifyRunEnd = deps.notify && runEndNotifier({ db: deps.db, runs, ...deps.notify });
  return {
    ...createControlActivities(
      deps.db,
      runs,
      {
        defaultTaskQueue: deps.defaultTaskQueue,
        taskQueuePrefix: deps.taskQueuePrefix,
        continueAfterEvents: deps.continueAfterEvents,
        onRunEnd: notifyRunEnd && ((runId: string) => notifyFromActivity(notifyRunEnd, runId, deps.logger)),
      },
      metrics,
    ),
    executeBuiltinNode: measured(metrics, 'builtin', createBuiltinActivity(deps.db, runs, deps.workerId)),
    executeDockerNode: measured(
      metrics,
      'docker',
      createDockerNodeActivity({
        mirror: runs,
        store: deps.store,
        workspaceSecrets: new WorkspaceSecretRepository(deps.db),
        ...(secrets ? { secretStore: secrets } : {}),
        ...(localTmpfs(deps.runner) ? { secretFilesDir: SECRET_FILES_DIR } : {}),
        containers: dockerPort(deps.runner),
        registries: new RegistryLogins(new RegistryCredentialRepository(deps.db), secrets),
        customNodes: new CustomNodeRepository(deps.db),
        assets: new AssetRepository(deps.db),
        workspaces: new WorkspaceRepository(deps.db),
        executionLogs: new ExecutionLogRepository(deps.db),
        executionMetrics: new ExecutionMetricRepository(deps.db),
        slots: new ContainerSlots(deps.db),
        sources: new StorageSources(
          deps.store,
          new StorageConnectionRepository(deps.db),
          secrets,
          deps.storageDefaults ?? { region: 'us-east-1' },
        ),
        logger: deps.logger,
        metrics,
        deployment: deps.deployment,
        workerId: deps.workerId,
        workspaceContainerLimit: deps.workspaceContainerLimit ?? 0,
        workerGpus: deps.workerGpus ?? 0,
      }),
    ),
    buildNodeImage: createBuildImageActivity({ ...deps, runs }),
    ...createMapActivities({ runs, items: new MapItemStore(deps.db), store: deps.store }),
    ...createSubWorkflowActivities(deps.db, runs),
    ...(deps.reconcile
      ? createReconcileActivities({
          ...deps.reconcile,
          runs,
          runner: deps.runner,
          logger: deps.logger,
          metrics,
          onRunEnd: notifyRunEnd,
        })
      : {}),
    ...(deps.triggers ? createTriggerActivities(deps.triggers) : {}),
    ...(deps.notify ? createNotifyActivities({ db: deps.db, runs, ...deps.notify, secrets, logger: deps.logger }) : {}),
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** Where file secrets are written: a tmpfs the Docker engine's host shares with the worker (Linux's /dev/shm). */
const SECRET_FILES_DIR = '/dev/shm/emboflow-secrets';

/** A Docker engine on this host (a unix socket) with /dev/shm: file secrets can be bind-mounted from it. */
function localTmpfs(runner: ContainerRunner): boolean {
  const socket = (runner.docker.modem as { socketPath?: unknown }).socketPath;
  return typeof socket === 'string' && existsSync('/dev/shm');
}

/** Wraps a node activity: schedule-to-start latency when it starts, duration and outcome when it ends. */
function measured<A, R>(metrics: Metrics, executor: string, fn: (input: A) => Promise<R>): (input: A) => Promise<R> {
  return async (input: A) => {
    const info = Context.current().info;
    metrics.scheduleToStart.observe(
      { task_queue: info.taskQueue },
      Math.max(0, Date.now() - info.currentAttemptScheduledTimestampMs) / 1000,
    );
    const end = metrics.taskDuration.startTimer({ executor });
    try {
      const result = await fn(input);
      end({ outcome: 'success' });
      return result;
    } catch (err) {
      end({ outcome: 'failure' });
      throw err;
    }
  };
}
