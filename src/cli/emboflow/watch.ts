// `emboflow run watch`: the run's state from the API, moved on by its events (or polls), shown until it ends.
import type { ApiClient } from '../../client/api-client';
import type { Context } from './args';
import { followRun, type FollowOptions } from './follow';
import { createDisplay } from './progress';
import { runExitCode, RunTracker, type RunView, type TaskView } from './run-state';

const SETTLE_POLL_MS = 300;

export async function loadRun(client: ApiClient, runId: string): Promise<{ run: RunView; tasks: TaskView[] }> {
  const id = encodeURIComponent(runId);
  const [run, tasks] = await Promise.all([
    client.get<RunView>(`/v1/runs/${id}`),
    client.get<{ items: TaskView[] }>(`/v1/runs/${id}/tasks`),
  ]);
  return { run, tasks: tasks.items };
}

/** Shows the run until it is finished; answers the exit code its outcome maps to (0, 1 or 3). */
export async function watchRun(ctx: Context, runId: string, opts: FollowOptions = {}): Promise<number> {
  const client = ctx.client();
  const tracker = new RunTracker(runId);
  const refresh = async () => {
    const { run, tasks } = await loadRun(client, runId);
    tracker.snapshot(run, tasks);
    return run;
  };
  let run = await refresh();
  const display = createDisplay(ctx.io, tracker, { silent: ctx.json });
  const offInterrupt = ctx.io.onInterrupt(() => display.stop());
  try {
    display.update();
    if (!tracker.finished) {
      await followRun(
        client,
        runId,
        {
          onEvent(e) {
            if (e.type === 'task') tracker.task(e.data);
            else if (e.type === 'log') tracker.log(e.data);
            else if (e.type === 'run') tracker.run(e.data, Date.now());
            display.update();
            return e.type === 'end' || tracker.finished;
          },
          async check() {
            run = await refresh();
            display.update();
            return tracker.finished;
          },
        },
        opts,
      );
      // The events may announce the end a moment before the API's mirror of the run shows it.
      for (run = await refresh(); !tracker.finished; run = await refresh()) {
        await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
      }
    }
    display.finish();
  } finally {
    display.stop();
    offInterrupt();
  }
  if (ctx.json) ctx.printJson(run);
  return runExitCode(run.status);
}
