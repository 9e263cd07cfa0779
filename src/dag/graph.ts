// Pure graph logic: no I/O, no clock, no randomness. Imported by workflow code.
import type { NodeContract, RuntimeEdge, RuntimeGraph, RuntimeNode } from '../domain/runtime-graph';

export interface GraphProblem {
  nodeId?: string;
  path: string;
  message: string;
}

export interface GraphIndex {
  nodeIds: string[];
  upstream: Map<string, string[]>;
  downstream: Map<string, string[]>;
  /** Incoming edges per target, for condition checks. */
  incoming: Map<string, RuntimeEdge[]>;
  /** Node ids in a topological order (stable: ties keep declaration order). */
  order: string[];
}

/** Builds adjacency and a topological order; assumes validateGraphStructure found no problems. */
export function indexGraph(graph: Pick<RuntimeGraph, 'nodes' | 'edges'>): GraphIndex {
  const nodeIds = graph.nodes.map((n) => n.id);
  const upstream = new Map<string, string[]>(nodeIds.map((id) => [id, []]));
  const downstream = new Map<string, string[]>(nodeIds.map((id) => [id, []]));
  const incoming = new Map<string, RuntimeEdge[]>(nodeIds.map((id) => [id, []]));
  for (const e of graph.edges) {
    upstream.get(e.target)?.push(e.source);
    downstream.get(e.source)?.push(e.target);
    incoming.get(e.target)?.push(e);
  }
  return { nodeIds, upstream, downstream, incoming, order: topologicalOrder(nodeIds, upstream, downstream) };
}

function topologicalOrder(
  nodeIds: string[],
  upstream: Map<string, string[]>,
  downstream: Map<string, string[]>,
): string[] {
  const indegree = new Map(nodeIds.map((id) => [id, upstream.get(id)?.length ?? 0]));
  const queue = nodeIds.filter((id) => indegree.get(id) === 0);
  const order: string[] = [];
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    order.push(id);
    for (const next of downstream.get(id) ?? []) {
      const d = (indegree.get(next) ?? 0) - 1;
      indegree.set(next, d);
      if (d === 0) queue.push(next);
    }
  }
  return order;
}

/** Every node reachable from `start` (inclusive), in topological order. */
export function subtree(index: GraphIndex, start: string): string[] {
  const seen = new Set<string>([start]);
  const stack = [start];
  while (stack.length) {
    for (const next of index.downstream.get(stack.pop()!) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(next);
      }
    }
  }
  return index.order.filter((id) => seen.has(id));
}

/**
 * Structural checks the schema cannot express: duplicate ids, dangling or self edges, duplicate edges and cycles.
 * Every problem is reported, each with the node it concerns.
 */
export function validateGraphStructure(graph: Pick<RuntimeGraph, 'nodes' | 'edges'>): GraphProblem[] {
  const problems: GraphProblem[] = [];
  const ids = new Set<string>();
  graph.nodes.forEach((n, i) => {
    if (ids.has(n.id)) problems.push({ nodeId: n.id, path: `nodes.${i}.id`, message: `duplicate node id "${n.id}"` });
    ids.add(n.id);
  });
  const seenEdges = new Set<string>();
  graph.edges.forEach((e, i) => {
    for (const end of ['source', 'target'] as const) {
      if (!ids.has(e[end])) {
        problems.push({ nodeId: e[end], path: `edges.${i}.${end}`, message: `edge ${end} "${e[end]}" is not a node` });
      }
    }
    if (e.source === e.target) {
      problems.push({ nodeId: e.source, path: `edges.${i}`, message: `node "${e.source}" has an edge to itself` });
    }
    const key = `${e.source}\u0000${e.target}`;
    if (seenEdges.has(key)) {
      problems.push({ nodeId: e.target, path: `edges.${i}`, message: `duplicate edge ${e.source} -> ${e.target}` });
    }
    seenEdges.add(key);
  });
  if (problems.length) return problems;

  const index = indexGraph(graph);
  if (index.order.length !== index.nodeIds.length) {
    const placed = new Set(index.order);
    for (const id of findCycle(index, placed)) {
      problems.push({ nodeId: id, path: 'edges', message: `node "${id}" is part of a cycle` });
    }
  }
  return problems;
}

/** The nodes of one cycle among the nodes a topological sort could not place. */
function findCycle(index: GraphIndex, placed: Set<string>): string[] {
  const remaining = index.nodeIds.filter((id) => !placed.has(id));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | null => {
    state.set(id, 'visiting');
    path.push(id);
    for (const next of index.downstream.get(id) ?? []) {
      if (placed.has(next)) continue;
      if (state.get(next) === 'visiting') return path.slice(path.indexOf(next));
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    path.pop();
    state.set(id, 'done');
    return null;
  };
  for (const id of remaining) {
    if (!state.has(id)) {
      const found = visit(id);
      if (found) return found;
    }
  }
  return remaining;
}

/**
 * Artifact type compatibility (seed 004's matrix, reduced to what EmboFlow's nodes exchange):
 * a type fits itself; `any` fits and accepts everything; `file` accepts every file-like type.
 */
const FILE_TYPES = new Set([
  'file',
  'json',
  'csv',
  'text',
  'image',
  'video',
  'hdf5',
  'rosbag',
  'archive',
  'quality_report',
  'preview_bundle',
  'normalized_dataset',
  'delivery_package',
  'training_config',
]);

export function typeFits(produced: string, accepted: string): boolean {
  if (produced === accepted || produced === 'any' || accepted === 'any') return true;
  return accepted === 'file' && FILE_TYPES.has(produced);
}

/** Checks every edge whose two ends both declare a contract; contracts come from the node or its custom node. */
export function validateContracts(
  graph: Pick<RuntimeGraph, 'nodes' | 'edges'>,
  contractOf: (node: RuntimeNode) => NodeContract | undefined,
): GraphProblem[] {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const problems: GraphProblem[] = [];
  graph.edges.forEach((e, i) => {
    const source = byId.get(e.source);
    const target = byId.get(e.target);
    if (!source || !target) return;
    const produced = contractOf(source)?.outputs ?? [];
    const accepted = contractOf(target)?.inputs ?? [];
    if (!produced.length || !accepted.length) return;
    if (!produced.some((p) => accepted.some((a) => typeFits(p, a)))) {
      problems.push({
        nodeId: e.target,
        path: `edges.${i}`,
        message: `"${e.source}" produces [${produced.join(', ')}] but "${e.target}" accepts [${accepted.join(', ')}]`,
      });
    }
  });
  return problems;
}

/** Exit nodes run after the rest of the run: an edge may join two exit nodes, never an exit node and another node. */
export function exitNodeProblems(graph: Pick<RuntimeGraph, 'nodes' | 'edges'>): GraphProblem[] {
  const exit = new Set(graph.nodes.filter((n) => n.onExit).map((n) => n.id));
  const problems: GraphProblem[] = [];
  graph.edges.forEach((e, i) => {
    if (exit.has(e.source) !== exit.has(e.target)) {
      const [exitEnd, other] = exit.has(e.source) ? [e.source, e.target] : [e.target, e.source];
      problems.push({
        nodeId: exitEnd,
        path: `edges.${i}`,
        message: `exit node "${exitEnd}" runs after the rest of the run: it cannot have an edge with "${other}", which is not an exit node`,
      });
    }
  });
  if (exit.size && exit.size === graph.nodes.length)
    problems.push({ path: 'nodes', message: 'every node is an exit node: a run needs at least one other node' });
  return problems;
}
