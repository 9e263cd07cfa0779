// Pure rules of the platform services: secret sealing, expression checks on graphs, what free-form JSON may hold,
// slugs.
import { CreateStorageConnectionBody } from '../../src/domain/catalog';
import { findUnstorable, JsonObjectSchema } from '../../src/domain/common';
import { RuntimeGraphSchema } from '../../src/domain/runtime-graph';
import { slugify } from '../../src/services/common';
import { SecretBox, SecretKeyMissingError } from '../../src/services/secrets';
import { expressionProblems } from '../../src/services/workflows';

describe('SecretBox', () => {
  const box = new SecretBox('a-test-key-that-is-long-enough-123456');

  it('round-trips a secret bound to its associated data, with a fresh IV each time', () => {
    const a = box.seal('hunter2', 'secret_1|wsp_1');
    const b = box.seal('hunter2', 'secret_1|wsp_1');
    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect(a.iv).not.toBe(b.iv);
    expect(box.open(a, 'secret_1|wsp_1')).toBe('hunter2');
    expect(Buffer.from(a.ciphertext, 'base64').toString('utf8')).not.toContain('hunter2');
  });

  it('refuses other associated data, another key and tampered ciphertext', () => {
    const sealed = box.seal('hunter2', 'secret_1|wsp_1');
    expect(() => box.open(sealed, 'secret_1|wsp_2')).toThrow();
    expect(() => new SecretBox('another-key-that-is-long-enough-99999').open(sealed, 'secret_1|wsp_1')).toThrow();
    const flipped = Buffer.from(sealed.ciphertext, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => box.open({ ...sealed, ciphertext: flipped.toString('base64') }, 'secret_1|wsp_1')).toThrow();
  });

  it('derives the same key in every process from the same setting', () => {
    const sealed = box.seal('shared', 'aad');
    expect(new SecretBox('a-test-key-that-is-long-enough-123456').open(sealed, 'aad')).toBe('shared');
  });

  it('cannot seal without a key', () => {
    const none = new SecretBox(undefined);
    expect(none.available).toBe(false);
    expect(() => none.seal('x', 'aad')).toThrow(SecretKeyMissingError);
  });
});

describe('expressionProblems', () => {
  const graph = (expression: string, condition: string) =>
    RuntimeGraphSchema.parse({
      nodes: [
        { id: 'a', executorType: 'builtin', executorConfig: { op: 'noop' } },
        { id: 'sign-off', executorType: 'approval' },
        { id: 'route', executorType: 'decision', executorConfig: { expression } },
        { id: 't', executorType: 'timer', executorConfig: { seconds: 1 } },
      ],
      edges: [
        { source: 'a', target: 'sign-off' },
        { source: 'sign-off', target: 'route', condition },
        { source: 'route', target: 't' },
      ],
    });

  it('names every decision expression and edge condition that does not parse, at its path', () => {
    expect(expressionProblems(graph('result.rows >', "outcome == 'approved"))).toEqual([
      {
        nodeId: 'route',
        path: 'nodes.2.executorConfig.expression',
        message: 'expression: unexpected end of expression at position 13',
      },
      { nodeId: 'route', path: 'edges.1.condition', message: 'condition: unterminated string at position 11' },
    ]);
  });

  it('has nothing to say about approval, decision and timer nodes whose expressions parse', () => {
    expect(expressionProblems(graph('result.rows > 100', "outcome == 'approved'"))).toEqual([]);
  });
});

describe('free-form JSON', () => {
  it.each([
    [{ 'a.b': 1 }, ['a.b'], 'keys may not contain "."'],
    [{ a: [[1]] }, ['a', 0], 'arrays directly inside arrays cannot be stored; wrap each inner array in an object'],
    [{ a: { b: [{ c: Infinity }] } }, ['a', 'b', 0, 'c'], 'numbers must be finite'],
    [{ $set: 1 }, ['$set'], 'keys may not start with "$"'],
  ])('refuses %j at %j', (value, path, message) => {
    expect(findUnstorable(value)).toEqual({ path, message });
    const parsed = JsonObjectSchema.safeParse(value);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(path);
  });

  it('accepts what every server stores', () => {
    expect(
      JsonObjectSchema.parse({ a: [{ b: [1, 'x', null] }], '': true, nested: { deep: { ok: 1.5 } } }),
    ).toBeTruthy();
  });

  it('keeps credential-looking keys out of storage-connection config, wherever they are nested', () => {
    const parsed = CreateStorageConnectionBody.safeParse({
      type: 'object_storage',
      provider: 's3',
      name: 'n',
      config: { s3: { accessKeyId: 'x' } },
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['config', 's3', 'accessKeyId']);
  });
});

describe('slugify', () => {
  it.each([
    ['My Flow', 'my-flow'],
    ['  Épisode  QA — v2 ', 'episode-qa-v2'],
    ['!!!', 'fallback'],
    ['x'.repeat(100), 'x'.repeat(48)],
  ])('%s → %s', (name, slug) => {
    expect(slugify(name, 'fallback')).toBe(slug);
  });
});
