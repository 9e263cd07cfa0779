// The live view of a run. On a terminal: one line per node, redrawn in place. Elsewhere (CI logs, pipes): a line
// for each change only, so the output reads as a log.
import { formatDuration, painter, STATUS_COLORS, truncate } from './format';
import type { Color, Paint } from './format';
import type { Io, Output } from './io';
import { isTerminalTask } from './run-state';
import type { NodeState, RunTracker } from './run-state';

export interface Display {
  /** The tracker changed. */
  update(): void;
  /** The run is over and the tracker holds its final state: draws it and the summary. */
  finish(): void;
  /** Leaves the terminal as it was found (cursor shown); safe to call more than once. */
  stop(): void;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const GLYPHS: Record<string, string> = {
  pending: '·',
  queued: '○',
  success: '✓',
  failed: '✗',
  cancelled: '⊘',
  skipped: '↷',
};
const NODE_BAR = 10;
const RUN_BAR = 20;
const REDRAW_MS = 100;

interface Segment {
  text: string;
  color?: Color;
}

/** Segments cut to `width` columns, then painted (cutting painted text would split escape sequences). */
function fit(segments: Segment[], width: number, paint: Paint): string {
  let room = width;
  let out = '';
  for (const s of segments) {
    if (room <= 0) break;
    const text = truncate(s.text, room);
    room -= [...text].length;
    out += s.color ? paint(s.color, text) : text;
  }
  return out;
}

function nodeBar(n: NodeState, tick: number): Segment {
  if (n.status === 'running') {
    const head = (tick % (NODE_BAR + 2)) - 2; // a 3-wide block sliding across, entering from the left
    const text = Array.from({ length: NODE_BAR }, (_, i) => (i >= head && i < head + 3 ? '█' : '░')).join('');
    return { text, color: 'yellow' };
  }
  if (n.status === 'skipped') return { text: '─'.repeat(NODE_BAR), color: 'gray' };
  if (isTerminalTask(n.status)) return { text: '█'.repeat(NODE_BAR), color: STATUS_COLORS[n.status] };
  return { text: '·'.repeat(NODE_BAR), color: STATUS_COLORS[n.status] ?? 'gray' };
}

export function glyph(status: string, tick: number): string {
  return status === 'running' ? SPINNER[tick % SPINNER.length]! : (GLYPHS[status] ?? '?');
}

/** The nodes that fit in `rows`: running and failed ones first, shown in graph order. */
function visibleNodes(nodes: NodeState[], rows: number): { shown: NodeState[]; hidden: NodeState[] } {
  if (nodes.length <= rows) return { shown: nodes, hidden: [] };
  const rank = (n: NodeState) =>
    n.status === 'running' ? 0 : n.status === 'failed' ? 1 : n.status === 'queued' ? 2 : 3;
  const chosen = new Set(
    nodes
      .map((n, i) => ({ n, i }))
      .sort((a, b) => rank(a.n) - rank(b.n) || a.i - b.i)
      .slice(0, Math.max(1, rows - 1))
      .map((x) => x.n),
  );
  return { shown: nodes.filter((n) => chosen.has(n)), hidden: nodes.filter((n) => !chosen.has(n)) };
}

export interface FrameOptions {
  now: number;
  width: number;
  height: number;
  tick: number;
  paint: Paint;
}

/** The lines of one redraw: the run's header, then a line per node (as many as the terminal has rows for). */
export function renderFrame(t: RunTracker, o: FrameOptions): string[] {
  const nodes = [...t.nodes.values()];
  const counts = t.counts();
  const done = nodes.filter((n) => isTerminalTask(n.status)).length;
  const filled = nodes.length ? Math.round((done / nodes.length) * RUN_BAR) : 0;
  const width = Math.max(1, o.width - 1);
  const lines = [
    fit(
      [
        { text: 'run ', color: 'bold' },
        { text: `${t.runId}  ` },
        { text: t.status, color: STATUS_COLORS[t.status] ?? 'bold' },
        { text: '  ' },
        { text: '█'.repeat(filled), color: t.status === 'failed' ? 'red' : 'green' },
        { text: '░'.repeat(RUN_BAR - filled), color: 'gray' },
        { text: `  ${done}/${nodes.length} tasks  ${formatDuration(t.runElapsed(o.now))}` },
      ],
      width,
      o.paint,
    ),
  ];
  const idWidth = Math.min(24, Math.max(4, ...nodes.map((n) => n.nodeId.length)));
  const { shown, hidden } = visibleNodes(nodes, Math.max(2, o.height - 2));
  for (const n of shown) {
    const color = STATUS_COLORS[n.status];
    const note = t.waitingForApproval(n)
      ? `waiting for approval: emboflow run approve ${t.runId} ${n.nodeId} --approve|--reject`
      : n.status === 'running'
        ? (t.itemsNote(n) ?? n.lastLog)
        : isTerminalTask(n.status)
          ? [t.itemsNote(n), n.errorMessage].filter(Boolean).join(' — ') || undefined
          : undefined;
    lines.push(
      fit(
        [
          { text: `  ${glyph(n.status, o.tick)} `, color },
          { text: truncate(n.nodeId, idWidth).padEnd(idWidth) + '  ' },
          nodeBar(n, o.tick),
          { text: '  ' },
          { text: n.status.padEnd(9), color },
          { text: `  ${(n.attempt > 0 ? `attempt ${n.attempt}` : '').padEnd(10)}  ` },
          { text: formatDuration(t.elapsed(n, o.now)).padStart(7) },
          ...(note ? [{ text: `  ${note}`, color: n.status === 'failed' ? ('red' as const) : ('gray' as const) }] : []),
        ],
        width,
        o.paint,
      ),
    );
  }
  if (hidden.length) {
    const byStatus = Object.entries(counts)
      .map(([status]) => [status, hidden.filter((n) => n.status === status).length] as const)
      .filter(([, c]) => c > 0)
      .map(([status, c]) => `${c} ${status}`);
    lines.push(fit([{ text: `  … ${hidden.length} more: ${byStatus.join(', ')}`, color: 'gray' }], width, o.paint));
  }
  return lines;
}

/** `run run_x success in 12.3s: 3 success` (and the run's error, if it has one). */
export function summaryLine(t: RunTracker, now: number): string {
  const counts = Object.entries(t.counts())
    .map(([status, c]) => `${c} ${status}`)
    .join(', ');
  const took = formatDuration(t.runElapsed(now));
  return `run ${t.runId} ${t.status}${took ? ` in ${took}` : ''}: ${counts || 'no tasks'}${t.errorMessage ? ` — ${t.errorMessage}` : ''}`;
}

class TerminalDisplay implements Display {
  private drawn = 0;
  private tick = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly paint: Paint;

  constructor(
    private readonly out: Output,
    private readonly tracker: RunTracker,
    color: boolean,
  ) {
    this.paint = painter(color);
    this.out.write('\x1b[?25l');
    this.timer = setInterval(() => {
      this.tick++;
      this.draw();
    }, REDRAW_MS);
  }

  update(): void {
    // the timer redraws within REDRAW_MS; drawing on every event would flood the terminal with log events
  }

  finish(): void {
    this.draw();
    this.stop();
    this.out.write(`${summaryLine(this.tracker, Date.now())}\n`);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.out.write('\x1b[?25h');
  }

  /** Moves up over the previous frame and rewrites each line; \x1b[J clears what a shorter frame leaves. */
  private draw(): void {
    if (this.stopped) return;
    const lines = renderFrame(this.tracker, {
      now: Date.now(),
      // A pseudo-terminal nobody sized reports 0 x 0.
      width: this.out.columns || 80,
      height: this.out.rows || 24,
      tick: this.tick,
      paint: this.paint,
    });
    const up = this.drawn ? `\r\x1b[${this.drawn}A` : '';
    this.out.write(`${up}${lines.map((l) => `\x1b[2K${l}\n`).join('')}\x1b[J`);
    this.drawn = lines.length;
  }
}

class LogDisplay implements Display {
  private readonly printed = new Map<string, string>();
  private runStatus: string | undefined;

  constructor(
    private readonly out: Output,
    private readonly tracker: RunTracker,
  ) {}

  update(final = false): void {
    const t = this.tracker;
    if (t.status !== this.runStatus) {
      this.runStatus = t.status;
      this.line(`run ${t.runId} ${t.status} (${t.nodes.size} tasks)`);
    }
    const width = Math.max(0, ...[...t.nodes.keys()].map((k) => k.length));
    for (const n of t.nodes.values()) {
      const items = t.itemsNote(n);
      const key = `${n.status}#${n.attempt}#${items ?? ''}`;
      const before = this.printed.get(n.nodeId);
      if (before === key || (before === undefined && n.status === 'pending')) continue;
      const took = isTerminalTask(n.status) ? formatDuration(t.elapsed(n, Date.now())) : '';
      // A finished attempt is printed with its duration, which the API supplies a moment after the event.
      if (!took && isTerminalTask(n.status) && n.attempt > 0 && !final) continue;
      this.printed.set(n.nodeId, key);
      const note = t.waitingForApproval(n)
        ? ` — waiting for approval: emboflow run approve ${t.runId} ${n.nodeId} --approve|--reject`
        : isTerminalTask(n.status) && n.errorMessage
          ? ` — ${n.errorMessage}`
          : '';
      const progress = items ? ` (${items})` : '';
      this.line(
        `${n.nodeId.padEnd(width)}  ${n.status}${n.attempt > 0 ? ` (attempt ${n.attempt})` : ''}${took ? ` in ${took}` : ''}${progress}${note}`,
      );
    }
  }

  finish(): void {
    this.update(true);
    this.out.write(`${summaryLine(this.tracker, Date.now())}\n`);
  }

  stop(): void {}

  private line(text: string): void {
    this.out.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
  }
}

const SILENT: Display = { update() {}, finish() {}, stop() {} };

export function createDisplay(io: Io, tracker: RunTracker, opts: { silent?: boolean } = {}): Display {
  if (opts.silent) return SILENT;
  if (io.stdout.isTTY && io.env.TERM !== 'dumb') return new TerminalDisplay(io.stdout, tracker, !io.env.NO_COLOR);
  return new LogDisplay(io.stdout, tracker);
}
