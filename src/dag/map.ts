// Map nodes, the pure part: where items come from, their keys, how they batch, and when failures fail the node.
// No I/O; imported by workflow code, activities and the API's validation.
import type { MapConfig, RuntimeGraph } from '../domain/runtime-graph';
import type { GraphProblem } from './graph';

export type MapSource = { kind: 'assets' } | { kind: 'list'; nodeId: string; path: string[] };

export function parseMapOver(over: string): MapSource {
  if (over === 'assets') return { kind: 'assets' };
  const [, nodeId, ...path] = over.split('.');
  return { kind: 'list', nodeId: nodeId!, path };
}

/** Graph checks for map nodes: `over` names a node with an edge into the map node. */
export function mapProblems(graph: Pick<RuntimeGraph, 'nodes' | 'edges'>): GraphProblem[] {
  const problems: GraphProblem[] = [];
  graph.nodes.forEach((n, i) => {
    if (n.executorType !== 'docker' || !n.map) return;
    const source = parseMapOver(n.map.over);
    if (source.kind !== 'list') return;
    if (!graph.edges.some((e) => e.source === source.nodeId && e.target === n.id)) {
      problems.push({
        nodeId: n.id,
        path: `nodes.${i}.map.over`,
        message: `map.over names "${source.nodeId}", which is not an upstream node of "${n.id}" (no edge ${source.nodeId} -> ${n.id})`,
      });
    }
  });
  return problems;
}

/** The list a map reads from an upstream result, or why there is none. */
export function listAt(result: unknown, path: string[]): { list: unknown[] } | { error: string } {
  let value: unknown = result;
  for (const step of path) {
    if (value === null || typeof value !== 'object' || !(step in value)) {
      return { error: `has no value at "${path.join('.')}" (missing "${step}")` };
    }
    value = (value as Record<string, unknown>)[step];
  }
  if (!Array.isArray(value)) {
    const kind = value === null ? 'null' : typeof value;
    return { error: `holds ${kind} at "${path.join('.') || '(the result itself)'}", not a list` };
  }
  return { list: value };
}

/** A list element's key: its position, zero-padded so keys sort in list order. */
export function listItemKey(index: number): string {
  return `i${String(index).padStart(6, '0')}`;
}

/** A batch of items (batchSize > 1) is keyed by its position among the batches. */
export function batchKey(index: number): string {
  return `b${String(index).padStart(6, '0')}`;
}

/** The mirror id of an item's task: the map node's id and the item key (node ids never contain a dot). */
export function itemTaskNodeId(mapNodeId: string, itemKey: string): string {
  return `${mapNodeId}.${itemKey}`;
}

/** Whether `failed` of `total` items is more than the node tolerates. */
export function failuresExceeded(
  map: Pick<MapConfig, 'maxFailures' | 'maxFailurePercent'>,
  failed: number,
  total: number,
): boolean {
  if (failed === 0) return false;
  if (map.maxFailures === undefined && map.maxFailurePercent === undefined) return true;
  if (map.maxFailures !== undefined && failed > map.maxFailures) return true;
  if (map.maxFailurePercent !== undefined && total > 0 && (failed * 100) / total > map.maxFailurePercent) return true;
  return false;
}
