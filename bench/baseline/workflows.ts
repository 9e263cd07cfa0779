// Minimal hand-written Temporal workflows: the floor EmboFlow's run workflow is compared against.
// One no-op activity per node, the same shapes as the EmboFlow scenarios, nothing else (no mirror, no plan).
import { proxyActivities } from '@temporalio/workflow';
import type { BaselineActivities } from './activities';

const { noop } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '2 minutes' });

/** S1: n nodes, each after the previous one. */
export async function chainWorkflow(n: number): Promise<number> {
  for (let i = 0; i < n; i++) await noop(`n${i}`);
  return n;
}

/** S2: a root, `width` nodes in parallel (at most `batch` in flight), then a sink. */
export async function fanOutInWorkflow(width: number, batch: number): Promise<number> {
  await noop('root');
  for (let start = 0; start < width; start += batch) {
    const end = Math.min(width, start + batch);
    await Promise.all(Array.from({ length: end - start }, (_, i) => noop(`w${start + i}`)));
  }
  await noop('sink');
  return width + 2;
}

/** At most `limit` calls of `fn` in flight (the EmboFlow graph's maxParallelism). Deterministic: promises only. */
function limiter(limit: number) {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/**
 * S3: `layers` layers of `width` nodes; node (l, i) waits for (l-1, i) and (l-1, i+1 mod width), as in the
 * EmboFlow graph, with at most `maxParallelism` in flight. Each node starts as soon as its own two parents finish.
 */
export async function layeredWorkflow(layers: number, width: number, maxParallelism: number): Promise<number> {
  const run = limiter(maxParallelism);
  let previous: Promise<void>[] = [];
  for (let l = 0; l < layers; l++) {
    const parents = previous;
    previous = Array.from({ length: width }, (_, i) =>
      l === 0
        ? run(() => noop(`l0-${i}`))
        : Promise.all([parents[i]!, parents[(i + 1) % width]!]).then(() => run(() => noop(`l${l}-${i}`))),
    );
  }
  await Promise.all(previous);
  return layers * width;
}

/** S5: the 10-node diamond-ish DAG (a root, two branches of four, a join). */
export async function diamondWorkflow(): Promise<number> {
  await noop('root');
  const branch = async (b: string) => {
    for (let i = 0; i < 4; i++) await noop(`${b}${i}`);
  };
  await Promise.all([branch('a'), branch('b')]);
  await noop('join');
  return 10;
}
