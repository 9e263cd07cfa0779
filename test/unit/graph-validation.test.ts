import { typeFits, validateContracts, validateGraphStructure } from '../../src/dag/graph';
import { RuntimeGraphSchema } from '../../src/domain/runtime-graph';

const node = (id: string, contract?: { inputs?: string[]; outputs?: string[] }) =>
  ({ id, executorType: 'builtin', executorConfig: { op: 'noop' }, ...(contract ? { contract } : {}) }) as never;

describe('validateGraphStructure', () => {
  test('a valid DAG has no problems', () => {
    expect(validateGraphStructure({ nodes: [node('a'), node('b')], edges: [{ source: 'a', target: 'b' }] })).toEqual(
      [],
    );
  });

  test('reports every duplicate id, dangling edge, self edge and duplicate edge with its node', () => {
    const problems = validateGraphStructure({
      nodes: [node('a'), node('a'), node('b')],
      edges: [
        { source: 'a', target: 'ghost' },
        { source: 'b', target: 'b' },
        { source: 'a', target: 'b' },
        { source: 'a', target: 'b' },
      ],
    });
    expect(problems).toEqual([
      { nodeId: 'a', path: 'nodes.1.id', message: 'duplicate node id "a"' },
      { nodeId: 'ghost', path: 'edges.0.target', message: 'edge target "ghost" is not a node' },
      { nodeId: 'b', path: 'edges.1', message: 'node "b" has an edge to itself' },
      { nodeId: 'b', path: 'edges.3', message: 'duplicate edge a -> b' },
    ]);
  });

  test('names the nodes of a cycle and not the nodes merely downstream of it', () => {
    const problems = validateGraphStructure({
      nodes: [node('root'), node('x'), node('y'), node('z'), node('tail')],
      edges: [
        { source: 'root', target: 'x' },
        { source: 'x', target: 'y' },
        { source: 'y', target: 'z' },
        { source: 'z', target: 'x' },
        { source: 'z', target: 'tail' },
      ],
    });
    expect(problems.map((p) => p.nodeId).sort()).toEqual(['x', 'y', 'z']);
    expect(problems[0]!.message).toMatch(/part of a cycle/);
  });
});

describe('contracts', () => {
  test('type compatibility: same type, any, and file accepting file-like types', () => {
    expect(typeFits('hdf5', 'hdf5')).toBe(true);
    expect(typeFits('hdf5', 'any')).toBe(true);
    expect(typeFits('any', 'quality_report')).toBe(true);
    expect(typeFits('quality_report', 'file')).toBe(true);
    expect(typeFits('json', 'hdf5')).toBe(false);
    expect(typeFits('file', 'json')).toBe(false);
  });

  test('an edge whose upstream outputs fit none of the downstream inputs is reported on the target', () => {
    const graph = {
      nodes: [
        node('probe', { outputs: ['quality_report'] }),
        node('convert', { inputs: ['hdf5'] }),
        node('report', { inputs: ['file'] }),
      ],
      edges: [
        { source: 'probe', target: 'convert' },
        { source: 'probe', target: 'report' },
      ],
    };
    const problems = validateContracts(graph, (n) => n.contract);
    expect(problems).toEqual([
      { nodeId: 'convert', path: 'edges.0', message: '"probe" produces [quality_report] but "convert" accepts [hdf5]' },
    ]);
  });
});

describe('RuntimeGraphSchema', () => {
  test('applies defaults and rejects unknown executor types and bad configs with paths', () => {
    const ok = RuntimeGraphSchema.parse({
      nodes: [{ id: 'a', executorType: 'docker', executorConfig: { image: 'x', command: ['true'] } }],
    });
    expect(ok.nodes[0]).toMatchObject({
      executorConfig: { memoryMb: 256, network: false, taskQueue: 'default', pidsLimit: 128 },
    });
    expect(ok.settings).toEqual({ maxParallelism: 8, failFast: false });

    const bad = RuntimeGraphSchema.safeParse({
      nodes: [
        { id: 'a', executorType: 'lambda', executorConfig: {} },
        { id: 'b', executorType: 'docker', executorConfig: { memoryMb: -1 } },
      ],
    });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['nodes.0.executorType', 'nodes.1.executorConfig.memoryMb']));
  });
});
