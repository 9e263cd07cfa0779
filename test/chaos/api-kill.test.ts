// The API process killed under a live events client: the client reconnects to the restarted API with Last-Event-ID
// and, put together, what it received before and after is the run's whole stream — nothing lost, and nothing twice
// but a task change in the resume cursor's own millisecond (src/services/run-events.ts).
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { TestApp } from '../support/app';
import { chaosFixture } from '../support/chaos';
import { seedWorkflow } from '../support/engine';
import { sh, startRun, tasksOf, until, waitForRun } from '../support/runs';
import { spawnApi, spawnWorker, stopWorker } from '../support/worker-process';

let t: TestApp;
let key: string;
let scope: { workspaceId: string; projectId: string };
let env: NodeJS.ProcessEnv;
let worker: ChildProcess | undefined;
let api: ChildProcess | undefined;

beforeAll(async () => {
  ({ t, key, scope, env } = await chaosFixture());
});
afterAll(async () => {
  if (api) await stopWorker(api, 'SIGKILL');
  if (worker) await stopWorker(worker, 'SIGKILL');
  await t?.close();
});

const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SseEvent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

/** A free loopback port, for an API process to listen on. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function startApi(port: number): Promise<ChildProcess> {
  const child = spawnApi(t.config, port);
  await until(
    'the API process to be ready',
    async () => {
      if (child.exitCode !== null) throw new Error(`the API process exited (${child.exitCode})`);
      return fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    60_000,
  );
  return child;
}

/**
 * Reads a run's event stream, handing each event to `onEvent`, until the stream ends (after `end`) or the
 * connection breaks; resolves either way.
 */
async function readEvents(
  port: number,
  runId: string,
  onEvent: (e: SseEvent) => void,
  lastEventId?: string,
): Promise<'ended' | 'broken'> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/runs/${runId}/events?pollMs=200`, {
    headers: { Authorization: `Bearer ${key}`, ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) },
  });
  if (res.status !== 200) throw new Error(`events: ${res.status} ${await res.text()}`);
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let sep: number;
      while ((sep = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, sep);
        buffer = buffer.slice(sep + 2);
        const fields = new Map<string, string>();
        for (const line of frame.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          fields.set(line.slice(0, colon), line.slice(colon + 1).replace(/^ /, ''));
        }
        if (!fields.has('event')) continue;
        onEvent({ id: fields.get('id')!, event: fields.get('event')!, data: JSON.parse(fields.get('data')!) });
      }
    }
    return 'ended';
  } catch {
    return 'broken';
  }
}

/** What makes an event itself (not its place in a stream): its kind and its data. */
const identity = (e: SseEvent) => `${e.event} ${JSON.stringify(e.data)}`;
const cursor = (id: string) => id.split('.').slice(0, 2).map(Number) as [number, number];

test('a client reconnecting with Last-Event-ID after the API is SIGKILLed mid-run loses no event', async () => {
  const port = await freePort();
  api = await startApi(port);
  worker = spawnWorker(env);
  // Log lines all along, from two nodes printing side by side: b starts about a second after a, so their lines
  // reach the database in batches out of step (each attempt writes its lines every couple of seconds).
  const talk = (id: string) =>
    sh(id, `for i in $(seq 1 25); do echo ${id}-line-$i; sleep 0.2; done`, { cache: { enabled: false } });
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [talk('a'), sh('wait', 'sleep 1', { cache: { enabled: false } }), talk('b'), talk('c')],
    edges: [
      { source: 'wait', target: 'b' },
      { source: 'a', target: 'c' },
      { source: 'b', target: 'c' },
    ],
  });
  const run = await startRun(t.app, key, workflowId);

  const before: SseEvent[] = [];
  const first = readEvents(port, run.id, (e) => before.push(e));
  // Mid-run: a and b are both printing.
  await until('lines from node b', async () => before.some((e) => e.event === 'log' && e.data.nodeId === 'b'), 120_000);
  await sleepMs(700);
  await stopWorker(api, 'SIGKILL');
  const killedAt = Date.now();
  expect(await first).toBe('broken');
  const resumeId = before.at(-1)!.id;
  // Down for a while: the run moves on without it.
  await sleepMs(3000);
  api = await startApi(port);
  const downMs = Date.now() - killedAt;
  const after: SseEvent[] = [];
  expect(await readEvents(port, run.id, (e) => after.push(e), resumeId)).toBe('ended');
  expect((await waitForRun(t.app, key, run.id, 120_000)).status).toBe('success');

  // The whole stream, read afresh from the start once the run is over.
  const full: SseEvent[] = [];
  expect(await readEvents(port, run.id, (e) => full.push(e))).toBe('ended');
  console.log(
    `SSE: ${before.length} events before the kill, ${after.length} after (resumed from ${resumeId}, API down ${downMs} ms); ` +
      `${full.length} in the fresh stream`,
  );

  const joined = [...before, ...after];
  const [resumeTasksMs] = cursor(resumeId);
  // Ids never go back: the resumed stream picks up at the cursor the client had.
  for (let i = 1; i < joined.length; i++) {
    const [pt, pl] = cursor(joined[i - 1]!.id);
    const [ct, cl] = cursor(joined[i]!.id);
    expect({ i, tasksMs: ct >= pt, logsMs: cl >= pl }).toEqual({ i, tasksMs: true, logsMs: true });
  }
  // Nothing lost: every event of the fresh stream (every line, each task's last state, the run's end) was received.
  const received = new Set(joined.map(identity));
  expect(full.map(identity).filter((x) => !received.has(x))).toEqual([]);
  // Every line received is one of the run's, and every line of the run came: the same set.
  const lines = (es: SseEvent[]) => es.filter((e) => e.event === 'log').map(identity);
  expect([...new Set(lines(joined))].sort()).toEqual([...new Set(lines(full))].sort());
  expect(lines(full)).toHaveLength(75);
  // Nothing twice: each line once; a task change only when it falls in the resume cursor's own millisecond, which
  // the resumed stream sends again (at-least-once there). The run's status is a state every connection opens with.
  const counts = new Map<string, SseEvent[]>();
  for (const e of joined.filter((x) => x.event !== 'run'))
    counts.set(identity(e), [...(counts.get(identity(e)) ?? []), e]);
  const twice = [...counts.values()].filter((es) => es.length > 1).map((es) => es[0]!);
  expect(
    twice.filter((e) => e.event !== 'task' || Date.parse(e.data.at as string) !== resumeTasksMs).map(identity),
  ).toEqual([]);
  // The case a time cursor alone would lose: lines older than the cursor that reached the database after it.
  const [, resumeLogsMs] = cursor(resumeId);
  const late = after.filter((e) => e.event === 'log' && Date.parse(e.data.at as string) < resumeLogsMs).length;
  console.log(`lines older than the resume cursor delivered after it: ${late}`);
  console.log(`task changes received twice (the resume cursor's millisecond): ${twice.length}`);
  expect(joined.filter((e) => e.event === 'end')).toHaveLength(1);
  expect(Object.values(await tasksOf(t.app, key, run.id)).every((task) => task.status === 'success')).toBe(true);
  await stopWorker(api);
  await stopWorker(worker);
});
