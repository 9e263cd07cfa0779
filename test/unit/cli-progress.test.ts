import { painter, stripAnsi, visibleWidth } from '../../src/cli/emboflow/format';
import type { Io } from '../../src/cli/emboflow/io';
import { createDisplay, renderFrame, summaryLine } from '../../src/cli/emboflow/progress';
import { RunTracker } from '../../src/cli/emboflow/run-state';
import type { RunView, TaskView } from '../../src/cli/emboflow/run-state';

const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function tracker(tasks: Array<Partial<TaskView> & { nodeId: string }>, status = 'running'): RunTracker {
  const t = new RunTracker('run_1');
  const run: RunView = {
    id: 'run_1',
    status,
    startedAt: at(0),
    runtimeSnapshot: { nodes: tasks.map((x) => ({ id: x.nodeId })) },
  };
  t.snapshot(
    run,
    tasks.map((x) => ({ status: 'pending', attempt: 0, ...x })),
  );
  return t;
}

describe('RunTracker', () => {
  test('nodes keep the graph order; task events move them on; durations come from event times', () => {
    const t = tracker([{ nodeId: 'b' }, { nodeId: 'a' }]);
    expect([...t.nodes.keys()]).toEqual(['b', 'a']);
    expect(t.task({ nodeId: 'a', status: 'running', attempt: 1, at: at(1000) })).toBe(true);
    expect(t.elapsed(t.nodes.get('a')!, T0 + 1500)).toBe(500);
    t.task({ nodeId: 'a', status: 'failed', attempt: 1, at: at(3000), errorMessage: 'container exited with code 4' });
    expect(t.nodes.get('a')).toEqual(
      expect.objectContaining({ status: 'failed', durationMs: 2000, errorMessage: 'container exited with code 4' }),
    );
  });

  test('an event of an older attempt is stale; a repeated one changes nothing', () => {
    const t = tracker([{ nodeId: 'a', status: 'running', attempt: 2 }]);
    expect(t.task({ nodeId: 'a', status: 'failed', attempt: 1 })).toBe(false);
    expect(t.task({ nodeId: 'a', status: 'running', attempt: 2 })).toBe(false);
    expect(t.nodes.get('a')!.status).toBe('running');
  });

  test('a task reset by retry-task goes back to pending without its old times', () => {
    const t = tracker([
      { nodeId: 'a', status: 'failed', attempt: 1, startedAt: at(0), durationMs: 10, errorMessage: 'exit 4' },
    ]);
    t.task({ nodeId: 'a', status: 'pending', attempt: 1 });
    // toEqual treats the cleared (undefined) fields as absent
    expect(t.nodes.get('a')).toEqual({ nodeId: 'a', status: 'pending', attempt: 1 });
  });

  test('fill adds times and errors only where the API agrees on status and attempt', () => {
    const t = tracker([{ nodeId: 'a' }, { nodeId: 'b' }]);
    t.task({ nodeId: 'a', status: 'success', attempt: 1 });
    t.task({ nodeId: 'b', status: 'running', attempt: 2 });
    t.fill([
      { nodeId: 'a', status: 'success', attempt: 1, durationMs: 700 },
      { nodeId: 'b', status: 'queued', attempt: 1, errorMessage: 'older news' },
    ]);
    expect(t.nodes.get('a')).toMatchObject({ status: 'success', durationMs: 700 });
    expect(t.nodes.get('b')).toEqual({ nodeId: 'b', status: 'running', attempt: 2 });
  });

  test('log lines keep the last non-blank one; run events finish the run', () => {
    const t = tracker([{ nodeId: 'a' }]);
    t.log({ nodeId: 'a', stream: 'stdout', line: 'step 1' });
    t.log({ nodeId: 'a', stream: 'stdout', line: '   ' });
    expect(t.nodes.get('a')!.lastLog).toBe('step 1');
    t.run({ status: 'cancelled' }, T0 + 5000);
    expect(t.finished).toBe(true);
    expect(t.runElapsed(T0 + 9000)).toBe(5000);
  });
});

describe('renderFrame', () => {
  const opts = { now: T0 + 4000, width: 100, height: 30, tick: 0, paint: painter(false) };

  test('a header and one line per node with glyph, bar, status, attempt and duration', () => {
    const t = tracker([
      { nodeId: 'probe', status: 'success', attempt: 1, durationMs: 1200 },
      { nodeId: 'convert', status: 'running', attempt: 2, startedAt: at(1000) },
      { nodeId: 'report', status: 'pending', attempt: 0 },
      { nodeId: 'lint', status: 'failed', attempt: 1, durationMs: 50, errorMessage: 'exit 3' },
    ]);
    t.log({ nodeId: 'convert', stream: 'stdout', line: 'converting frame 12' });
    const lines = renderFrame(t, opts);
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe('run run_1  running  ██████████░░░░░░░░░░  2/4 tasks  4.0s');
    expect(lines[1]).toBe('  ✓ probe    ██████████  success    attempt 1      1.2s');
    expect(lines[2]).toBe('  ⠋ convert  █░░░░░░░░░  running    attempt 2      3.0s  converting frame 12');
    expect(lines[3]).toBe('  · report   ··········  pending                       ');
    expect(lines[4]).toBe('  ✗ lint     ██████████  failed     attempt 1      50ms  exit 3');
  });

  test('no line is wider than the terminal, colours included', () => {
    const t = tracker([
      { nodeId: 'a-very-long-node-identifier-indeed', status: 'failed', attempt: 1, errorMessage: 'x'.repeat(300) },
    ]);
    for (const width of [20, 40, 80]) {
      for (const line of renderFrame(t, { ...opts, width, paint: painter(true) }))
        expect(visibleWidth(line)).toBeLessThan(width);
    }
  });

  test('more nodes than rows: running and failed first, the rest summed up in one line', () => {
    const nodes = Array.from({ length: 30 }, (_, i) => ({
      nodeId: `n${i}`,
      status: i === 25 ? 'running' : i < 20 ? 'success' : 'pending',
      attempt: 1,
    }));
    const lines = renderFrame(tracker(nodes), { ...opts, height: 8 });
    expect(lines).toHaveLength(7);
    expect(lines[1]).toContain('n0 ');
    expect(lines.some((l) => l.includes('n25') && l.includes('running'))).toBe(true);
    expect(lines[6]).toBe('  … 25 more: 16 success, 9 pending');
  });

  test('summary line', () => {
    const t = tracker([{ nodeId: 'a', status: 'success', attempt: 1 }], 'success');
    t.finishedAtMs = T0 + 7000;
    expect(summaryLine(t, T0 + 9000)).toBe('run run_1 success in 7.0s: 1 success');
  });
});

function fakeIo(isTTY: boolean) {
  const writes: string[] = [];
  const io = {
    stdout: { write: (s: string) => writes.push(s), isTTY, columns: 80, rows: 24 },
    stderr: { write: () => undefined },
    env: {},
  } as unknown as Io;
  return { io, writes };
}

describe('displays', () => {
  afterEach(() => jest.useRealTimers());

  test('on a terminal each redraw moves up over the previous frame and rewrites its lines', () => {
    jest.useFakeTimers({ now: T0 + 1000 });
    const { io, writes } = fakeIo(true);
    const t = tracker([{ nodeId: 'a', status: 'running', attempt: 1, startedAt: at(0) }, { nodeId: 'b' }]);
    const display = createDisplay(io, t);
    expect(writes).toEqual(['\x1b[?25l']);
    jest.advanceTimersByTime(100);
    expect(writes[1]).not.toContain('\x1b[3A');
    expect(stripAnsi(writes[1]!).split('\n')).toHaveLength(4);
    t.task({ nodeId: 'a', status: 'success', attempt: 1, at: at(1050) });
    jest.advanceTimersByTime(100);
    expect(writes[2]!.startsWith('\r\x1b[3A\x1b[2K')).toBe(true);
    expect(stripAnsi(writes[2]!)).toContain('✓ a');
    display.finish();
    expect(writes.slice(-2).join('')).toContain('\x1b[?25h');
    expect(stripAnsi(writes[writes.length - 1]!)).toMatch(/^run run_1 running/);
    const before = writes.length;
    jest.advanceTimersByTime(1000);
    expect(writes).toHaveLength(before);
  });

  test('elsewhere only changes are printed, one line each, and pending nodes are not announced', () => {
    const { io, writes } = fakeIo(false);
    const t = tracker([{ nodeId: 'a' }, { nodeId: 'bb' }]);
    const display = createDisplay(io, t);
    display.update();
    t.task({ nodeId: 'a', status: 'running', attempt: 1, at: at(0) });
    display.update();
    display.update();
    t.task({ nodeId: 'a', status: 'success', attempt: 1, at: at(1500) });
    t.run({ status: 'success' });
    display.finish();
    const lines = writes
      .join('')
      .trimEnd()
      .split('\n')
      .map((l) => l.replace(/^\d\d:\d\d:\d\d /, ''));
    expect(lines).toEqual([
      'run run_1 running (2 tasks)',
      'a   running (attempt 1)',
      'run run_1 success (2 tasks)',
      'a   success (attempt 1) in 1.5s',
      expect.stringMatching(/^run run_1 success in .*: 1 success, 1 pending$/),
    ]);
  });

  test('a finished attempt waits for its duration, and is printed without one only at the end', () => {
    const { io, writes } = fakeIo(false);
    const t = tracker([{ nodeId: 'a' }, { nodeId: 'b' }]);
    const display = createDisplay(io, t);
    t.task({ nodeId: 'a', status: 'success', attempt: 1 });
    t.task({ nodeId: 'b', status: 'failed', attempt: 1 });
    display.update();
    expect(writes.join('')).not.toMatch(/ (a|b) /);
    t.fill([{ nodeId: 'a', status: 'success', attempt: 1, durationMs: 250 }]);
    display.update();
    expect(writes.join('')).toMatch(/ a {2}success \(attempt 1\) in 250ms\n$/);
    display.finish();
    expect(writes.join('')).toMatch(/ b {2}failed \(attempt 1\)\n/);
  });

  test('a running approval node says which command decides it', () => {
    const { io, writes } = fakeIo(false);
    const t = new RunTracker('run_1');
    t.snapshot(
      { id: 'run_1', status: 'running', runtimeSnapshot: { nodes: [{ id: 'review', executorType: 'approval' }] } },
      [{ nodeId: 'review', status: 'running', attempt: 1 }],
    );
    createDisplay(io, t).update();
    expect(writes.join('')).toContain(
      'review  running (attempt 1) — waiting for approval: emboflow run approve run_1 review --approve|--reject',
    );
    expect(renderFrame(t, { now: T0, width: 200, height: 10, tick: 0, paint: painter(false) })[1]).toContain(
      'waiting for approval: emboflow run approve run_1 review',
    );
  });

  test('TERM=dumb gets the line display even on a terminal', () => {
    const { io, writes } = fakeIo(true);
    (io as { env: Record<string, string> }).env = { TERM: 'dumb' };
    createDisplay(io, tracker([{ nodeId: 'a' }])).update();
    expect(writes.join('')).not.toContain('\x1b[');
  });
});
