import type { Db } from 'mongodb';
import { isTerminal } from '../dag/scheduler';
import { RunStore } from '../db/runs';
import { TERMINAL_RUN_STATUSES } from '../domain/run';
import type { ObjectStore } from '../storage/object-store';
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

/** An output upload older than this is abandoned whatever its task says (an attempt may stage and upload for hours). */
export const OUTPUT_UPLOAD_MAX_AGE_MS = 24 * 3600_000;

/**
 * Aborts node-output multipart uploads that no live attempt can still complete: their key names the run, node (or map
 * item) and generation (`runs/<runId>/<nodeId>/g<generation>/…`), and the run is finished, or the task finished or
 * was retried into a newer generation; or it is older than OUTPUT_UPLOAD_MAX_AGE_MS. An upload cut short while object storage was down could not be
 * aborted by its attempt, and its parts would otherwise stay forever.
 */
export async function reapOutputUploads(
  store: Pick<ObjectStore, 'listMultipartUploads' | 'abortMultipartUpload'>,
  db: Db,
  now = Date.now(),
  graceMs = REAPER_GRACE_MS,
  prefix = 'runs/',
): Promise<string[]> {
  const mirror = new RunStore(db);
  const aborted: string[] = [];
  for await (const u of store.listMultipartUploads(prefix)) {
    const age = now - (u.initiated?.getTime() ?? now);
    if (age < graceMs) continue;
    const [, runId, nodeId, g] = u.key.split('/');
    const generation = Number(g?.slice(1));
    const run = runId ? await mirror.getRunStatus(runId) : null;
    const task = runId && nodeId ? await mirror.getTaskState(runId, nodeId) : null;
    // A run this deployment does not know may be another's sharing the bucket: only its age lets it go.
    const abandoned =
      age > OUTPUT_UPLOAD_MAX_AGE_MS ||
      (!!run &&
        !!task &&
        (TERMINAL_RUN_STATUSES.includes(run.status) || !(task.generation <= generation) || isTerminal(task.status)));
    if (!abandoned) continue;
    await store.abortMultipartUpload(u.key, u.uploadId);
    aborted.push(u.key);
  }
  return aborted;
}
