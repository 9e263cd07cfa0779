import { Context } from '@temporalio/activity';
import type { Db } from 'mongodb';
import { AssetRepository } from '../src/db/catalog';
import type { RunStore } from '../src/db/runs';
import type { BuiltinExecutorConfig } from '../src/domain/runtime-graph';
import type { NodeInput, NodeResult } from '../src/engine/contract';
import { nodeConfigError, runNotFound } from './errors';

/** Seed 000's asset set operations: they narrow the asset set that flows downstream. Pure over their inputs. */
export function applySetOperation(
  config: BuiltinExecutorConfig,
  input: Pick<NodeInput, 'assetIds' | 'upstream'>,
): string[] | { filter: Record<string, unknown> } {
  const sets = input.upstream.length ? input.upstream.map((u) => u.assetIds) : [input.assetIds];
  switch (config.op) {
    case 'noop':
    case 'union':
      return [...new Set(sets.flat())];
    case 'intersection': {
      const [first = [], ...rest] = sets;
      const others = rest.map((s) => new Set(s));
      return [...new Set(first)].filter((id) => others.every((s) => s.has(id)));
    }
    case 'filter':
      return { filter: config.where };
  }
}

export function createBuiltinActivity(db: Db, runs: RunStore, workerId: string) {
  const assets = new AssetRepository(db);
  return async function executeBuiltinNode(input: NodeInput): Promise<NodeResult> {
    const startedAt = new Date();
    const run = await runs.getRunSnapshot(input.runId);
    if (!run) throw runNotFound(input.runId);
    const node = run.runtimeSnapshot.nodes.find((n) => n.id === input.nodeId);
    if (!node || node.executorType !== 'builtin') throw nodeConfigError(`node ${input.nodeId} is not a builtin node`);

    const outcome = applySetOperation(node.executorConfig, input);
    let assetIds: string[];
    if (Array.isArray(outcome)) {
      assetIds = outcome;
    } else {
      const candidates = [
        ...new Set(input.upstream.length ? input.upstream.flatMap((u) => u.assetIds) : input.assetIds),
      ];
      const keep = new Set(await assets.idsMatching(candidates, run.workspaceId, outcome.filter));
      assetIds = candidates.filter((id) => keep.has(id));
    }

    const finishedAt = new Date();
    const info = Context.current().info;
    await runs.applyTransitions(input.runId, [
      {
        nodeId: input.nodeId,
        generation: input.generation,
        status: 'success',
        set: {
          assetIds,
          // The task's one write: the workflow does not mark builtin nodes queued (workflows/run.ts).
          queuedAt: new Date(info.currentAttemptScheduledTimestampMs),
          startedAt,
          finishedAt,
          durationMs: finishedAt.getTime() - startedAt.getTime(),
          summary: {
            executor: 'builtin',
            op: node.executorConfig.op,
            outcome: 'success',
            assetCount: assetIds.length,
            worker: workerId,
            taskQueue: info.taskQueue,
          },
        },
      },
    ]);
    return { artifacts: [], assetIds, cacheHit: false };
  };
}
