// The live view of a file transfer, on stderr (stdout keeps the result, --json included). On a terminal: one line
// redrawn in place, with a bar, the rate and the time left. Elsewhere (CI logs, pipes): a line every few seconds.
import { formatDuration, painter, truncate } from './format';
import type { Paint } from './format';
import type { Io, Output } from './io';

export interface TransferDisplay {
  /** A new stage (hashing, uploading, verifying) over `total` bytes; 0 when its size is unknown. */
  phase(label: string, total: number, done?: number): void;
  /** Bytes of the current stage done so far. */
  update(done: number): void;
  /** Leaves the terminal as it was found; safe to call more than once. */
  stop(): void;
}

const BAR = 24;
const REDRAW_MS = 100;
/** Off a terminal, a progress line at most this often. */
export const LOG_EVERY_MS = 5_000;

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `512 B`, `1.5 KiB`, `64.0 MiB`, `2.00 GiB`: three significant digits past the first unit. */
export function formatBytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${n} B`;
  return `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${UNITS[unit]}`;
}

export interface TransferState {
  label: string;
  done: number;
  total: number;
  /** Bytes already done when the stage started (parts a resumed upload had sent): not counted in the rate. */
  base: number;
  elapsedMs: number;
}

/** Bytes per second over the stage so far, or undefined before there is anything to measure. */
function rate(s: TransferState): number | undefined {
  const moved = s.done - s.base;
  return s.elapsedMs >= 500 && moved > 0 ? (moved * 1000) / s.elapsedMs : undefined;
}

/** The line's text with its bar painted, or cut plain when it does not fit (a cut would split escape sequences). */
function fitLine(label: string, bar: string, color: 'green' | 'yellow', rest: string[], width: number, paint: Paint) {
  const plain = [label, bar, ...rest].join('  ');
  const cut = truncate(plain, width);
  if (cut !== plain) return cut;
  const filled = bar.replace(/░+$/, '');
  const painted = `${paint(color, filled)}${paint('gray', bar.slice(filled.length))}`;
  return [label, painted, ...rest].join('  ');
}

/** `uploading  ██████░░░░  42%  860 MiB / 2.00 GiB  95.3 MiB/s  12s left`, cut to `width` columns. */
export function renderTransferLine(s: TransferState, width: number, paint: Paint, tick = 0): string {
  if (!s.total) {
    // Work of unknown size (the API checking the file): a block sliding along the bar, and the time so far.
    const head = tick % BAR;
    const bar = Array.from({ length: BAR }, (_, i) => (i === head ? '█' : '░')).join('');
    return fitLine(s.label, bar, 'yellow', [formatDuration(s.elapsedMs)], width, paint);
  }
  const fraction = Math.min(1, s.done / s.total);
  const filled = Math.round(fraction * BAR);
  const perSecond = rate(s);
  const left = perSecond && s.done < s.total ? formatDuration(((s.total - s.done) * 1000) / perSecond) : '';
  const rest = [
    `${String(Math.floor(fraction * 100)).padStart(3)}%`,
    `${formatBytes(s.done)} / ${formatBytes(s.total)}`,
    ...(perSecond ? [`${formatBytes(perSecond)}/s`] : []),
    ...(left ? [`${left} left`] : []),
  ];
  return fitLine(s.label, '█'.repeat(filled) + '░'.repeat(BAR - filled), 'green', rest, width, paint);
}

/** `12:00:05 uploading 860 MiB of 2.00 GiB (42%), 95.3 MiB/s` */
export function renderTransferLog(s: TransferState, at: Date): string {
  const perSecond = rate(s);
  const amount = s.total
    ? `${formatBytes(s.done)} of ${formatBytes(s.total)} (${Math.floor((s.done / s.total) * 100)}%)`
    : `for ${formatDuration(s.elapsedMs) || '0ms'}`;
  return `${at.toISOString().slice(11, 19)} ${s.label} ${amount}${perSecond ? `, ${formatBytes(perSecond)}/s` : ''}`;
}

abstract class BaseDisplay implements TransferDisplay {
  protected state: TransferState | undefined;
  private started = 0;

  constructor(protected readonly now: () => number) {}

  phase(label: string, total: number, done = 0): void {
    if (this.state) this.endPhase(this.current()!);
    this.started = this.now();
    this.state = { label, total, done, base: done, elapsedMs: 0 };
    this.startPhase(this.state);
  }

  update(done: number): void {
    if (!this.state) return;
    this.state.done = done;
    this.progressed(this.current()!);
  }

  stop(): void {
    if (this.state) this.endPhase(this.current()!);
    this.state = undefined;
    this.cleanUp();
  }

  /** The stage as of now. */
  protected current(): TransferState | undefined {
    if (this.state) this.state.elapsedMs = this.now() - this.started;
    return this.state;
  }

  protected abstract startPhase(s: TransferState): void;
  protected abstract progressed(s: TransferState): void;
  protected abstract endPhase(s: TransferState): void;
  protected cleanUp(): void {}
}

/** A line per stage, redrawn in place until the stage ends; finished stages stay on screen above. */
class TerminalTransfer extends BaseDisplay {
  private readonly timer: NodeJS.Timeout;
  private tick = 0;
  private readonly paint: Paint;

  constructor(
    private readonly out: Output,
    color: boolean,
    now: () => number,
  ) {
    super(now);
    this.paint = painter(color);
    this.timer = setInterval(() => {
      this.tick++;
      const s = this.current();
      if (s) this.draw(s);
    }, REDRAW_MS);
  }

  protected startPhase(s: TransferState): void {
    this.draw(s);
  }

  protected progressed(): void {
    // the timer redraws within REDRAW_MS; drawing on every chunk would flood the terminal
  }

  protected endPhase(s: TransferState): void {
    this.draw(s);
    this.out.write('\n');
  }

  protected override cleanUp(): void {
    clearInterval(this.timer);
  }

  private draw(s: TransferState): void {
    const width = Math.max(20, (this.out.columns || 80) - 1);
    this.out.write(`\r\x1b[2K${renderTransferLine(s, width, this.paint, this.tick)}`);
  }
}

/** A line when a stage starts, every LOG_EVERY_MS while it runs, and when it ends. */
class LogTransfer extends BaseDisplay {
  private lastAt = 0;
  private lastDone = -1;

  constructor(
    private readonly out: Output,
    now: () => number,
  ) {
    super(now);
  }

  protected startPhase(s: TransferState): void {
    this.print(s);
  }

  protected progressed(s: TransferState): void {
    if (this.now() - this.lastAt >= LOG_EVERY_MS) this.print(s);
  }

  protected endPhase(s: TransferState): void {
    if (s.done !== this.lastDone) this.print(s);
  }

  private print(s: TransferState): void {
    this.lastAt = this.now();
    this.lastDone = s.done;
    this.out.write(`${renderTransferLog(s, new Date(this.lastAt))}\n`);
  }
}

const SILENT: TransferDisplay = { phase() {}, update() {}, stop() {} };

export function createTransferDisplay(io: Io, opts: { silent?: boolean; now?: () => number } = {}): TransferDisplay {
  if (opts.silent) return SILENT;
  const now = opts.now ?? Date.now;
  if (io.stderr.isTTY && io.env.TERM !== 'dumb') return new TerminalTransfer(io.stderr, !io.env.NO_COLOR, now);
  return new LogTransfer(io.stderr, now);
}
