// `emboflow run watch`: the run's state from the API, moved on by its events (or polls), shown until it ends.
import type { ApiClient } from '../../client/api-client';
import type { Context } from './args';
import { followRun } from './follow';
import type { FollowOptions } from './follow';
import { createDisplay } from './progress';
import { isTerminalTask, runExitCode, RunTracker } from './run-state';
import type { RunView, TaskView } from './run-state';

const SETTLE_POLL_MS = 300;

async function loadTasks(client: ApiClient, runId: string): Promise<TaskView[]> {
  return (await client.get<{ items: TaskView[] }>(`/v1/runs/${encodeURIComponent(runId)}/tasks`)).items;
}

export async function loadRun(client: ApiClient, runId: string): Promise<{ run: RunView; tasks: TaskView[] }> {
  const [run, tasks] = await Promise.all([
    client.get<RunView>(`/v1/runs/${encodeURIComponent(runId)}`),
    loadTasks(client, runId),
  ]);
  return { run, tasks };
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
  // One fetch of the tasks at a time, repeated once if more nodes finished meanwhile.
  let filling: Promise<void> | undefined;
  let fillAgain = false;
  const fillDetails = (): void => {
    if (filling) {
      fillAgain = true;
      return;
    }
    filling = loadTasks(client, runId)
      .then((tasks) => {
        tracker.fill(tasks);
        display.update();
      })
      .catch(() => undefined) // the final refresh has the same details
      .finally(() => {
        filling = undefined;
        if (fillAgain) {
          fillAgain = false;
          fillDetails();
        }
      });
  };
  const offInterrupt = ctx.io.onInterrupt(() => display.stop());
  try {
    display.update();
    if (!tracker.finished) {
      await followRun(
        client,
        runId,
        {
          onEvent(e) {
            if (e.type === 'task') {
              if (tracker.task(e.data) && isTerminalTask(e.data.status)) fillDetails();
            } else if (e.type === 'log') tracker.log(e.data);
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
      await filling;
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
