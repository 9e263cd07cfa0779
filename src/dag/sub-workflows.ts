// Sub-workflow references: a workflow node runs a pinned version of another workflow. What a graph refers to must
// exist in its project; what it publishes must never run itself again (however deep) and must nest at most
// SUB_WORKFLOW_DEPTH_MAX levels. Pure: the versions are read through the loader the caller passes.
import { SUB_WORKFLOW_DEPTH_MAX } from '../domain/runtime-graph';
import type { GraphProblem } from './graph';

export interface SubWorkflowRef {
  workflowId: string;
  versionNumber: number;
}

interface NodeShape {
  id: string;
  executorType: string;
  executorConfig?: unknown;
}

/** A referenced version as the checks need it: whose it is and its nodes. */
export interface ReferencedVersion {
  workflowDefinitionId: string;
  nodes: readonly NodeShape[];
}

/** Reads a version inside the caller's project: why it cannot, when it cannot. */
export type LoadVersion = (ref: SubWorkflowRef) => Promise<ReferencedVersion | 'no-workflow' | 'no-version'>;

/** The workflow nodes of a graph, with their index in `nodes` (for the paths problems name). */
export function subWorkflowNodes(
  nodes: readonly NodeShape[],
): Array<{ index: number; nodeId: string; ref: SubWorkflowRef }> {
  return nodes.flatMap((n, index) => {
    if (n.executorType !== 'workflow') return [];
    const c = n.executorConfig as Partial<SubWorkflowRef> | undefined;
    if (typeof c?.workflowId !== 'string' || typeof c.versionNumber !== 'number') return [];
    return [{ index, nodeId: n.id, ref: { workflowId: c.workflowId, versionNumber: c.versionNumber } }];
  });
}

interface Reach {
  /** Levels of sub-workflows at and below this version (a version with no workflow node: 1). */
  height: number;
  /** The chain of workflow ids down to the workflow being checked, when it is reached. */
  cycle?: string[];
}

/**
 * What is wrong with a graph's workflow nodes. Every reference must name a version that exists in the project; with
 * `selfWorkflowId` (publishing that workflow), following the references recursively must never reach it again, and
 * the graph must nest at most SUB_WORKFLOW_DEPTH_MAX levels of sub-workflows.
 */
export async function subWorkflowProblems(
  nodes: readonly NodeShape[],
  load: LoadVersion,
  selfWorkflowId?: string,
): Promise<GraphProblem[]> {
  const problems: GraphProblem[] = [];
  const memo = new Map<string, Promise<Reach>>();

  const reach = (ref: SubWorkflowRef, stack: readonly string[] = []): Promise<Reach> => {
    const key = `${ref.workflowId}@${ref.versionNumber}`;
    // Versions are immutable and refer only to versions that existed before them, so the walk ends; a loop that
    // misses the workflow being checked exists only in data written around the API, and stops here.
    if (stack.includes(key)) return Promise.resolve({ height: 1 });
    let found = memo.get(key);
    if (!found) {
      found = (async (): Promise<Reach> => {
        const version = await load(ref);
        if (typeof version === 'string') return { height: 1 };
        if (version.workflowDefinitionId === selfWorkflowId) return { height: 1, cycle: [ref.workflowId] };
        let height = 1;
        for (const child of subWorkflowNodes(version.nodes)) {
          const below = await reach(child.ref, [...stack, key]);
          height = Math.max(height, below.height + 1);
          if (below.cycle) return { height, cycle: [ref.workflowId, ...below.cycle] };
        }
        return { height };
      })();
      memo.set(key, found);
    }
    return found;
  };

  for (const { index, nodeId, ref } of subWorkflowNodes(nodes)) {
    const path = `nodes.${index}.executorConfig`;
    const version = await load(ref);
    if (version === 'no-workflow') {
      problems.push({
        nodeId,
        path: `${path}.workflowId`,
        message: `workflow ${ref.workflowId} not found in this project`,
      });
      continue;
    }
    if (version === 'no-version') {
      problems.push({
        nodeId,
        path: `${path}.versionNumber`,
        message: `workflow ${ref.workflowId} has no version ${ref.versionNumber}`,
      });
      continue;
    }
    if (selfWorkflowId === undefined) continue;
    const { height, cycle } = await reach(ref);
    if (cycle) {
      problems.push({
        nodeId,
        path: `${path}.workflowId`,
        message: `the sub-workflow runs this workflow again (${[selfWorkflowId, ...cycle].join(' → ')}): cycles are refused`,
      });
    } else if (height > SUB_WORKFLOW_DEPTH_MAX) {
      problems.push({
        nodeId,
        path: `${path}.workflowId`,
        message: `sub-workflows nest ${height} levels deep here; at most ${SUB_WORKFLOW_DEPTH_MAX}`,
      });
    }
  }
  return problems;
}
