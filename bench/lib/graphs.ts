// The scenario shapes as EmboFlow runtime graphs (the baseline workflows in bench/baseline mirror them).
import type { RuntimeGraphInput } from '../../src/domain/runtime-graph';

type Node = RuntimeGraphInput['nodes'][number];
type Edge = { source: string; target: string };

export const TOOLS_IMAGE = 'emboflow/tools:local';

const noop = (id: string): Node => ({ id, executorType: 'builtin', executorConfig: { op: 'noop' } });

/** A container node running `true`; the nonce makes every command unique and the cache is off, so each one runs. */
export function containerNode(id: string, nonce: string): Node {
  return {
    id,
    executorType: 'docker',
    executorConfig: {
      image: TOOLS_IMAGE,
      command: ['true'],
      env: { BENCH_NONCE: `${nonce}-${id}` },
      memoryMb: 64,
      timeoutSeconds: 120,
    },
    cache: { enabled: false },
  };
}

function graph(nodes: Node[], edges: Edge[], maxParallelism: number): RuntimeGraphInput {
  return { nodes, edges, settings: { maxParallelism, failFast: false } };
}

/** n nodes, each after the previous one. */
export function chainGraph(n: number, make: (id: string) => Node = noop): RuntimeGraphInput {
  const ids = Array.from({ length: n }, (_, i) => `n${i}`);
  return graph(
    ids.map(make),
    ids.slice(1).map((id, i) => ({ source: ids[i]!, target: id })),
    8,
  );
}

/** A root, `width` parallel nodes, a sink. */
export function fanOutInGraph(width: number, maxParallelism = Math.min(1000, width)): RuntimeGraphInput {
  const mid = Array.from({ length: width }, (_, i) => `w${i}`);
  return graph(
    [noop('root'), ...mid.map(noop), noop('sink')],
    mid.flatMap((id) => [
      { source: 'root', target: id },
      { source: id, target: 'sink' },
    ]),
    maxParallelism,
  );
}

/** `width` independent nodes run at most `maxParallelism` at a time. */
export function parallelGraph(width: number, maxParallelism: number, make: (id: string) => Node): RuntimeGraphInput {
  return graph(
    Array.from({ length: width }, (_, i) => make(`p${i}`)),
    [],
    maxParallelism,
  );
}

/** `layers` × `width`; node (l, i) depends on (l-1, i) and (l-1, i+1 mod width). */
export function layeredGraph(layers: number, width: number, maxParallelism: number): RuntimeGraphInput {
  const id = (l: number, i: number) => `l${l}-${i}`;
  const nodes: Node[] = [];
  const edges: Edge[] = [];
  for (let l = 0; l < layers; l++) {
    for (let i = 0; i < width; i++) {
      nodes.push(noop(id(l, i)));
      if (l > 0) {
        edges.push({ source: id(l - 1, i), target: id(l, i) });
        if (width > 1) edges.push({ source: id(l - 1, (i + 1) % width), target: id(l, i) });
      }
    }
  }
  return graph(nodes, edges, maxParallelism);
}

/** 10 nodes: a root, two branches of four, a join (the baseline's diamondWorkflow). */
export function diamondGraph(): RuntimeGraphInput {
  const branch = (b: string) => Array.from({ length: 4 }, (_, i) => `${b}${i}`);
  const [a, b] = [branch('a'), branch('b')];
  const edges: Edge[] = [];
  for (const br of [a, b]) {
    edges.push({ source: 'root', target: br[0]! });
    br.slice(1).forEach((id, i) => edges.push({ source: br[i]!, target: id }));
    edges.push({ source: br[3]!, target: 'join' });
  }
  return graph([noop('root'), ...a.map(noop), ...b.map(noop), noop('join')], edges, 8);
}
