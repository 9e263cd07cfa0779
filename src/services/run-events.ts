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
 * Where a stream is: the newest task change and the newest log line it has sent (mirror times, ms). Every event's
 * id carries it, so a client that reconnects with Last-Event-ID gets only what changed after it: tasks updated
 * and lines written at or after those times (a change in that very millisecond may come twice, never not at all).
 */
export interface StreamCursor {
  tasksMs: number;
  logsMs: number;
}

export const STREAM_CURSOR_FORMAT = '<taskMs>.<logMs>';
export const STREAM_CURSOR = /^(\d{1,15})\.(\d{1,15})$/;

/** Parses a Last-Event-ID this stream sent; undefined when it is not one. */
export function parseStreamCursor(id: string): StreamCursor | undefined {
  const m = STREAM_CURSOR.exec(id);
  return m ? { tasksMs: Number(m[1]), logsMs: Number(m[2]) } : undefined;
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
    const send = (event: string, data: unknown) => sink.send(`${tasksCursor}.${logCursor}`, event, data);
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
        logSeen.set(l._id, l.createdAt.getTime());
        if (resume && l.createdAt.getTime() < resume.logsMs) continue;
        logCursor = Math.max(logCursor, l.createdAt.getTime());
        send('log', { nodeId: l.nodeId, attempt: l.attempt, stream: l.stream, line: l.line, at: l.createdAt });
      }
      for (const [id, at] of logSeen) if (at < logCursor - 2 * LOG_WINDOW_MS) logSeen.delete(id);
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

/** A map node's item counts, as its task's summary carries them. */
function mapItems(
  summary: Record<string, unknown> | undefined,
): { total: number; succeeded: number; failed: number; done: number } | undefined {
  const items = summary?.items as { total?: unknown } | undefined;
  return items && typeof items.total === 'number'
    ? (items as { total: number; succeeded: number; failed: number; done: number })
    : undefined;
}
