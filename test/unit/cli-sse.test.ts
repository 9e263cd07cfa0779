import { readSse, SseParser } from '../../src/cli/emboflow/sse';
import type { SseEvent } from '../../src/cli/emboflow/sse';

const STREAM = [
  ': connected',
  'id: 1',
  'event: task',
  'data: {"nodeId":"probe","status":"running","attempt":1}',
  '',
  'id: 2',
  'event: log',
  'data: {"nodeId":"probe","stream":"stdout","line":"héllo wörld ✓ 😀"}',
  '',
  ': keep-alive',
  '',
  'data: first',
  'data:second',
  'data',
  '',
  'event: end',
  'data: {}',
  '',
  '',
].join('\n');

const EXPECTED: SseEvent[] = [
  { type: 'task', data: '{"nodeId":"probe","status":"running","attempt":1}', id: '1' },
  { type: 'log', data: '{"nodeId":"probe","stream":"stdout","line":"héllo wörld ✓ 😀"}', id: '2' },
  { type: 'message', data: 'first\nsecond\n', id: '2' },
  { type: 'end', data: '{}', id: '2' },
];

function parseChunks(chunks: Array<Uint8Array | string>): SseEvent[] {
  const parser = new SseParser();
  return [...chunks.flatMap((c) => parser.push(c)), ...parser.end()];
}

describe('SseParser', () => {
  const bytes = new TextEncoder().encode(STREAM);

  test('a whole stream gives its events in order', () => {
    expect(parseChunks([bytes])).toEqual(EXPECTED);
  });

  test('split into two chunks at every byte, including inside multi-byte characters', () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(parseChunks([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(EXPECTED);
    }
  });

  test('one byte at a time', () => {
    expect(parseChunks([...bytes].map((b) => Uint8Array.of(b)))).toEqual(EXPECTED);
  });

  test('CRLF and CR line ends, with a CRLF split between chunks', () => {
    const crlf = STREAM.replace(/\n/g, '\r\n');
    for (let cut = 0; cut <= crlf.length; cut++) {
      expect(parseChunks([crlf.slice(0, cut), crlf.slice(cut)])).toEqual(EXPECTED);
    }
    expect(parseChunks([STREAM.replace(/\n/g, '\r')])).toEqual(EXPECTED);
  });

  test('a leading BOM is dropped, even when its bytes arrive apart', () => {
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('data: x\n\n')]);
    expect(parseChunks([withBom.subarray(0, 1), withBom.subarray(1, 2), withBom.subarray(2)])).toEqual([
      { type: 'message', data: 'x' },
    ]);
  });

  test('an event without its blank line at the end of the stream is discarded', () => {
    expect(parseChunks(['data: done\n\n', 'event: task\ndata: half'])).toEqual([{ type: 'message', data: 'done' }]);
  });

  test('only one space after the colon is removed; unknown fields and data-less events are ignored', () => {
    expect(parseChunks(['data:  two spaces\nfoo: bar\n\nevent: nothing\n\n'])).toEqual([
      { type: 'message', data: ' two spaces' },
    ]);
  });

  test('retry sets the reconnection delay; an id with NUL is ignored', () => {
    const parser = new SseParser();
    parser.push('retry: 2500\nid: a\0b\ndata: x\n\n');
    expect(parser.retryMs).toBe(2500);
    expect(parser.lastEventId).toBe('');
  });
});

describe('readSse', () => {
  function body(chunks: string[]): ReadableStream<Uint8Array> {
    const encoder = new TextEncoder();
    return new ReadableStream({
      start(controller) {
        for (const c of chunks) controller.enqueue(encoder.encode(c));
        controller.close();
      },
    });
  }

  test('iterates the events of a body', async () => {
    const seen: string[] = [];
    for await (const e of readSse(body(['event: a\nda', 'ta: 1\n\nevent: b\ndata: 2\n\n'])).events)
      seen.push(`${e.type}=${e.data}`);
    expect(seen).toEqual(['a=1', 'b=2']);
  });

  test('close() ends a read that is waiting for data', async () => {
    const stream = readSse(new ReadableStream<Uint8Array>({ start() {} }));
    const iterator = stream.events[Symbol.asyncIterator]();
    const next = iterator.next();
    stream.close();
    await expect(next).resolves.toEqual({ done: true, value: undefined });
  });
});
