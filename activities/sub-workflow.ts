// Workflow nodes' activities: create the child run a workflow node starts (a run of its own, linked both ways), and
// turn the child's leaf outputs into the node's when it has ended. The run workflow starts the child in between.
import type { Db } from 'mongodb';
import { resolveParams } from '../src/dag/params';
import { WorkflowDefinitionRepository, WorkflowVersionRepository } from '../src/db/definitions';
import type { RunStore } from '../src/db/runs';
import type { ParamsDeclaration } from '../src/domain/params';
import { newRunDocs } from '../src/domain/run';
import type { ArtifactRef } from '../src/domain/run';
import { SUB_WORKFLOW_DEPTH_MAX } from '../src/domain/runtime-graph';
import { ARTIFACT_REFS_IN_HISTORY_MAX } from '../src/engine/contract';
import type { ChildRunEnd, ChildRunStart, NodeInput, SubWorkflowActivityContract } from '../src/engine/contract';
import { derivedId } from '../src/ids';
import { runWorkflowId } from '../src/temporal/names';
import { toRef } from './docker/outputs';
import { nodeConfigError, runNotFound } from './errors';

/**
 * The child's params: the parent's, or — when the child's version declares its own — those of the parent's it
 * declares, checked, with its defaults filled in. A child that needs a param the parent does not have fails the node.
 */
function childParams(declared: ParamsDeclaration | undefined, given: Record<string, unknown>): Record<string, unknown> {
  if (!declared) return given;
  const shared = Object.fromEntries(Object.entries(given).filter(([name]) => name in declared));
  const { params, problems } = resolveParams(declared, shared);
  if (problems.length) {
    throw nodeConfigError(`the sub-workflow's params: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
  }
  return params;
}

export function createSubWorkflowActivities(db: Db, runs: RunStore): SubWorkflowActivityContract {
  const definitions = new WorkflowDefinitionRepository(db);
  const versions = new WorkflowVersionRepository(db);
  return {
    async startChildRun(input: NodeInput, at: number): Promise<ChildRunStart> {
      const parent = await runs.getRunSnapshot(input.runId);
      if (!parent) throw runNotFound(input.runId);
      const node = parent.runtimeSnapshot.nodes.find((n) => n.id === input.nodeId);
      if (node?.executorType !== 'workflow') throw nodeConfigError(`node ${input.nodeId} is not a workflow node`);
      const { workflowId, versionNumber } = node.executorConfig;
      // Publishing refuses deeper nesting; a run of a version never published is stopped here.
      const depth = (parent.depth ?? 0) + 1;
      if (depth > SUB_WORKFLOW_DEPTH_MAX)
        throw nodeConfigError(`sub-workflows nest more than ${SUB_WORKFLOW_DEPTH_MAX} levels deep here`);
      const def = await definitions.get(workflowId);
      if (!def || def.workspaceId !== parent.workspaceId || def.projectId !== parent.projectId)
        throw nodeConfigError(`workflow ${workflowId} not found in this project`);
      const version = await versions.getByNumber(workflowId, versionNumber);
      if (!version) throw nodeConfigError(`workflow ${workflowId} has no version ${versionNumber}`);

      // Derived from the node's generation: a retried activity finds the run it created, never makes a second.
      const childRunId = derivedId('run', at, `${parent._id}/${input.nodeId}/${input.generation}`);
      const { run, tasks } = newRunDocs(
        {
          _id: childRunId,
          workspaceId: parent.workspaceId,
          projectId: parent.projectId,
          workflowDefinitionId: def._id,
          temporalWorkflowId: runWorkflowId(childRunId),
          inputBindings: input.assetIds.map((id) => ({ kind: 'asset' as const, id })),
          assetIds: input.assetIds,
          datasetIds: [],
          params: childParams(version.runtimeGraph.params, parent.params),
          triggeredBy: `run:${parent._id}`,
          parentRunId: parent._id,
          parentNodeId: input.nodeId,
          depth,
          ...(input.upstream.length ? { upstreamInputs: input.upstream } : {}),
        },
        version,
        new Date(),
      );
      await runs.insertRun(run, tasks);
      await runs.linkChildRun(parent._id, childRunId);
      await runs.applyTransitions(parent._id, [
        {
          nodeId: input.nodeId,
          generation: input.generation,
          status: 'running',
          set: {
            childRunId,
            startedAt: new Date(),
            summary: { executor: 'workflow', childRunId, workflowId, versionNumber },
          },
        },
      ]);
      return {
        childRunId,
        workflowDefinitionId: def._id,
        projectId: parent.projectId,
        workspaceId: parent.workspaceId,
        summary: `EmboFlow run ${childRunId} of ${def.name} v${versionNumber} (node ${input.nodeId} of ${parent._id})`,
      };
    },

    async finishChildRun({ runId, nodeId, generation }, childRunId): Promise<ChildRunEnd> {
      const child = await runs.getRun(childRunId);
      if (!child) throw runNotFound(childRunId);
      if (child.status !== 'success') {
        const why = child.errorMessage ? `: ${child.errorMessage}` : '';
        return { failed: `sub-workflow run ${childRunId} ended ${child.status}${why}` };
      }
      // The child's outputs are those of its leaf nodes (exit nodes clean up; they are not outputs).
      const graph = child.runtimeSnapshot;
      const sources = new Set(graph.edges.map((e) => e.source));
      const leaves = graph.nodes.filter((n) => !sources.has(n.id) && !n.onExit).map((n) => n.id);
      const tasks = (await runs.listTasks(childRunId, leaves)).filter((t) => t.status === 'success');
      if (tasks.some((t) => t.outputManifest))
        return {
          failed: `sub-workflow run ${childRunId}: a leaf node's outputs are a manifest, which a workflow node cannot pass on`,
        };
      const ids = tasks.flatMap((t) => t.outputArtifactIds);
      if (ids.length > ARTIFACT_REFS_IN_HISTORY_MAX)
        return {
          failed: `sub-workflow run ${childRunId}: its leaf nodes produced ${ids.length} files; a workflow node passes on at most ${ARTIFACT_REFS_IN_HISTORY_MAX}`,
        };
      // Each leaf's files under its node id, so two leaves never write over each other downstream.
      const artifacts: ArtifactRef[] = (await runs.artifactsByIds(ids, child.workspaceId, 'by-node-and-path')).map(
        (a) => ({ ...toRef(a), path: `${a.nodeId}/${a.path}` }),
      );
      const assetIds = [...new Set(tasks.flatMap((t) => t.assetIds))];
      const result = Object.fromEntries(
        tasks.filter((t) => t.lastResultPreview !== undefined).map((t) => [t.nodeId, t.lastResultPreview]),
      );
      const finishedAt = new Date();
      const parentTask = await runs.getTask(runId, nodeId);
      const startedAt = parentTask?.startedAt ?? finishedAt;
      await runs.applyTransitions(runId, [
        {
          nodeId,
          generation,
          status: 'success',
          set: {
            finishedAt,
            durationMs: finishedAt.getTime() - startedAt.getTime(),
            outputArtifactIds: artifacts.map((a) => a.id),
            assetIds,
            lastResultPreview: result,
          },
        },
      ]);
      return { result: { artifacts, assetIds, cacheHit: false, result } };
    },
  };
}
