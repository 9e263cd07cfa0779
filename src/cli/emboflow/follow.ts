// Following a run live: GET /v1/runs/:runId/events (Server-Sent Events), resumed with Last-Event-ID when the
// connection drops; polling instead when the API has no events endpoint (404) or keeps dropping it.
import type { ApiClient } from '../../client/api-client';
import type { LogEvent, TaskEvent } from './run-state';
import { readSse } from './sse';
import type { SseEvent } from './sse';

export type RunEvent =
  | { type: 'task'; data: TaskEvent }
  | { type: 'log'; data: LogEvent }
  | { type: 'run'; data: { status: string; errorMessage?: string } }
  | { type: 'end'; data: unknown };

export interface FollowHandlers {
  /** An event arrived; answer true when following is over. */
  onEvent(event: RunEvent): boolean;
  /** Reads the API's current state; answers true when following is over. Called on every poll. */
  check(): Promise<boolean>;
  /** An event stream opened. The API replays a run's events from its start on every connection. */
  onConnect?(): void;
  /** Called once when the events endpoint is missing and polling takes over. */
  onPolling?(): void;
}

export interface FollowOptions {
  pollMs?: number;
  /** Without any event for this long, check() runs, so a stream that went quiet cannot hang the CLI. */
  idleCheckMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export type FollowMode = 'events' | 'polling';

const MAX_RECONNECTS = 5;
const EVENT_TYPES = new Set(['task', 'log', 'run', 'end']);

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The typed event of an SSE message, or undefined for other types and data that is not JSON. */
export function toRunEvent(e: SseEvent): RunEvent | undefined {
  if (!EVENT_TYPES.has(e.type)) return undefined;
  if (e.type === 'end') return { type: 'end', data: undefined };
  try {
    const data = JSON.parse(e.data) as unknown;
    if (!data || typeof data !== 'object') return undefined;
    return { type: e.type, data } as RunEvent;
  } catch {
    return undefined;
  }
}

/** Answers how the run was followed: 'polling' means no live events (and so no live log lines) were had. */
export async function followRun(
  client: ApiClient,
  runId: string,
  handlers: FollowHandlers,
  opts: FollowOptions = {},
): Promise<FollowMode> {
  const { pollMs = 500, idleCheckMs = 10_000, sleep = defaultSleep } = opts;
  const path = `/v1/runs/${encodeURIComponent(runId)}/events`;
  let lastEventId: string | undefined;
  let drops = 0;

  const poll = async (): Promise<FollowMode> => {
    handlers.onPolling?.();
    while (!(await handlers.check())) await sleep(pollMs);
    return 'polling';
  };

  for (;;) {
    let res: Response | undefined;
    try {
      res = await client.raw('GET', path, undefined, {
        Accept: 'text/event-stream',
        ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}),
      });
    } catch {
      res = undefined; // the connection failed: handled like a dropped stream below
    }
    if (res && (res.status === 404 || (res.ok && !res.headers.get('content-type')?.includes('text/event-stream')))) {
      await res.body?.cancel();
      return poll();
    }
    // A refusal (401, 403, 400...) will not get better by reconnecting: it is the command's error.
    if (res && !res.ok && res.status !== 429 && res.status < 500) await client.ensureOk(res, 'GET', path);

    let over = false;
    if (res?.ok && res.body) {
      handlers.onConnect?.();
      const stream = readSse(res.body);
      let lastActivity = Date.now();
      const idle = setInterval(
        () => {
          if (Date.now() - lastActivity < idleCheckMs) return;
          lastActivity = Date.now();
          handlers.check().then(
            (done) => {
              if (done) {
                over = true;
                stream.close();
              }
            },
            () => undefined,
          );
        },
        Math.min(idleCheckMs, 1000),
      );
      try {
        for await (const sse of stream.events) {
          lastActivity = Date.now();
          drops = 0;
          const event = toRunEvent(sse);
          if (event && (handlers.onEvent(event) || event.type === 'end')) {
            over = true;
            break;
          }
        }
      } catch {
        // the connection broke mid-stream: handled like a dropped stream below
      } finally {
        clearInterval(idle);
        stream.close();
      }
      lastEventId = stream.parser.lastEventId || lastEventId;
    } else {
      await res?.body?.cancel();
    }
    if (over || (await handlers.check())) return 'events';
    if (++drops >= MAX_RECONNECTS) return poll();
    await sleep(Math.min(250 * 2 ** drops, 5000));
  }
}
