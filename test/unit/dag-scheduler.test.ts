import { exitNodeProblems, indexGraph, subtree } from '../../src/dag/graph';
import { DagScheduler } from '../../src/dag/scheduler';
import type { EdgeTaken, RunWhen } from '../../src/dag/scheduler';
import type { RuntimeEdge } from '../../src/domain/runtime-graph';

type Shape = { nodes: string[]; edges: Array<[string, string]> };

function build(shape: Shape, maxParallelism = 8) {
  const graph = {
    nodes: shape.nodes.map((id) => ({ id, executorType: 'builtin', executorConfig: { op: 'noop' } }) as never),
    edges: shape.edges.map(([source, target]) => ({ source, target })),
  };
  const index = indexGraph(graph);
  return { index, scheduler: new DagScheduler(index, maxParallelism) };
}

/** Runs a scheduler to the end, completing started nodes in FIFO order; returns the start order per step. */
function drive(
  s: DagScheduler,
  outcome: (id: string) => 'success' | 'failed' = () => 'success',
  edgeTaken?: EdgeTaken,
  inFlight: string[] = [],
) {
  const steps: string[][] = [];
  const running: string[] = [...inFlight];
  for (let guard = 0; guard < 10_000; guard++) {
    const step = s.next(edgeTaken);
    if (step.start.length) steps.push(step.start);
    running.push(...step.start);
    const id = running.shift();
    if (!id) break;
    s.complete(id, outcome(id));
  }
  return steps;
}

const chain = (n: number): Shape => ({
  nodes: Array.from({ length: n }, (_, i) => `n${i}`),
  edges: Array.from({ length: n - 1 }, (_, i) => [`n${i}`, `n${i + 1}`] as [string, string]),
});
const fan = (width: number): Shape => ({
  nodes: ['src', ...Array.from({ length: width }, (_, i) => `w${i}`), 'sink'],
  edges: Array.from(
    { length: width },
    (_, i) =>
      [
        ['src', `w${i}`],
        [`w${i}`, 'sink'],
      ] as Array<[string, string]>,
  ).flat(),
});

describe('DagScheduler on graph shapes', () => {
  test('a chain runs one node at a time, in order', () => {
    const { scheduler } = build(chain(5));
    expect(drive(scheduler)).toEqual([['n0'], ['n1'], ['n2'], ['n3'], ['n4']]);
    expect(scheduler.outcome()).toBe('success');
  });

  test('a diamond runs both middle nodes together and the join after both', () => {
    const { scheduler } = build({
      nodes: ['a', 'b', 'c', 'd'],
      edges: [
        ['a', 'b'],
        ['a', 'c'],
        ['b', 'd'],
        ['c', 'd'],
      ],
    });
    expect(scheduler.next().start).toEqual(['a']);
    scheduler.complete('a', 'success');
    expect(scheduler.next().start).toEqual(['b', 'c']);
    scheduler.complete('b', 'success');
    expect(scheduler.next().start).toEqual([]);
    scheduler.complete('c', 'success');
    expect(scheduler.next().start).toEqual(['d']);
  });

  test('a wide fan-out never exceeds maxParallelism and the fan-in waits for every branch', () => {
    const { scheduler } = build(fan(100), 8);
    scheduler.next();
    scheduler.complete('src', 'success');
    const first = scheduler.next().start;
    expect(first).toHaveLength(8);
    expect(scheduler.runningCount).toBe(8);
    scheduler.complete(first[0]!, 'success');
    expect(scheduler.next().start).toEqual(['w8']);
    const steps = drive(scheduler, undefined, undefined, [...first.slice(1), 'w8']);
    expect(steps.flat().filter((id) => id === 'sink')).toEqual(['sink']);
    expect(steps[steps.length - 1]).toEqual(['sink']);
    expect(scheduler.finished).toBe(true);
  });

  test('several roots start together; disconnected parts progress independently', () => {
    const { scheduler } = build({
      nodes: ['r1', 'r2', 'x', 'y'],
      edges: [
        ['r1', 'x'],
        ['r2', 'y'],
      ],
    });
    expect(scheduler.next().start).toEqual(['r1', 'r2']);
    scheduler.complete('r2', 'success');
    expect(scheduler.next().start).toEqual(['y']);
    scheduler.complete('r1', 'failed');
    const step = scheduler.next();
    expect(step.skip).toEqual([{ nodeId: 'x', reason: 'upstream_failed' }]);
    scheduler.complete('y', 'success');
    expect(scheduler.finished).toBe(true);
    expect(scheduler.outcome()).toBe('failed');
  });

  test('a failure skips its whole downstream subtree but not its siblings', () => {
    const { scheduler } = build({
      nodes: ['a', 'b', 'c', 'd', 'e'],
      edges: [
        ['a', 'b'],
        ['b', 'c'],
        ['c', 'd'],
        ['a', 'e'],
      ],
    });
    drive(scheduler, (id) => (id === 'b' ? 'failed' : 'success'));
    expect(scheduler.state('c')).toEqual({ status: 'skipped', skipReason: 'upstream_failed' });
    expect(scheduler.state('d')).toEqual({ status: 'skipped', skipReason: 'upstream_failed' });
    expect(scheduler.state('e').status).toBe('success');
  });

  test('an untaken edge skips its branch; a join with one taken branch still runs', () => {
    const { scheduler } = build({
      nodes: ['decide', 'left', 'right', 'afterRight', 'join'],
      edges: [
        ['decide', 'left'],
        ['decide', 'right'],
        ['right', 'afterRight'],
        ['left', 'join'],
        ['afterRight', 'join'],
      ],
    });
    const taken: EdgeTaken = (e: RuntimeEdge) => !(e.source === 'decide' && e.target === 'right');
    drive(scheduler, () => 'success', taken);
    expect(scheduler.state('right')).toEqual({ status: 'skipped', skipReason: 'condition_false' });
    expect(scheduler.state('afterRight')).toEqual({ status: 'skipped', skipReason: 'condition_false' });
    expect(scheduler.state('join').status).toBe('success');
    expect(scheduler.outcome()).toBe('success');
  });

  test('cancelling marks running and not-started nodes cancelled and the run cancelled', () => {
    const { scheduler } = build(chain(3));
    scheduler.next();
    const { wasRunning, notStarted } = scheduler.cancelRemaining();
    expect(wasRunning).toEqual(['n0']);
    expect(notStarted).toEqual(['n1', 'n2']);
    expect(scheduler.finished).toBe(true);
    expect(scheduler.outcome()).toBe('cancelled');
  });

  test('resetting a subtree runs exactly those nodes again', () => {
    const { index, scheduler } = build({
      nodes: ['a', 'b', 'c', 'd'],
      edges: [
        ['a', 'b'],
        ['b', 'c'],
        ['a', 'd'],
      ],
    });
    drive(scheduler, (id) => (id === 'b' ? 'failed' : 'success'));
    const reset = subtree(index, 'b');
    expect(reset).toEqual(['b', 'c']);
    scheduler.reset(reset);
    expect(drive(scheduler).flat()).toEqual(['b', 'c']);
    expect(scheduler.outcome()).toBe('success');
  });

  test('a scheduler restored from a snapshot re-runs only unfinished nodes', () => {
    const { index, scheduler } = build(chain(4));
    scheduler.next();
    scheduler.complete('n0', 'success');
    scheduler.next();
    const restored = new DagScheduler(index, 8, scheduler.snapshot());
    expect(drive(restored).flat()).toEqual(['n1', 'n2', 'n3']);
  });
});

describe('DagScheduler invariants on random DAGs', () => {
  // A small seeded PRNG: the same graphs on every run.
  function prng(seed: number) {
    return () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
  }

  test.each(Array.from({ length: 40 }, (_, i) => i))('random DAG #%i', (seed) => {
    const rand = prng(seed + 1);
    const n = 5 + Math.floor(rand() * 60);
    const nodes = Array.from({ length: n }, (_, i) => `n${i}`);
    const edges: Array<[string, string]> = [];
    for (let j = 1; j < n; j++) for (let i = 0; i < j; i++) if (rand() < 0.08) edges.push([`n${i}`, `n${j}`]);
    const limit = 1 + Math.floor(rand() * 6);
    const { index, scheduler } = build({ nodes, edges }, limit);
    const failing = new Set(nodes.filter(() => rand() < 0.1));
    const started = new Set<string>();
    const running: string[] = [];
    for (let guard = 0; guard < 10_000 && !scheduler.finished; guard++) {
      const step = scheduler.next();
      for (const id of step.start) {
        expect(started.has(id)).toBe(false);
        for (const up of index.upstream.get(id)!) expect(scheduler.state(up).status).toBe('success');
        started.add(id);
      }
      running.push(...step.start);
      expect(running.length).toBeLessThanOrEqual(limit);
      // Complete a random running node: completion order must not matter.
      const id = running.splice(Math.floor(rand() * running.length), 1)[0];
      if (id) scheduler.complete(id, failing.has(id) ? 'failed' : 'success');
    }
    expect(scheduler.finished).toBe(true);
    for (const id of nodes) {
      const st = scheduler.state(id);
      const ups = index.upstream.get(id)!;
      const upBad = ups.some((u) => ['failed', 'skipped'].includes(scheduler.state(u).status));
      expect(st.status).toBe(upBad ? 'skipped' : failing.has(id) ? 'failed' : 'success');
    }
  });
});

describe('trigger rules (runWhen)', () => {
  // a and b feed t; c follows t.
  const shape: Shape = {
    nodes: ['a', 'b', 't', 'c'],
    edges: [
      ['a', 't'],
      ['b', 't'],
      ['t', 'c'],
    ],
  };
  function ended(rule: RunWhen, fails: string[]) {
    const graph = {
      nodes: shape.nodes.map((id) => ({ id, executorType: 'builtin', executorConfig: { op: 'noop' } }) as never),
      edges: shape.edges.map(([source, target]) => ({ source, target })),
    };
    const scheduler = new DagScheduler(indexGraph(graph), 8, new Map(), new Map([['t', rule]]));
    drive(scheduler, (id) => (fails.includes(id) ? 'failed' : 'success'));
    return { t: scheduler.state('t'), c: scheduler.state('c').status, outcome: scheduler.outcome() };
  }

  test.each<[RunWhen, string[], string]>([
    ['all_done', [], 'success'],
    ['all_done', ['a'], 'success'],
    ['all_done', ['a', 'b'], 'success'],
    ['always', ['a', 'b'], 'success'],
    ['one_success', ['a'], 'success'],
    ['one_success', ['a', 'b'], 'skipped'],
    ['one_failed', [], 'skipped'],
    ['one_failed', ['b'], 'success'],
    ['all_failed', ['a'], 'skipped'],
    ['all_failed', ['a', 'b'], 'success'],
  ])('%s with %j failed: the node ends %s', (rule, fails, status) => {
    const { t } = ended(rule, fails);
    expect(t.status).toBe(status);
    if (status === 'skipped') expect(t.skipReason).toBe('trigger_rule');
  });

  test('a node the rule skips skips its default-rule downstream for it; a failure still fails the run', () => {
    expect(ended('one_failed', [])).toMatchObject({ c: 'skipped', outcome: 'success' });
    // The handler ran after a failure: the run is still failed, and the handler's own downstream runs.
    expect(ended('one_failed', ['a'])).toMatchObject({ t: { status: 'success' }, c: 'success', outcome: 'failed' });
  });

  test('the default rule is unchanged: a failed upstream skips the node for it', () => {
    const { scheduler } = build(shape);
    drive(scheduler, (id) => (id === 'a' ? 'failed' : 'success'));
    expect(scheduler.state('t')).toEqual({ status: 'skipped', skipReason: 'upstream_failed' });
  });
});

describe('exit nodes', () => {
  // a -> b; cleanup -> notify are exit nodes.
  const graph = {
    nodes: ['a', 'b', 'cleanup', 'notify'].map(
      (id) => ({ id, executorType: 'builtin', executorConfig: { op: 'noop' } }) as never,
    ),
    edges: [
      { source: 'a', target: 'b' },
      { source: 'cleanup', target: 'notify' },
    ],
  };
  const exit = new Set(['cleanup', 'notify']);
  const make = () => new DagScheduler(indexGraph(graph), 8, new Map(), new Map(), exit);

  test('run after every other node has ended, in their own order', () => {
    const s = make();
    expect(drive(s)).toEqual([['a'], ['b'], ['cleanup'], ['notify']]);
    expect(s.outcome()).toBe('success');
  });

  test('run after a failure too, and see the outcome of the rest of the run', () => {
    const s = make();
    const seen: string[] = [];
    drive(s, (id) => {
      if (exit.has(id)) seen.push(`${id}:${s.mainOutcome()}`);
      return id === 'a' ? 'failed' : 'success';
    });
    expect(s.state('b')).toEqual({ status: 'skipped', skipReason: 'upstream_failed' });
    expect(seen).toEqual(['cleanup:failed', 'notify:failed']);
    expect(s.outcome()).toBe('failed');
  });

  test('a cancel cancels the rest but leaves exit nodes to run', () => {
    const s = make();
    expect(s.next().start).toEqual(['a']);
    const { wasRunning, notStarted } = s.cancelRemaining();
    expect({ wasRunning, notStarted }).toEqual({ wasRunning: ['a'], notStarted: ['b'] });
    expect(s.mainFinished).toBe(true);
    expect(s.mainOutcome()).toBe('cancelled');
    expect(drive(s)).toEqual([['cleanup'], ['notify']]);
    expect(s.finished).toBe(true);
  });

  test('a graph without exit nodes cancels everything, as before', () => {
    const { scheduler } = build(chain(3));
    scheduler.next();
    expect(scheduler.cancelRemaining()).toEqual({ wasRunning: ['n0'], notStarted: ['n1', 'n2'] });
    expect(scheduler.finished).toBe(true);
  });
});

describe('exit node validation', () => {
  test('an edge between an exit node and another node is a problem naming the edge; exit-only graphs are refused', () => {
    const node = (id: string, onExit?: boolean) =>
      ({ id, executorType: 'builtin', executorConfig: { op: 'noop' }, ...(onExit ? { onExit } : {}) }) as never;
    expect(exitNodeProblems({ nodes: [node('a'), node('x', true)], edges: [{ source: 'a', target: 'x' }] })).toEqual([
      expect.objectContaining({ nodeId: 'x', path: 'edges.0' }),
    ]);
    expect(exitNodeProblems({ nodes: [node('x', true)], edges: [] })).toEqual([
      expect.objectContaining({ path: 'nodes' }),
    ]);
    expect(
      exitNodeProblems({ nodes: [node('a'), node('x', true), node('y', true)], edges: [{ source: 'x', target: 'y' }] }),
    ).toEqual([]);
  });
});
