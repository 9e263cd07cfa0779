// Map nodes, the pure part: where items come from, their keys, failure tolerance, graph checks; and how the CLI
// shows a map node's items.
import { painter } from '../../src/cli/emboflow/format';
import { renderFrame } from '../../src/cli/emboflow/progress';
import { RunTracker } from '../../src/cli/emboflow/run-state';
import {
  batchKey,
  failuresExceeded,
  itemTaskNodeId,
  listAt,
  listItemKey,
  mapProblems,
  parseMapOver,
} from '../../src/dag/map';
import { RuntimeGraphSchema } from '../../src/domain/runtime-graph';

const docker = (id: string, map?: Record<string, unknown>) => ({
  id,
  executorType: 'docker' as const,
  executorConfig: { image: 'x' },
  ...(map ? { map } : {}),
});

describe('map.over', () => {
  test('assets, or a path into an upstream result', () => {
    expect(parseMapOver('assets')).toEqual({ kind: 'assets' });
    expect(parseMapOver('inputs.gen.episodes')).toEqual({ kind: 'list', nodeId: 'gen', path: ['episodes'] });
    expect(parseMapOver('inputs.gen')).toEqual({ kind: 'list', nodeId: 'gen', path: [] });
  });

  test.each(['asset', 'inputs', 'inputs.', 'inputs.-x.y', 'inputs.a..b', 'outputs.a.b', 'inputs.a.b c'])(
    'the schema refuses over = %p, naming map.over',
    (over) => {
      const parsed = RuntimeGraphSchema.safeParse({ nodes: [docker('m', { over })] });
      expect(parsed.success).toBe(false);
      expect(parsed.error!.issues.map((i) => i.path.join('.'))).toContain('nodes.0.map.over');
    },
  );

  test('the schema fills maxParallel and batchSize, and refuses out-of-range ones', () => {
    const parsed = RuntimeGraphSchema.parse({ nodes: [docker('m', { over: 'assets' })] });
    expect(parsed.nodes[0]).toMatchObject({ map: { over: 'assets', maxParallel: 8, batchSize: 1 } });
    for (const bad of [
      { maxParallel: 0 },
      { batchSize: 0 },
      { maxFailures: -1 },
      { maxFailurePercent: 101 },
      { extra: 1 },
    ]) {
      expect(RuntimeGraphSchema.safeParse({ nodes: [docker('m', { over: 'assets', ...bad })] }).success).toBe(false);
    }
  });

  test('a list source must be a node with an edge into the map node', () => {
    const nodes = [docker('gen'), docker('other'), docker('m', { over: 'inputs.gen.items' })];
    expect(mapProblems({ nodes, edges: [{ source: 'gen', target: 'm' }] } as never)).toEqual([]);
    const problems = mapProblems({ nodes, edges: [{ source: 'other', target: 'm' }] } as never);
    expect(problems).toEqual([expect.objectContaining({ nodeId: 'm', path: 'nodes.2.map.over' })]);
    expect(problems[0]!.message).toContain('not an upstream node');
    expect(mapProblems({ nodes: [docker('m', { over: 'assets' })], edges: [] } as never)).toEqual([]);
  });
});

describe('listAt', () => {
  test('finds a list, or says what is there instead', () => {
    expect(listAt({ a: { b: [1, 2] } }, ['a', 'b'])).toEqual({ list: [1, 2] });
    expect(listAt([3], [])).toEqual({ list: [3] });
    expect(listAt({ a: 5 }, ['a'])).toEqual({ error: 'holds number at "a", not a list' });
    expect(listAt({ a: null }, ['a'])).toEqual({ error: 'holds null at "a", not a list' });
    expect(listAt({ a: {} }, ['a', 'b'])).toEqual({ error: 'has no value at "a.b" (missing "b")' });
    expect(listAt(null, ['a'])).toEqual({ error: 'has no value at "a" (missing "a")' });
  });
});

describe('keys', () => {
  test('sort in list order and name the item task', () => {
    const keys = [0, 9, 10, 99_999].map(listItemKey);
    expect(keys).toEqual(['i000000', 'i000009', 'i000010', 'i099999']);
    expect([...keys].reverse().sort()).toEqual(keys);
    expect(batchKey(12)).toBe('b000012');
    expect(itemTaskNodeId('each', 'ast_1')).toBe('each.ast_1');
  });
});

describe('failure tolerance', () => {
  test('fails fast without a tolerance', () => {
    expect(failuresExceeded({}, 0, 10)).toBe(false);
    expect(failuresExceeded({}, 1, 10)).toBe(true);
  });
  test('tolerates up to N items, or P percent, whichever is stricter', () => {
    expect(failuresExceeded({ maxFailures: 2 }, 2, 10)).toBe(false);
    expect(failuresExceeded({ maxFailures: 2 }, 3, 10)).toBe(true);
    expect(failuresExceeded({ maxFailurePercent: 10 }, 1, 10)).toBe(false);
    expect(failuresExceeded({ maxFailurePercent: 10 }, 2, 10)).toBe(true);
    expect(failuresExceeded({ maxFailures: 5, maxFailurePercent: 10 }, 2, 10)).toBe(true);
    expect(failuresExceeded({ maxFailures: 0 }, 1, 10)).toBe(true);
  });
});

describe('the CLI shows item progress', () => {
  test('item events move a map node on without a status change, and its line says done/total and failed', () => {
    const t = new RunTracker('run_1');
    t.snapshot({ id: 'run_1', status: 'running', runtimeSnapshot: { nodes: [{ id: 'each' }] } }, [
      { nodeId: 'each', status: 'running', attempt: 0 },
    ]);
    const items = { total: 50, succeeded: 20, failed: 1, done: 21 };
    expect(t.task({ nodeId: 'each', status: 'running', attempt: 0, items })).toBe(true);
    expect(t.task({ nodeId: 'each', status: 'running', attempt: 0, items })).toBe(false);
    const line = renderFrame(t, { now: 0, width: 120, height: 10, tick: 0, paint: painter(false) })[1]!;
    expect(line).toContain('items 21/50, 1 failed');
  });
});
