import type { Db } from 'mongodb';
import { RunStore } from '../src/db/runs';
import type { ContainerRunner } from '../src/docker/container-runner';
import type { Logger } from '../src/logger';
import type { ObjectStore } from '../src/storage/object-store';
import { createBuildImageActivity } from './build-image';
import { createBuiltinActivity } from './builtin';
import { createControlActivities } from './control';
import { createDockerNodeActivity } from './docker-node';
import type { ActivityContract } from './types';

export interface ActivityDeps {
  db: Db;
  store: ObjectStore;
  runner: ContainerRunner;
  logger: Logger;
  defaultTaskQueue: string;
  taskQueuePrefix: string;
  deployment: string;
}

/** Every activity the worker registers, with its dependencies injected once. */
export function createActivities(deps: ActivityDeps): ActivityContract {
  const runs = new RunStore(deps.db);
  return {
    ...createControlActivities(deps.db, runs, deps.defaultTaskQueue, deps.taskQueuePrefix),
    executeBuiltinNode: createBuiltinActivity(deps.db, runs),
    executeDockerNode: createDockerNodeActivity({ ...deps, runs }),
    buildNodeImage: createBuildImageActivity({ ...deps, runs }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
