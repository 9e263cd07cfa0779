import { parseYaml, YamlError } from '../../src/cli/emboflow/yaml';

const yaml = (lines: string[]) => parseYaml(lines.join('\n'));

function errorOf(source: string): YamlError {
  try {
    parseYaml(source);
  } catch (err) {
    if (err instanceof YamlError) return err;
    throw err;
  }
  throw new Error('expected a YamlError');
}

describe('block mappings and sequences', () => {
  test('a workflow file parses to the same value as its JSON', () => {
    const doc = yaml([
      '# Episode QA',
      'name: Episode QA',
      'slug: episode-qa',
      'runtimeGraph:',
      '  nodes:',
      '    - id: probe',
      '      executorType: docker',
      '      executorConfig:',
      '        image: emboflow/tools:local',
      "        command: ['sh', '-c', 'echo hi > /emboflow/outputs/a.txt']",
      '        memoryMb: 64',
      '    - id: report',
      '      executorType: docker',
      '      executorConfig: {image: emboflow/tools:local, command: [sh, -c, "cat /emboflow/inputs/probe/a.txt"]}',
      '  edges:',
      '    - {source: probe, target: report}',
    ]);
    expect(doc).toEqual({
      name: 'Episode QA',
      slug: 'episode-qa',
      runtimeGraph: {
        nodes: [
          {
            id: 'probe',
            executorType: 'docker',
            executorConfig: {
              image: 'emboflow/tools:local',
              command: ['sh', '-c', 'echo hi > /emboflow/outputs/a.txt'],
              memoryMb: 64,
            },
          },
          {
            id: 'report',
            executorType: 'docker',
            executorConfig: {
              image: 'emboflow/tools:local',
              command: ['sh', '-c', 'cat /emboflow/inputs/probe/a.txt'],
            },
          },
        ],
        edges: [{ source: 'probe', target: 'report' }],
      },
    });
  });

  test('a sequence may sit at the indentation of its key', () => {
    expect(yaml(['items:', '- a', '- b', 'after: 1'])).toEqual({ items: ['a', 'b'], after: 1 });
  });

  test('an item mapping continues on lines indented to its first key, however far the dash is followed', () => {
    expect(yaml(['-   a: 1', '    b: 2', '- c: 3'])).toEqual([{ a: 1, b: 2 }, { c: 3 }]);
  });

  test('nested sequences on one dash line and on the next line', () => {
    expect(yaml(['- - a', '  - b', '-', '  - c'])).toEqual([['a', 'b'], ['c']]);
  });

  test('empty values are null; an empty document is null', () => {
    expect(yaml(['a:', 'b: ~', 'c: null', 'list:', '  -', '  - x'])).toEqual({
      a: null,
      b: null,
      c: null,
      list: [null, 'x'],
    });
    expect(parseYaml('')).toBeNull();
    expect(parseYaml('# only a comment\n\n')).toBeNull();
  });

  test('a value on the line after its key', () => {
    expect(yaml(['key:', '  value'])).toEqual({ key: 'value' });
  });

  test('document markers, CRLF line ends and a BOM are accepted', () => {
    expect(parseYaml('\uFEFF---\r\na: 1\r\n...\r\n')).toEqual({ a: 1 });
  });

  test('blank lines and comments between entries, including deeper-indented comments', () => {
    expect(yaml(['a: 1', '', '      # stray comment', 'b:', '', '  c: 2   # trailing'])).toEqual({ a: 1, b: { c: 2 } });
  });

  test('quoted keys, and a key that is not a string in YAML is a string here', () => {
    expect(yaml(['"a b": 1', "'c:d': 2", '3: three', 'true: yes'])).toEqual({
      'a b': 1,
      'c:d': 2,
      '3': 'three',
      true: 'yes',
    });
  });

  test('__proto__ is an ordinary key, not a prototype change', () => {
    const doc = yaml(['__proto__:', '  polluted: 1']) as Record<string, unknown>;
    expect(Object.getPrototypeOf(doc)).toBe(Object.prototype);
    expect(Object.keys(doc)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('scalars', () => {
  test.each([
    ['42', 42],
    ['-7', -7],
    ['+3', 3],
    ['0o17', 15],
    ['0x1F', 31],
    ['3.25', 3.25],
    ['.5', 0.5],
    ['1e3', 1000],
    ['-2.5E-1', -0.25],
    ['true', true],
    ['False', false],
    ['NULL', null],
    ['~', null],
    ['yes', 'yes'],
    ['1_000', '1_000'],
    ['0.1.2', '0.1.2'],
    ['emboflow/tools:local', 'emboflow/tools:local'],
    ['http://example.com/a#b', 'http://example.com/a#b'],
    ["it's", "it's"],
    ['a - b', 'a - b'],
  ])('plain %s', (text, value) => {
    expect(parseYaml(`v: ${text}`)).toEqual({ v: value });
  });

  test('quoted strings stay strings and keep what would be comments', () => {
    expect(yaml(['a: "42"', "b: 'true'", 'c: "x # not a comment"', "d: 'it''s'", 'e: ""', "f: ''"])).toEqual({
      a: '42',
      b: 'true',
      c: 'x # not a comment',
      d: "it's",
      e: '',
      f: '',
    });
  });

  test('double-quoted escapes', () => {
    expect(parseYaml('v: "tab\\tnl\\nq\\"bs\\\\u\\u00e9x\\x41U\\U0001F600sl\\/"')).toEqual({
      v: 'tab\tnl\nq"bs\\u\u00e9xAU\u{1F600}sl/',
    });
  });

  test('single quotes keep backslashes', () => {
    expect(parseYaml("v: 'C:\\path\\n'")).toEqual({ v: 'C:\\path\\n' });
  });

  test('a comment needs a blank before the #', () => {
    expect(yaml(['a: x#y', 'b: x #y'])).toEqual({ a: 'x#y', b: 'x' });
  });
});

describe('block scalars', () => {
  const script = ['run: |', '  echo one', '    indented', '', '  echo two', 'next: 1'];

  test('literal keeps lines and one final newline', () => {
    expect(yaml(script)).toEqual({ run: 'echo one\n  indented\n\necho two\n', next: 1 });
  });

  test('strip (-) drops the final newlines, keep (+) keeps them all', () => {
    expect(yaml(['a: |-', '  x', '', 'b: 1'])).toEqual({ a: 'x', b: 1 });
    expect(yaml(['a: |+', '  x', '', '', 'b: 1'])).toEqual({ a: 'x\n\n\n', b: 1 });
  });

  test('folded joins lines with spaces; blank and more-indented lines keep their breaks', () => {
    expect(yaml(['a: >', '  one', '  two', '', '  three', '    code', '  four'])).toEqual({
      a: 'one two\nthree\n  code\nfour\n',
    });
  });

  test('in a sequence item, with # lines kept as content', () => {
    expect(yaml(['- sh', '- -c', '- |', '  # not a comment', '  echo "a: b"', '- last'])).toEqual([
      'sh',
      '-c',
      '# not a comment\necho "a: b"\n',
      'last',
    ]);
  });

  test('an empty block scalar is an empty string', () => {
    expect(yaml(['a: |', 'b: 1'])).toEqual({ a: '', b: 1 });
  });

  test('an indentation indicator lets the content start with spaces, with chomping on either side', () => {
    expect(yaml(['- |2-', '    x', '  y', '- >-1', '  z'])).toEqual(['  x\ny', ' z']);
    expect(yaml(['a:', '  b: |+2', '      x', '  c: 1'])).toEqual({ a: { b: '  x\n', c: 1 } });
  });

  test('keep (+) at the end of the file counts the blank lines, not the final line break', () => {
    expect(parseYaml('a: |+\n  x\n\n')).toEqual({ a: 'x\n\n' });
    expect(parseYaml('a: |\n  x')).toEqual({ a: 'x\n' });
  });

  test('a document that is one block scalar', () => {
    expect(parseYaml('|\n  text\n')).toBe('text\n');
  });

  test('a header may carry a comment', () => {
    expect(yaml(['a: | # the script', '  x'])).toEqual({ a: 'x\n' });
  });
});

describe('flow collections', () => {
  test('nested, with quoted commas and brackets, and a trailing comma', () => {
    expect(parseYaml('v: [a, "b, c", [1, 2], {k: v, "q": [x]}, \'[d]\', ]')).toEqual({
      v: ['a', 'b, c', [1, 2], { k: 'v', q: ['x'] }, '[d]'],
    });
  });

  test('empty collections, and a missing value is null', () => {
    expect(parseYaml('a: []\nb: {}\nc: {k: , j: 1}')).toEqual({ a: [], b: {}, c: { k: null, j: 1 } });
  });

  test('a URL inside a flow sequence is one scalar', () => {
    expect(parseYaml('v: [http://a:80/x, b]')).toEqual({ v: ['http://a:80/x', 'b'] });
  });

  test('a top-level flow collection', () => {
    expect(parseYaml('{a: 1, b: [true]}')).toEqual({ a: 1, b: [true] });
  });
});

describe('refusals name the line', () => {
  test.each([
    ['a: 1\n\tb: 2', 2, /tabs/],
    ['a: &x 1', 1, /anchors/],
    ['a: *x', 1, /aliases/],
    ['a: !!str 1', 1, /tags/],
    ['%YAML 1.2\n---\na: 1', 1, /directives/],
    ['? a\n: b', 1, /complex keys/],
    ['a: 1\na: 2', 2, /duplicate key "a"/],
    ['a: [1, 2', 1, /unclosed \[/],
    ['a: {k: 1', 1, /unclosed \{/],
    ['a: "open', 1, /unterminated/],
    ['a: b: c', 1, /mapping cannot start/],
    ['a: - b', 1, /sequence cannot start/],
    ['a: 1\n  b: 2', 2, /unexpected indentation/],
    ['a:\n  b: 1\n - c', 3, /fit the structure|unexpected indentation/],
    ['a: 1\n- b', 2, /sequence item cannot appear/],
    ['a: 1\n---\nb: 2', 2, /one document/],
    ['a: |0\n  x', 1, /block scalar header/],
    ['a: |\n    x\n  y', 3, /indented at least/],
    ['a: "\\q"', 1, /unknown escape/],
    ['a: [b: c]', 1, /inside \[ \]/],
    ['key\nother', 2, /fit the structure/],
  ])('%j', (source, line, message) => {
    const err = errorOf(source);
    expect(err.line).toBe(line);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(new RegExp(`^line ${line}: `));
  });
});
