// Map nodes' activities: plan the items (once per node generation), hand them out a page at a time, report progress,
// and end the node — the index of items and every succeeded item's outputs, under <itemKey>/, become its outputs.
import { Readable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/activity';
import { batchKey, itemTaskNodeId, listAt, listItemKey, parseMapOver } from '../src/dag/map';
import { noItems } from '../src/db/map-items';
import type { MapItemStore } from '../src/db/map-items';
import type { RunStore } from '../src/db/runs';
import { runTaskId } from '../src/domain/run';
import type { ArtifactDoc, ArtifactRef, RunTaskDoc } from '../src/domain/run';
import { MAP_ITEMS_MAX } from '../src/domain/runtime-graph';
import type { MapActivityContract, MapNodeInput, MapPlan, NodeResult } from '../src/engine/contract';
import { ARTIFACT_REFS_IN_HISTORY_MAX } from '../src/engine/contract';
import type { ObjectStore } from '../src/storage/object-store';
import { artifactId, toRef } from './docker/outputs';
import { manifestRefs } from './docker/staging';
import { runNotFound } from './errors';
import { readUpstreamResult, UpstreamResultError } from './upstream-result';

/** The most of an upstream result.json a list map reads. */
const LIST_RESULT_MAX_BYTES = 64 * 1024 * 1024;
/** The index every downstream node finds beside the items' directories. */
export const MAP_INDEX_PATH = 'items.json';

export interface MapDeps {
  runs: RunStore;
  items: MapItemStore;
  store: Pick<ObjectStore, 'getStream' | 'getVerified' | 'putStream'>;
}

function mapItemsError(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'MapItemsError');
}

interface PlannedItem {
  key: string;
  index: number;
  assetIds: string[];
  value?: unknown;
}

/** The items of a map node: its assets or the elements of an upstream list, batched when batchSize > 1. */
async function resolveItems(deps: MapDeps, args: MapNodeInput): Promise<PlannedItem[]> {
  const { map, input } = args;
  const source = parseMapOver(map.over);
  let units: Array<{ assetId?: string; value?: unknown }>;
  if (source.kind === 'assets') {
    units = input.assetIds.map((assetId) => ({ assetId }));
  } else {
    const result = args.upstreamResult ?? (await upstreamList(deps, args, source.nodeId));
    const found = listAt(result, source.path);
    if ('error' in found) throw mapItemsError(`map.over "${map.over}": the result of ${source.nodeId} ${found.error}`);
    units = found.list.map((value) => ({ value }));
  }
  if (units.length > MAP_ITEMS_MAX)
    throw mapItemsError(`map.over "${map.over}" has ${units.length} items: at most ${MAP_ITEMS_MAX}`);
  if (map.batchSize === 1) {
    return units.map((u, index) => ({
      key: u.assetId ?? listItemKey(index),
      index,
      // A list element's container sees its value, not the run's assets.
      assetIds: u.assetId ? [u.assetId] : [],
      ...(u.value !== undefined ? { value: u.value } : {}),
    }));
  }
  const batches: PlannedItem[] = [];
  for (let i = 0; i < units.length; i += map.batchSize) {
    const slice = units.slice(i, i + map.batchSize);
    batches.push({
      key: batchKey(batches.length),
      index: batches.length,
      assetIds: source.kind === 'assets' ? slice.map((u) => u.assetId!) : [],
      ...(source.kind === 'list' ? { value: slice.map((u) => u.value) } : {}),
    });
  }
  return batches;
}

/** An upstream result.json too large for workflow history, read from object storage. */
async function upstreamList(deps: MapDeps, args: MapNodeInput, nodeId: string): Promise<unknown> {
  try {
    return await readUpstreamResult(deps.store, args.input.upstream, nodeId, LIST_RESULT_MAX_BYTES);
  } catch (err) {
    if (err instanceof UpstreamResultError) throw mapItemsError(`map.over "${args.map.over}": ${err.message}`);
    throw err;
  }
}

function itemTask(mapTask: RunTaskDoc, item: PlannedItem, now: Date): RunTaskDoc {
  const nodeId = itemTaskNodeId(mapTask.nodeId, item.key);
  return {
    ...mapTask,
    _id: runTaskId(mapTask.workflowRunId, nodeId),
    nodeId,
    status: 'pending',
    attempt: 0,
    generation: 0,
    attempts: {},
    assetIds: item.assetIds,
    outputArtifactIds: [],
    cacheHit: false,
    logLines: [],
    stdoutLines: 0,
    stderrLines: 0,
    summary: {},
    mapNodeId: mapTask.nodeId,
    itemKey: item.key,
    itemIndex: item.index,
    ...(item.value !== undefined ? { itemValue: item.value } : {}),
    createdAt: now,
    updatedAt: now,
  };
}

export function createMapActivities(deps: MapDeps): MapActivityContract {
  const { runs, items } = deps;
  return {
    async planMapItems(args: MapNodeInput): Promise<MapPlan> {
      const { runId, nodeId, generation } = args.input;
      const taskId = runTaskId(runId, nodeId);
      const mapTask = await runs.getTask(runId, nodeId);
      if (!mapTask) throw runNotFound(runId);
      if (!(await items.planned(runId, taskId, generation))) {
        const now = new Date();
        const planned = await resolveItems(deps, args);
        const {
          _id: _omitId,
          mapPlannedGeneration: _omitPlanned,
          retryItems,
          outputManifest: _omitManifest,
          errorMessage: _omitError,
          ...base
        } = mapTask;
        await items.ensure(planned.map((p) => itemTask(base as RunTaskDoc, p, now)));
        // A retry of the node runs again the items it names, or every one that did not succeed.
        await items.reset(runId, nodeId, retryItems);
        await runs.applyTransitions(runId, [
          {
            nodeId,
            generation,
            status: 'running',
            set: { startedAt: now, assetIds: args.input.assetIds, summary: { executor: 'docker', map: args.map.over } },
          },
        ]);
        await items.markPlanned(taskId, generation);
      }
      const counts = await items.counts(runId, nodeId);
      return {
        total: counts.total,
        succeeded: counts.success,
        failed: counts.failed + counts.cancelled + counts.skipped,
      };
    },

    mapItemsPage: (runId, nodeId, afterKey, limit) => items.tickets(runId, nodeId, afterKey, limit),

    reportMapProgress: (runId, nodeId, generation, progress) =>
      items.setProgress(runTaskId(runId, nodeId), generation, progress),

    async finishMapNode(runId, nodeId, generation, end): Promise<NodeResult> {
      const mapTask = await runs.getTask(runId, nodeId);
      if (!mapTask) throw runNotFound(runId);
      await items.closeUnfinished(
        runId,
        nodeId,
        end.status === 'cancelled' ? 'the run was cancelled' : `not run: ${end.errorMessage ?? 'the map node ended'}`,
      );
      const run = await runs.getRunSnapshot(runId);
      const collected = await collect(deps, mapTask, generation, run?.triggeredBy ?? 'emboflow');
      const { counts } = collected;
      const itemSummary = {
        total: counts.total,
        succeeded: counts.success,
        failed: counts.failed,
        cancelled: counts.cancelled,
        done: counts.success + counts.failed,
      };
      const finishedAt = new Date();
      const startedAt = mapTask.startedAt ?? finishedAt;
      await runs.upsertArtifacts([collected.index]);
      await runs.applyTransitions(runId, [
        {
          nodeId,
          generation,
          status: end.status,
          set: {
            finishedAt,
            durationMs: finishedAt.getTime() - startedAt.getTime(),
            outputArtifactIds: collected.manifest
              ? [collected.index._id]
              : [collected.index._id, ...collected.refs.map((r) => r.id)],
            ...(collected.manifest ? { outputManifest: collected.manifest } : {}),
            assetIds: collected.assetIds,
            lastResultPreview: { items: itemSummary },
            ...(end.errorMessage ? { errorMessage: end.errorMessage } : {}),
            summary: { executor: 'docker', map: mapTask.summary?.map, outcome: end.status, items: itemSummary },
          },
        },
      ]);
      const indexRef = toRef(collected.index);
      return {
        artifacts: collected.manifest ? [] : [indexRef, ...collected.refs],
        ...(collected.manifest ? { manifest: collected.manifest } : {}),
        assetIds: collected.assetIds,
        cacheHit: false,
        result: { items: itemSummary },
      };
    },
  };
}

/**
 * The node's outputs: items.json (every item with its status) and each succeeded item's outputs with their paths
 * under the item's key. Past ARTIFACT_REFS_IN_HISTORY_MAX refs, they go to a manifest instead of history.
 */
async function collect(deps: MapDeps, mapTask: RunTaskDoc, generation: number, createdBy: string) {
  const { runId, nodeId } = { runId: mapTask.workflowRunId, nodeId: mapTask.nodeId };
  const counts = noItems();
  const refs: ArtifactRef[] = [];
  const assetIds = new Set<string>();
  const prefix = `runs/${runId}/${nodeId}/g${generation}`;
  // items.json is written as the items are read; the refs of succeeded items are kept for the manifest.
  const line = (item: RunTaskDoc, artifactCount: number) => ({
    key: item.itemKey,
    index: item.itemIndex,
    status: item.status,
    assetIds: item.assetIds,
    ...(item.itemValue !== undefined ? { value: item.itemValue } : {}),
    attempt: item.attempt,
    artifacts: artifactCount,
    dir: item.status === 'success' ? item.itemKey : null,
    cacheHit: item.cacheHit,
    ...(item.durationMs !== undefined ? { durationMs: item.durationMs } : {}),
    ...(item.errorMessage ? { error: item.errorMessage } : {}),
  });
  // items.json is written as the items are read, a batch at a time (one artifact lookup per batch); the refs of
  // succeeded items are kept for the manifest.
  const entries = async function* () {
    yield Buffer.from(`{"nodeId":${JSON.stringify(nodeId)},"items":[\n`);
    let first = true;
    for await (const batch of inBatches(deps.items.each(runId, nodeId), COLLECT_BATCH)) {
      const outputs = await outputsOf(
        deps,
        batch.filter((i) => i.status === 'success'),
      );
      const lines: string[] = [];
      for (const item of batch) {
        counts.total++;
        counts[item.status]++;
        const produced = outputs.get(item._id) ?? [];
        if (item.status === 'success') for (const a of item.assetIds) assetIds.add(a);
        for (const ref of produced) refs.push({ ...ref, path: `${item.itemKey}/${ref.path}` });
        lines.push(JSON.stringify(line(item, produced.length)));
      }
      yield Buffer.from(`${first ? '' : ',\n'}${lines.join(',\n')}`);
      first = false;
    }
    yield Buffer.from('\n]}\n');
  };
  const indexKey = `${prefix}/${MAP_INDEX_PATH}`;
  const stored = await deps.store.putStream(indexKey, Readable.from(entries()), 'application/json');
  const index: ArtifactDoc = {
    _id: artifactId(runId, nodeId, generation, MAP_INDEX_PATH),
    workspaceId: mapTask.workspaceId,
    projectId: mapTask.projectId,
    type: mapTask.artifactType ?? 'intermediate_task_output',
    path: MAP_INDEX_PATH,
    producerType: 'run_task',
    producerId: mapTask._id,
    runId,
    nodeId,
    attempt: mapTask.attempt,
    storageRef: stored,
    previewable: true,
    summary: { path: MAP_INDEX_PATH, size: stored.size, items: counts.total },
    lineage: { inputArtifactIds: [], runId, nodeId, taskId: mapTask._id, assetIds: [...assetIds] },
    createdBy,
    createdAt: new Date(),
  };
  let manifest: { key: string; checksum: string; count: number } | undefined;
  if (refs.length + 1 > ARTIFACT_REFS_IN_HISTORY_MAX) {
    const all = [toRef(index), ...refs];
    const key = `${prefix}/manifest.jsonl`;
    const lines = Readable.from(
      (function* () {
        for (const r of all) yield Buffer.from(`${JSON.stringify(r)}\n`);
      })(),
    );
    const ref = await deps.store.putStream(key, lines, 'application/x-ndjson');
    manifest = { key, checksum: ref.checksum, count: all.length };
  }
  // A list map's items stage no assets: the node passes on what flowed into it.
  return { counts, refs, index, manifest, assetIds: assetIds.size ? [...assetIds] : mapTask.assetIds };
}

/** Items read into the index per artifact lookup. */
const COLLECT_BATCH = 200;

async function* inBatches<T>(source: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const x of source) {
    batch.push(x);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/** Succeeded items' outputs, by item task id: their manifests' refs, or their artifacts (one lookup for all). */
async function outputsOf(deps: MapDeps, items: RunTaskDoc[]): Promise<Map<string, ArtifactRef[]>> {
  const out = new Map<string, ArtifactRef[]>();
  const listed = items.filter((i) => !i.outputManifest);
  const artifacts = new Map(
    (await deps.runs.artifactsByIds(listed.flatMap((i) => i.outputArtifactIds))).map((a) => [a._id, toRef(a)]),
  );
  for (const item of listed)
    out.set(
      item._id,
      item.outputArtifactIds.flatMap((id) => artifacts.get(id) ?? []),
    );
  for (const item of items.filter((i) => i.outputManifest)) {
    const refs: ArtifactRef[] = [];
    for await (const ref of manifestRefs(deps.store, item.outputManifest!)) refs.push(ref);
    out.set(item._id, refs);
  }
  return out;
}
