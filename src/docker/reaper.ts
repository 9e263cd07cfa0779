import type { Db } from 'mongodb';
import { isTerminal } from '../dag/scheduler';
import { RunStore } from '../db/runs';
import { TERMINAL_RUN_STATUSES } from '../domain/run';
import { LABEL_PREFIX } from './container-runner';
import type { ContainerRunner } from './container-runner';

/** Containers younger than this are left alone: their activity may not have recorded them yet. */
export const REAPER_GRACE_MS = 30_000;

/**
 * Removes this deployment's node containers that no live attempt can still own: the run is finished, the task
 * finished or moved to a newer generation (a task retry), or the run or task is gone. A container of a task that
 * is still pending, queued or running is kept: a retried activity re-attaches to it.
 */
export async function reapContainers(
  runner: ContainerRunner,
  db: Db,
  deployment: string,
  now = Date.now(),
  graceMs = REAPER_GRACE_MS,
): Promise<string[]> {
  const mirror = new RunStore(db);
  const removed: string[] = [];
  for (const c of await runner.listManaged({ deployment })) {
    if (now - c.Created * 1000 < graceMs) continue;
    const runId = c.Labels[`${LABEL_PREFIX}run`];
    const nodeId = c.Labels[`${LABEL_PREFIX}node`];
    const generation = Number(c.Labels[`${LABEL_PREFIX}generation`]);
    const run = runId ? await mirror.getRunStatus(runId) : null;
    const task = runId && nodeId ? await mirror.getTaskState(runId, nodeId) : null;
    const orphaned =
      !run ||
      !task ||
      TERMINAL_RUN_STATUSES.includes(run.status) ||
      task.generation > generation ||
      isTerminal(task.status);
    if (!orphaned) continue;
    await runner.remove(runner.docker.getContainer(c.Id));
    removed.push(c.Id);
  }
  return removed;
}
