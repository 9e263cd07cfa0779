// logs: a task's stored tail, its full log, or its lines live (-f) until the task finishes.
import type { ApiClient } from '../../../client/api-client';
import type { CommandSpec, Context } from '../args';
import { CliError, ExitCode } from '../errors';
import { followRun } from '../follow';
import { isTerminalTask } from '../run-state';
import type { TaskView } from '../run-state';

async function findTask(client: ApiClient, runId: string, nodeId: string): Promise<TaskView> {
  const { items } = await client.get<{ items: TaskView[] }>(`/v1/runs/${encodeURIComponent(runId)}/tasks`);
  const task = items.find((t) => t.nodeId === nodeId);
  if (!task) throw new CliError(`task ${nodeId} not found in run ${runId}`, ExitCode.notFound);
  return task;
}

interface StoredLog {
  lines: string[];
  stdoutLines?: number;
  stderrLines?: number;
}

const logsPath = (runId: string, nodeId: string) =>
  `/v1/runs/${encodeURIComponent(runId)}/tasks/${encodeURIComponent(nodeId)}/logs`;

/** The stored log: the tail the API keeps with the task, or the whole file from object storage. */
async function printStored(ctx: Context, runId: string, nodeId: string, full: boolean): Promise<void> {
  const client = ctx.client();
  const path = logsPath(runId, nodeId);
  if (full) {
    const res = await client.ensureOk(await client.raw('GET', `${path}?full=true`), 'GET', path);
    const decoder = new TextDecoder();
    if (res.body) for await (const chunk of res.body) ctx.io.stdout.write(decoder.decode(chunk, { stream: true }));
    ctx.io.stdout.write(decoder.decode());
    return;
  }
  const tail = await client.get<StoredLog>(path);
  if (ctx.json) ctx.printJson(tail);
  else for (const line of tail.lines) ctx.out(line);
}

/**
 * Live lines can trail the task's final status by a moment; once the task has stored its log, the lines not yet
 * printed are the last ones of the stored tail.
 */
async function printMissed(ctx: Context, runId: string, nodeId: string, printed: number): Promise<void> {
  const stored = await ctx.client().get<StoredLog>(logsPath(runId, nodeId));
  const missed = (stored.stdoutLines ?? 0) + (stored.stderrLines ?? 0) - printed;
  if (missed <= 0) return;
  if (missed > stored.lines.length) {
    ctx.io.stderr.write(
      `note: ${missed - stored.lines.length} lines are not in the stored tail; --full shows the whole log\n`,
    );
  }
  for (const line of stored.lines.slice(-missed)) ctx.out(line);
}

export const logs: CommandSpec = {
  name: 'logs',
  summary: "A task's log: the stored tail, the full log, or follow it live",
  args: ['RUN_ID', 'NODE_ID'],
  options: {
    follow: { type: 'boolean', short: 'f', description: 'print lines as the task writes them, until it finishes' },
    full: { type: 'boolean', description: 'the whole log from object storage instead of the tail' },
  },
  details: 'With -f, stdout lines go to stdout and stderr lines to stderr.',
  async run(ctx, a) {
    const runId = a.arg('RUN_ID');
    const nodeId = a.arg('NODE_ID');
    const full = a.flag('full');
    if (!a.flag('follow')) {
      await printStored(ctx, runId, nodeId, full);
      return 0;
    }
    const client = ctx.client();
    if (isTerminalTask((await findTask(client, runId, nodeId)).status)) {
      await printStored(ctx, runId, nodeId, full);
      return 0;
    }
    let live = 0;
    let replayed = 0;
    await followRun(client, runId, {
      onConnect() {
        replayed = 0; // a reconnection replays the lines already printed
      },
      onEvent(e) {
        if (e.type === 'log' && e.data.nodeId === nodeId && ++replayed > live) {
          (e.data.stream === 'stderr' ? ctx.io.stderr : ctx.io.stdout).write(`${e.data.line}\n`);
          live++;
        }
        return e.type === 'end' || (e.type === 'task' && e.data.nodeId === nodeId && isTerminalTask(e.data.status));
      },
      async check() {
        return isTerminalTask((await findTask(client, runId, nodeId)).status);
      },
      onPolling() {
        ctx.io.stderr.write('note: this API has no live events; the log is printed once the task has finished\n');
      },
    });
    // Without live lines the log is known once the task has finished and stored it.
    if (live === 0) await printStored(ctx, runId, nodeId, full);
    else await printMissed(ctx, runId, nodeId, live);
    return 0;
  },
};
