// Typed params (a run's params checked against the version's declaration, defaults applied, the JSON Schema) and
// templates (parsed and checked at version creation with their positions, rendered from plain data).
import { declarationProblems, paramsJsonSchema, resolveParams } from '../../src/dag/params';
import { parseTemplate, renderTemplate, templateProblems } from '../../src/dag/template';
import type { TemplateValues } from '../../src/dag/template';
import type { ParamsDeclaration } from '../../src/domain/params';
import { RuntimeGraphSchema } from '../../src/domain/runtime-graph';

const declared: ParamsDeclaration = {
  threshold: { type: 'number', required: false, default: 0.5 },
  episodes: { type: 'integer', required: true },
  mode: { type: 'enum', required: false, values: ['fast', 'full'], default: 'fast' },
  tags: { type: 'array', required: false, items: 'string' },
  dry: { type: 'boolean', required: false },
  extra: { type: 'object', required: false },
  label: { type: 'string', required: false },
};

describe('params', () => {
  test('defaults fill what a run leaves out; given values are kept', () => {
    expect(resolveParams(declared, { episodes: 3, tags: ['a'] })).toEqual({
      params: { episodes: 3, tags: ['a'], threshold: 0.5, mode: 'fast' },
      problems: [],
    });
  });

  test.each([
    [{ episodes: 2.5 }, 'params.episodes', 'must be an integer'],
    [{ episodes: '3' }, 'params.episodes', 'must be an integer'],
    [{ episodes: 1, threshold: 'high' }, 'params.threshold', 'must be a number'],
    [{ episodes: 1, mode: 'slow' }, 'params.mode', 'must be one of ["fast","full"]'],
    [{ episodes: 1, tags: ['a', 2] }, 'params.tags', 'element 1 must be a string'],
    [{ episodes: 1, dry: 'yes' }, 'params.dry', 'must be a boolean'],
    [{ episodes: 1, extra: [1] }, 'params.extra', 'must be an object'],
    [{ episodes: 1, label: 7 }, 'params.label', 'must be a string'],
    [{ episodes: 1, other: 1 }, 'params.other', 'not a param of this version'],
    [{}, 'params.episodes', 'required, and it has no default'],
  ])('%j is refused at %s', (given, field, message) => {
    const { problems } = resolveParams(declared, given);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.field).toBe(field);
    expect(problems[0]!.message).toContain(message);
  });

  test('a version that declares nothing passes params on as they are', () => {
    expect(resolveParams(undefined, { anything: [1] })).toEqual({ params: { anything: [1] }, problems: [] });
  });

  test('declarations that cannot work are problems at version creation', () => {
    expect(
      declarationProblems({
        a: { type: 'integer', required: false, default: 'x' },
        b: { type: 'enum', required: false },
        c: { type: 'string', required: false, values: ['x'] },
        d: { type: 'string', required: false, items: 'string' },
      }).map((p) => p.path),
    ).toEqual(['params.a.default', 'params.b.values', 'params.c.values', 'params.d.items']);
    expect(declarationProblems(declared)).toEqual([]);
  });

  test('the JSON Schema states types, enums, defaults and what is required', () => {
    expect(paramsJsonSchema(declared)).toMatchObject({
      type: 'object',
      additionalProperties: false,
      required: ['episodes'],
      properties: {
        threshold: { type: 'number', default: 0.5 },
        episodes: { type: 'integer' },
        mode: { enum: ['fast', 'full'], default: 'fast' },
        tags: { type: 'array', items: { type: 'string' } },
      },
    });
  });
});

describe('templates', () => {
  const values: TemplateValues = {
    params: { threshold: 0.5, name: 'ep 1', list: [1, 2] },
    inputs: { probe: { stats: { count: 42 }, files: ['a.h5', 'b.h5'] } },
    run: { id: 'run_1', workflowId: 'wfl_1', versionNumber: 3, triggeredBy: 'usr_1' },
    item: { path: 'x/y.h5' },
  };

  test('renders strings as they are and other values as JSON', () => {
    expect(renderTemplate('--t={{params.threshold}} --n={{ params.name }}', values)).toBe('--t=0.5 --n=ep 1');
    expect(renderTemplate('{{params.list}}', values)).toBe('[1,2]');
    expect(renderTemplate('{{inputs.probe.stats.count}} {{inputs.probe.files.1}}', values)).toBe('42 b.h5');
    expect(renderTemplate('{{run.id}}/{{item.path}}', values)).toBe('run_1/x/y.h5');
    expect(renderTemplate('no templates here: ${HOME}', values)).toBe('no templates here: ${HOME}');
  });

  test('a reference with no value, or a malformed one, says where', () => {
    expect(() => renderTemplate('x {{inputs.probe.nope}}', values)).toThrow(
      expect.objectContaining({ at: 2, message: '{{inputs.probe.nope}} has no value in this run' }),
    );
    expect(() => parseTemplate('ab {{params.x')).toThrow(expect.objectContaining({ at: 3 }));
    expect(() => parseTemplate('{{process.env.HOME}}')).toThrow(/not a template reference/);
    expect(() => parseTemplate('{{params.a b}}')).toThrow(/each part of a path/);
    // Never code: an expression is not a path.
    expect(() => parseTemplate('{{params.x + 1}}')).toThrow();
  });

  test('version creation finds unknown params, non-upstream inputs and item outside a map, with positions', () => {
    const graph = RuntimeGraphSchema.parse({
      params: { threshold: { type: 'number', default: 0.5 } },
      nodes: [
        { id: 'probe', executorType: 'docker', executorConfig: { image: 'x', command: ['probe'] } },
        { id: 'other', executorType: 'docker', executorConfig: { image: 'x' } },
        {
          id: 'qa',
          executorType: 'docker',
          executorConfig: {
            image: 'x',
            command: ['qa', '--t={{params.threshold}}', '--x={{params.typo}}', '{{inputs.other.n}}', '{{item}}'],
            env: { COUNT: '{{inputs.probe.count}}', BAD: '{{run.secret}}' },
          },
        },
      ],
      edges: [{ source: 'probe', target: 'qa' }],
    });
    expect(templateProblems(graph)).toEqual([
      {
        nodeId: 'qa',
        path: 'nodes.2.executorConfig.command.2',
        message: 'at character 4: params.typo is not a declared param',
      },
      {
        nodeId: 'qa',
        path: 'nodes.2.executorConfig.command.3',
        message: 'at character 0: inputs.other: other is not an upstream node of this node',
      },
      {
        nodeId: 'qa',
        path: 'nodes.2.executorConfig.command.4',
        message: 'at character 0: "item" is only known in a map node',
      },
      {
        nodeId: 'qa',
        path: 'nodes.2.executorConfig.env.BAD',
        message: expect.stringContaining('run.secret is not one of run.id'),
      },
    ]);
  });
});
