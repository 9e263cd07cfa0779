import { followRun, toRunEvent } from '../../src/cli/emboflow/follow';
import type { RunEvent } from '../../src/cli/emboflow/follow';
import { ApiClient, ApiClientError } from '../../src/client/api-client';

/** A body that sends `chunks` and then ends (or stays open when `hang`). */
function sse(chunks: string[], opts: { hang?: boolean; status?: number; type?: string } = {}): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      if (!opts.hang) controller.close();
    },
  });
  return new Response(body, {
    status: opts.status ?? 200,
    headers: { 'content-type': opts.type ?? 'text/event-stream; charset=utf-8' },
  });
}

const task = (id: number, nodeId: string, status: string) =>
  `id: ${id}\nevent: task\ndata: ${JSON.stringify({ nodeId, status, attempt: 1, at: '2025-01-01T00:00:00Z' })}\n\n`;

function setup(responses: Array<() => Response | Promise<Response>>) {
  const client = new ApiClient('http://api.test', 'efk_x');
  const raw = jest.spyOn(client, 'raw').mockImplementation(async () => {
    const next = responses.shift();
    if (!next) throw new Error('no more responses');
    return next();
  });
  const events: RunEvent[] = [];
  const sleeps: number[] = [];
  return { client, raw, events, sleeps, sleep: async (ms: number) => void sleeps.push(ms) };
}

test('events are handed over in order until end; the API is not polled', async () => {
  const s = setup([
    () =>
      sse([
        ': hello\n\n',
        task(1, 'a', 'running'),
        task(2, 'a', 'success'),
        'id: 3\nevent: end\ndata: {"status":"success"}\n\n',
      ]),
  ]);
  const check = jest.fn(async () => false);
  const onEvent = (e: RunEvent) => {
    s.events.push(e);
    return false;
  };
  const mode = await followRun(s.client, 'run_1', { onEvent, check }, { sleep: s.sleep });
  expect(mode).toBe('events');
  expect(s.events.map((e) => `${e.type}${e.type === 'task' ? `:${e.data.status}` : ''}`)).toEqual([
    'task:running',
    'task:success',
    'end',
  ]);
  expect(check).not.toHaveBeenCalled();
  expect(s.raw).toHaveBeenCalledWith('GET', '/v1/runs/run_1/events', undefined, { Accept: 'text/event-stream' });
});

test('onEvent answering true stops following at once, even while the stream stays open', async () => {
  const s = setup([() => sse([task(1, 'a', 'running'), task(2, 'a', 'success')], { hang: true })]);
  const mode = await followRun(s.client, 'run_1', {
    onEvent: (e) => e.type === 'task' && e.data.status === 'success',
    check: async () => false,
  });
  expect(mode).toBe('events');
});

test('a 404 (no events endpoint) falls back to polling check() every pollMs until it answers true', async () => {
  const s = setup([
    () => new Response(JSON.stringify({ error: { code: 'not_found', message: 'no route' } }), { status: 404 }),
  ]);
  let polls = 0;
  const onPolling = jest.fn();
  const mode = await followRun(
    s.client,
    'run_1',
    { onEvent: () => false, check: async () => ++polls === 3, onPolling },
    { sleep: s.sleep, pollMs: 500 },
  );
  expect(mode).toBe('polling');
  expect(polls).toBe(3);
  expect(s.sleeps).toEqual([500, 500]);
  expect(onPolling).toHaveBeenCalledTimes(1);
});

test('an answer that is not an event stream is treated like a missing endpoint', async () => {
  const s = setup([() => sse(['{}'], { type: 'application/json' })]);
  expect(
    await followRun(s.client, 'run_1', { onEvent: () => false, check: async () => true }, { sleep: s.sleep }),
  ).toBe('polling');
});

test('a dropped stream is checked, then resumed with Last-Event-ID after a back-off', async () => {
  const s = setup([
    () => sse([task(7, 'a', 'running')]),
    () => Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } })),
    () => sse(['event: end\ndata: {}\n\n']),
  ]);
  const onConnect = jest.fn();
  const check = jest.fn(async () => false);
  const mode = await followRun(s.client, 'run_1', { onEvent: () => false, check, onConnect }, { sleep: s.sleep });
  expect(mode).toBe('events');
  expect(check).toHaveBeenCalledTimes(2);
  expect(onConnect).toHaveBeenCalledTimes(2);
  expect(s.sleeps).toEqual([500, 1000]);
  expect(s.raw.mock.calls[1]![3]).toEqual({ Accept: 'text/event-stream', 'Last-Event-ID': '7' });
});

test('a dropped stream of a run that has finished ends following', async () => {
  const s = setup([() => sse([task(1, 'a', 'running')])]);
  expect(
    await followRun(s.client, 'run_1', { onEvent: () => false, check: async () => true }, { sleep: s.sleep }),
  ).toBe('events');
  expect(s.raw).toHaveBeenCalledTimes(1);
});

test('after five drops in a row it polls instead', async () => {
  const s = setup(Array.from({ length: 5 }, () => () => sse([])));
  let checks = 0;
  const mode = await followRun(
    s.client,
    'run_1',
    { onEvent: () => false, check: async () => ++checks > 6 },
    { sleep: s.sleep },
  );
  expect(mode).toBe('polling');
  expect(s.raw).toHaveBeenCalledTimes(5);
});

test('a quiet stream is checked on the idle timer, and closed when the run has finished', async () => {
  const s = setup([() => sse([': open\n\n'], { hang: true })]);
  const mode = await followRun(
    s.client,
    'run_1',
    { onEvent: () => false, check: async () => true },
    { idleCheckMs: 20 },
  );
  expect(mode).toBe('events');
});

test('an authorization failure is thrown, not retried', async () => {
  const s = setup([
    () =>
      new Response(JSON.stringify({ error: { code: 'unauthorized', message: 'a valid API key is required' } }), {
        status: 401,
      }),
  ]);
  await expect(followRun(s.client, 'run_1', { onEvent: () => false, check: async () => false })).rejects.toEqual(
    new ApiClientError(401, 'unauthorized', 'a valid API key is required'),
  );
});

test('toRunEvent keeps the four event types with JSON data', () => {
  expect(toRunEvent({ type: 'run', data: '{"status":"running"}' })).toEqual({
    type: 'run',
    data: { status: 'running' },
  });
  expect(toRunEvent({ type: 'end', data: 'whatever' })).toEqual({ type: 'end', data: undefined });
  expect(toRunEvent({ type: 'message', data: '{}' })).toBeUndefined();
  expect(toRunEvent({ type: 'task', data: 'not json' })).toBeUndefined();
  expect(toRunEvent({ type: 'task', data: '3' })).toBeUndefined();
});
