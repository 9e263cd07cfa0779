// A map node's items in the run mirror: each item is a task of its own in run_tasks (`<runId>.<node>.<itemKey>`),
// marked with mapNodeId, so the executor records it like any node (status, attempts, logs, artifacts, cache key)
// while a run's node listings, which read tasks by their graph's node ids, never see it.
import type { AnyBulkWriteOperation, Db, Filter, UpdateFilter } from 'mongodb';
import { TASK_STATUSES } from '../dag/scheduler';
import type { TaskStatus } from '../dag/scheduler';
import { unexecutedTaskFields } from '../domain/run';
import type { RunTaskDoc } from '../domain/run';
import type { MapItemTicket, MapProgress } from '../engine/contract';
import { BULK_CHUNK, EXECUTION_FIELDS, ignoreDuplicates } from './runs';

/** What an item's earlier execution left on it: cleared when it runs again. */
const ITEM_EXECUTION_FIELDS = { ...EXECUTION_FIELDS, outputManifest: '' } as const;

const UNFINISHED: TaskStatus[] = ['pending', 'queued', 'running'];

/** What an item's view and the node's index read of it (not its log tail or config). */
const ITEM_VIEW_FIELDS = Object.fromEntries(
  [
    'nodeId',
    'itemKey',
    'itemIndex',
    'itemValue',
    'status',
    'attempt',
    'generation',
    'attempts',
    'assetIds',
    'cacheHit',
    'outputArtifactIds',
    'outputManifest',
    'durationMs',
    'startedAt',
    'finishedAt',
    'errorMessage',
  ].map((f) => [f, 1]),
);

export type ItemCounts = Record<'total' | TaskStatus, number>;

/** Counts of no items: every status at 0. */
export function noItems(): ItemCounts {
  return { total: 0, ...(Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>) };
}

export class MapItemStore {
  constructor(private readonly db: Db) {}

  private get tasks() {
    return this.db.collection<RunTaskDoc>('run_tasks');
  }

  private of(runId: string, mapNodeId: string, extra: Filter<RunTaskDoc> = {}): Filter<RunTaskDoc> {
    return { workflowRunId: runId, mapNodeId, ...extra };
  }

  /**
   * Creates the items not yet there (an item that exists keeps its state: a retry of the node reuses it). Inserted,
   * not upserted: FerretDB v1 drops empty arrays from an upsert's $setOnInsert.
   */
  async ensure(items: RunTaskDoc[]): Promise<void> {
    for (let i = 0; i < items.length; i += BULK_CHUNK) {
      await this.tasks.insertMany(items.slice(i, i + BULK_CHUNK), { ordered: false }).catch(ignoreDuplicates);
    }
  }

  /**
   * Items to run again, as a new generation of each: the given keys, or every item that did not succeed. Each
   * moves once per call site's view (generation filter), so a repeated call changes nothing.
   */
  async reset(runId: string, mapNodeId: string, keys?: string[]): Promise<number> {
    const filter = keys
      ? this.of(runId, mapNodeId, { itemKey: { $in: keys } })
      : this.of(runId, mapNodeId, { status: { $in: ['failed', 'cancelled', 'skipped', 'queued', 'running'] } });
    const found = await this.tasks.find(filter, { projection: { generation: 1, status: 1 } }).toArray();
    const now = new Date();
    const ops = found.map((d): AnyBulkWriteOperation<RunTaskDoc> => ({
      updateOne: {
        filter: { _id: d._id, generation: d.generation },
        update: {
          $set: { ...unexecutedTaskFields(now), generation: d.generation + 1 },
          $unset: ITEM_EXECUTION_FIELDS,
        } as UpdateFilter<RunTaskDoc>,
      },
    }));
    for (let i = 0; i < ops.length; i += BULK_CHUNK) {
      await this.tasks.bulkWrite(ops.slice(i, i + BULK_CHUNK), { ordered: false });
    }
    return found.length;
  }

  /** The next pending items in key order: what a map node's workflow runs. */
  async tickets(
    runId: string,
    mapNodeId: string,
    afterKey: string | undefined,
    limit: number,
  ): Promise<MapItemTicket[]> {
    const docs = await this.tasks
      .find(this.of(runId, mapNodeId, { status: 'pending', ...(afterKey ? { itemKey: { $gt: afterKey } } : {}) }), {
        projection: { itemKey: 1, generation: 1, attempt: 1 },
      })
      .sort({ itemKey: 1 })
      .limit(limit)
      .toArray();
    return docs.map((d) => [d.itemKey!, d.generation, d.attempt]);
  }

  /** A page of items for the API, in key order, optionally of one status. */
  page(runId: string, mapNodeId: string, opts: { status?: TaskStatus; afterKey?: string; limit: number }) {
    return this.tasks
      .find(
        this.of(runId, mapNodeId, {
          ...(opts.status ? { status: opts.status } : {}),
          ...(opts.afterKey ? { itemKey: { $gt: opts.afterKey } } : {}),
        }),
        { projection: ITEM_VIEW_FIELDS },
      )
      .sort({ itemKey: 1 })
      .limit(opts.limit)
      .toArray();
  }

  getItem(runId: string, mapNodeId: string, itemKey: string): Promise<RunTaskDoc | null> {
    return this.tasks.findOne(this.of(runId, mapNodeId, { itemKey }));
  }

  /** Every item, in key order, a batch at a time (an index of 10,000 items is never read at once). */
  async *each(runId: string, mapNodeId: string): AsyncGenerator<RunTaskDoc> {
    const cursor = this.tasks
      .find(this.of(runId, mapNodeId), { projection: ITEM_VIEW_FIELDS })
      .sort({ itemKey: 1 })
      .batchSize(500);
    for await (const d of cursor) yield d;
  }

  async counts(runId: string, mapNodeId: string): Promise<ItemCounts> {
    const counts = noItems();
    for await (const d of this.tasks.find(this.of(runId, mapNodeId), { projection: { status: 1 } })) {
      counts.total++;
      counts[d.status]++;
    }
    return counts;
  }

  /** Items that never ran, or were running when the node ended: cancelled, with why. */
  async closeUnfinished(runId: string, mapNodeId: string, reason: string): Promise<void> {
    const now = new Date();
    await this.tasks.updateMany(this.of(runId, mapNodeId, { status: { $in: UNFINISHED } }), {
      $set: { status: 'cancelled', errorMessage: reason, finishedAt: now, updatedAt: now },
    });
  }

  /** Whether this generation of the map node has its items planned; marks it so when `mark`. */
  async planned(runId: string, taskId: string, generation: number): Promise<boolean> {
    return !!(await this.tasks.findOne({ _id: taskId, workflowRunId: runId, mapPlannedGeneration: generation }));
  }

  async markPlanned(taskId: string, generation: number): Promise<void> {
    await this.tasks.updateOne(
      { _id: taskId, generation },
      { $set: { mapPlannedGeneration: generation, updatedAt: new Date() }, $unset: { retryItems: '' } },
    );
  }

  /** The items the next retry of the map node runs (set by the API before it asks the workflow to retry). */
  async requestRetry(taskId: string, keys: string[] | undefined): Promise<void> {
    await this.tasks.updateOne({ _id: taskId }, keys ? { $set: { retryItems: keys } } : { $unset: { retryItems: '' } });
  }

  async setProgress(taskId: string, generation: number, progress: MapProgress): Promise<void> {
    const { total, succeeded, failed } = progress;
    await this.tasks.updateOne(
      { _id: taskId, generation, status: 'running' },
      { $set: { 'summary.items': { total, succeeded, failed, done: succeeded + failed }, updatedAt: new Date() } },
    );
  }
}
