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
import type { ContainerRunner } from '../src/docker/container-runner';
import type {
  ActivityContract,
  MapActivityContract,
  RunControlContract,
  TriggerContract,
  SubWorkflowActivityContract,
} from '../src/engine/contract';
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
}

/** Every activity the worker registers, with its dependencies injected once. */
export function createActivities(
  deps: ActivityDeps,
): ActivityContract &
  MapActivityContract &
  SubWorkflowActivityContract &
  RunControlContract &
  Partial<ReconcileActivities & TriggerContract> {
  const metrics = deps.metrics ?? createMetrics('worker');
  const secrets = deps.secretKey ? new SecretStore(deps.db, new SecretBox(deps.secretKey)) : undefined;
  const runs = new RunStore(deps.db, (op, seconds) => metrics.mirrorWrite.observe({ op }, seconds));
  return {
    ...createControlActivities(
      deps.db,
      runs,
      {
        defaultTaskQueue: deps.defaultTaskQueue,
        taskQueuePrefix: deps.taskQueuePrefix,
        continueAfterEvents: deps.continueAfterEvents,
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
      }),
    ),
    buildNodeImage: createBuildImageActivity({ ...deps, runs }),
    ...createMapActivities({ runs, items: new MapItemStore(deps.db), store: deps.store }),
    ...createSubWorkflowActivities(deps.db, runs),
    ...(deps.reconcile
      ? createReconcileActivities({ ...deps.reconcile, runs, runner: deps.runner, logger: deps.logger, metrics })
      : {}),
    ...(deps.triggers ? createTriggerActivities(deps.triggers) : {}),
  };
}

export type Activities = ReturnType<typeof createActivities>;

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
