// A run's live events (GET /v1/runs/:runId/events): task status changes, log lines, the run's status, then end.
// Polls the mirror (change streams are not portable to MongoDB-compatible servers) and sends what changed since
// the last poll. Transport-free: the API hands it a sink that writes Server-Sent Events.
import type { ExecutionLogRepository } from '../db/execution-logs';
import type { RunStore } from '../db/runs';
import { TERMINAL_RUN_STATUSES } from '../domain/run';
import type { WorkflowRunDoc } from '../domain/run';

/** A stream closes after this long even if the run has not finished; clients reconnect. */
const STREAM_MAX_MS = 60 * 60_000;
/** Lines from several workers arrive slightly out of time order: each poll re-reads this much before the cursor. */
const LOG_WINDOW_MS = 5_000;
const LOG_LINES_PER_POLL = 2000;
const KEEP_ALIVE_MS = 15_000;

/**
 * Where a stream is: the newest task change and the newest log line it has sent (mirror times, ms), and, for each
 * attempt whose lines may still arrive late, the last of its lines sent. Every event's id carries it, so a client
 * that reconnects with Last-Event-ID gets only what changed after it: tasks updated at or after that time (a change
 * in that very millisecond may come twice, never not at all), and each line once. Lines are not skipped by time:
 * an attempt writes its lines in batches every couple of seconds, so another attempt's newer line can be sent
 * before its older ones exist; its own lines reach the database in order, so the last one sent says which it had.
 */
export interface StreamCursor {
  tasksMs: number;
  logsMs: number;
  /** `<node index>-<attempt>` → the `seq` of that attempt's last line sent. */
  lines: Map<string, number>;
}

/** Attempts a cursor names at most; past that the oldest are left out, and a resume may send their lines again. */
const CURSOR_ATTEMPTS_MAX = 256;

export const STREAM_CURSOR_FORMAT = '<taskMs>.<logMs>[.<node>-<attempt>-<seq>_…]';
export const STREAM_CURSOR = new RegExp(
  `^(\\d{1,15})\\.(\\d{1,15})(?:\\.(\\d{1,6}-\\d{1,9}-\\d{1,9}(?:_\\d{1,6}-\\d{1,9}-\\d{1,9}){0,${CURSOR_ATTEMPTS_MAX - 1}}))?$`,
);

/** Parses a Last-Event-ID this stream sent; undefined when it is not one. */
export function parseStreamCursor(id: string): StreamCursor | undefined {
  const m = STREAM_CURSOR.exec(id);
  if (!m) return undefined;
  const lines = new Map<string, number>();
  for (const entry of m[3]?.split('_') ?? []) {
    const cut = entry.lastIndexOf('-');
    lines.set(entry.slice(0, cut), Number(entry.slice(cut + 1)));
  }
  return { tasksMs: Number(m[1]), logsMs: Number(m[2]), lines };
}

export interface EventSink {
  send(id: string, event: string, data: unknown): void;
  keepAlive(): void;
  readonly closed: boolean;
}

export class RunEventStream {
  constructor(
    private readonly runs: RunStore,
    private readonly logs: Pick<ExecutionLogRepository, 'readWindow'>,
  ) {}

  /** Sends events until the run ends, the client leaves, or the stream's time is up. */
  async stream(
    run: Pick<WorkflowRunDoc, '_id' | 'runtimeSnapshot'>,
    sink: EventSink,
    pollMs: number,
    resume?: StreamCursor,
  ): Promise<void> {
    let tasksCursor = resume?.tasksMs ?? 0;
    let logCursor = resume?.logsMs ?? 0;
    const resumed = resume?.lines ?? new Map<string, number>();
    /** Per attempt with lines in the window: the last line sent (its seq) and the newest line time sent. */
    const lastLines = new Map([...resumed].map(([k, seq]) => [k, { seq, at: logCursor }]));
    let linesPart = '';
    const send = (event: string, data: unknown) => sink.send(`${tasksCursor}.${logCursor}${linesPart}`, event, data);
    const nodeIds = run.runtimeSnapshot.nodes.map((n) => n.id);
    const order = new Map(nodeIds.map((id, i) => [id, i]));
    const taskSeen = new Map<string, string>();
    const logSeen = new Map<string, number>();
    let runStatus = '';
    let lastWrite = Date.now();
    const deadline = Date.now() + STREAM_MAX_MS;
    while (!sink.closed && Date.now() < deadline) {
      // Lines first: a task's last lines go out before the status that ends it.
      const lines = await this.logs.readWindow(run._id, new Date(logCursor - LOG_WINDOW_MS), LOG_LINES_PER_POLL);
      for (const l of lines) {
        if (logSeen.has(l._id)) continue;
        const at = l.createdAt.getTime();
        logSeen.set(l._id, at);
        const index = order.get(l.nodeId);
        if (index === undefined) {
          // A map item's line (its task is not a graph node): resumed by time, as the cursor names graph nodes only.
          if (resume && at < resume.logsMs) continue;
          logCursor = Math.max(logCursor, at);
        } else {
          const attemptKey = `${index}-${l.attempt}`;
          if (l.seq <= (resumed.get(attemptKey) ?? -1)) continue;
          logCursor = Math.max(logCursor, at);
          const last = lastLines.get(attemptKey);
          lastLines.set(attemptKey, { seq: Math.max(last?.seq ?? -1, l.seq), at: Math.max(last?.at ?? 0, at) });
          linesPart = cursorLines(lastLines);
        }
        send('log', { nodeId: l.nodeId, attempt: l.attempt, stream: l.stream, line: l.line, at: l.createdAt });
      }
      for (const [id, at] of logSeen) if (at < logCursor - 2 * LOG_WINDOW_MS) logSeen.delete(id);
      // An attempt with no line in the window has none left to arrive late: the cursor no longer needs it.
      for (const [k, last] of lastLines) if (last.at < logCursor - LOG_WINDOW_MS) lastLines.delete(k);
      linesPart = cursorLines(lastLines);
      const tasks = await this.runs.listTasks(run._id, nodeIds, {
        nodeId: 1,
        status: 1,
        attempt: 1,
        generation: 1,
        errorMessage: 1,
        updatedAt: 1,
        startedAt: 1,
        finishedAt: 1,
        durationMs: 1,
        summary: 1,
      });
      tasks.sort((a, b) => (order.get(a.nodeId) ?? 0) - (order.get(b.nodeId) ?? 0));
      for (const t of tasks) {
        // A map node's item progress is a change too.
        const items = mapItems(t.summary);
        const key = `${t.status}|${t.attempt}|${t.generation}|${items ? `${items.done}/${items.failed}/${items.total}` : ''}`;
        if (taskSeen.get(t.nodeId) === key) continue;
        taskSeen.set(t.nodeId, key);
        const updatedMs = t.updatedAt?.getTime() ?? 0;
        if (resume && updatedMs < resume.tasksMs) continue;
        tasksCursor = Math.max(tasksCursor, updatedMs);
        send('task', {
          nodeId: t.nodeId,
          status: t.status,
          attempt: t.attempt,
          generation: t.generation,
          ...(t.errorMessage ? { errorMessage: t.errorMessage } : {}),
          ...(t.startedAt ? { startedAt: t.startedAt } : {}),
          ...(t.finishedAt ? { finishedAt: t.finishedAt, durationMs: t.durationMs } : {}),
          ...(items ? { items } : {}),
          at: t.updatedAt,
        });
      }
      const current = await this.runs.getRunStatus(run._id);
      if (!current) break;
      if (current.status !== runStatus) {
        runStatus = current.status;
        send('run', { status: runStatus });
      }
      if (TERMINAL_RUN_STATUSES.includes(current.status)) {
        send('end', { status: current.status, summary: current.summary });
        break;
      }
      if (Date.now() - lastWrite > KEEP_ALIVE_MS) {
        sink.keepAlive();
        lastWrite = Date.now();
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}

/** The cursor's per-attempt part (`.<node>-<attempt>-<seq>_…`, the newest attempts when there are too many). */
function cursorLines(lastLines: Map<string, { seq: number; at: number }>): string {
  if (!lastLines.size) return '';
  const entries = [...lastLines].sort((a, b) => b[1].at - a[1].at).slice(0, CURSOR_ATTEMPTS_MAX);
  return `.${entries.map(([k, { seq }]) => `${k}-${seq}`).join('_')}`;
}

/** A map node's item counts, as its task's summary carries them. */
function mapItems(
  summary: Record<string, unknown> | undefined,
): { total: number; succeeded: number; failed: number; done: number } | undefined {
  const items = summary?.items as { total?: unknown } | undefined;
  return items && typeof items.total === 'number'
    ? (items as { total: number; succeeded: number; failed: number; done: number })
    : undefined;
}
