import type { RunStore } from '../../src/db/runs';
import type { ExecutionLogDoc } from '../../src/domain/execution';
import { parseStreamCursor, RunEventStream, STREAM_CURSOR } from '../../src/services/run-events';

interface Sent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

/** A run of nodes a and b whose log lines the test makes visible when it wants, and whose end it decides. */
function fixture() {
  const visible: ExecutionLogDoc[] = [];
  let status = 'running';
  const runs = {
    listTasks: async () => [],
    getRunStatus: async () => ({ _id: 'run_1', status, summary: {} }),
  } as unknown as RunStore;
  const logs = {
    readWindow: async (_runId: string, since: Date) =>
      visible
        .filter((l) => l.createdAt >= since)
        .sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime() || x.seq - y.seq),
  };
  const line = (nodeId: string, seq: number, at: number): ExecutionLogDoc => ({
    _id: `log_${nodeId}${seq}`,
    workspaceId: 'wsp_1',
    runId: 'run_1',
    nodeId,
    attempt: 1,
    seq,
    stream: 'stdout',
    line: `${nodeId}${seq}`,
    createdAt: new Date(at),
  });
  const stream = new RunEventStream(runs, logs);
  const run = { _id: 'run_1', runtimeSnapshot: { nodes: [{ id: 'a' }, { id: 'b' }] } } as never;
  /** Reads the stream until `stopAfter` says so (the client goes away) or it ends. */
  const read = async (stopAfter: (e: Sent) => boolean, lastEventId?: string) => {
    const sent: Sent[] = [];
    const sink = {
      closed: false,
      send(id: string, event: string, data: unknown) {
        const e = { id, event, data: data as Record<string, unknown> };
        sent.push(e);
        if (stopAfter(e)) sink.closed = true;
      },
      keepAlive() {},
    };
    await stream.stream(run, sink, 1, lastEventId === undefined ? undefined : parseStreamCursor(lastEventId));
    return sent;
  };
  return { visible, line, read, end: () => (status = 'success') };
}

test("a resumed stream sends a line that reached the database after a newer line of another node's was sent", async () => {
  const f = fixture();
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  f.visible.push(f.line('a', 0, t0), f.line('a', 1, t0 + 3000));
  // The client leaves after the first poll: it has a0 and a1, the newest line at t0 + 3 s.
  const first = await f.read((e) => e.event === 'run');
  expect(first.filter((e) => e.event === 'log').map((e) => e.data.line)).toEqual(['a0', 'a1']);
  // b's batch lands only now, with a line older than the cursor.
  f.visible.push(f.line('b', 0, t0 + 2000), f.line('a', 2, t0 + 4000));
  f.end();
  const resumed = await f.read(() => false, first.at(-1)!.id);
  expect(resumed.filter((e) => e.event === 'log').map((e) => e.data.line)).toEqual(['b0', 'a2']);
  expect(resumed.at(-1)!.event).toBe('end');
});

test('stream ids are cursors Last-Event-ID accepts back, with or without per-attempt lines', () => {
  expect(parseStreamCursor('12.34')).toEqual({ tasksMs: 12, logsMs: 34, lines: new Map() });
  expect(parseStreamCursor('12.34.0-1-7_3-2-0')).toEqual({
    tasksMs: 12,
    logsMs: 34,
    lines: new Map([
      ['0-1', 7],
      ['3-2', 0],
    ]),
  });
  expect(STREAM_CURSOR.test('12.34.0-1')).toBe(false);
  expect(STREAM_CURSOR.test('12;drop')).toBe(false);
});
