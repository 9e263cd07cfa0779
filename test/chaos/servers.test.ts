// Durability when the servers themselves fail mid-run: the Temporal dev server killed and restarted on its database
// file, and the MongoDB-compatible server down for 30 s. The killed process is waited for until it is really gone
// (`kill -0` still answers for a process being torn down), then `stack.sh up` starts it again.
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { chaosFixture, containerDiamond, expectExactlyOnce } from '../support/chaos';
import { seedWorkflow } from '../support/engine';
import { startRun, tasksOf, until, waitForRun } from '../support/runs';
import { spawnWorker, stopWorker } from '../support/worker-process';

const REPO = join(__dirname, '..', '..');
const DATA = process.env.EMBOFLOW_DATA_DIR ?? join(REPO, '.emboflow');

let t: TestApp;
let key: string;
let scope: { workspaceId: string; projectId: string };
let env: NodeJS.ProcessEnv;
let worker: ChildProcess | undefined;

beforeAll(async () => {
  ({ t, key, scope, env } = await chaosFixture());
});
afterAll(async () => {
  if (worker) await stopWorker(worker, 'SIGKILL');
  await t?.close();
});

const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pidOf(part: string): number {
  return Number(readFileSync(join(DATA, 'pids', `${part}.pid`), 'utf8').trim());
}

/** SIGKILLs a stack part's process group and waits until its process is gone (not merely signalled). */
async function killStackPart(part: 'temporal' | 'mongo'): Promise<void> {
  const pid = pidOf(part);
  process.kill(-pid, 'SIGKILL');
  await until(`${part} (pid ${pid}) to exit`, async () => !isLive(pid), 30_000);
}

function isLive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Brings the stopped part back, with the tests' environment as it is: it carries the MONGODB_URI `up` recorded for
 * its own FerretDB, which `up` must still restart (it knows its own by the pid file it left).
 */
function stackUp(): void {
  execFileSync('bash', [join(REPO, 'scripts', 'stack.sh'), 'up'], { stdio: 'inherit' });
}

test('a run completes when the Temporal dev server restarts mid-run (its database file persists)', async () => {
  worker = spawnWorker(env);
  const { workflowId } = await seedWorkflow(t.db, scope, containerDiamond(`temporal${Date.now()}`, 3));
  const run = await startRun(t.app, key, workflowId);
  // Mid-run: the first container is running when the server goes away.
  await until('node a to run', async () => (await tasksOf(t.app, key, run.id)).a!.status === 'running', 120_000);
  await killStackPart('temporal');
  stackUp();
  const done = await waitForRun(t.app, key, run.id, 300_000);
  expect(done.status).toBe('success');
  await expectExactlyOnce(t.app, key, t.db, run.id);
  await stopWorker(worker);
});

test('with MongoDB down for 30 s mid-run, the run completes and the mirror converges to Temporal', async () => {
  worker = spawnWorker(env);
  const { workflowId } = await seedWorkflow(t.db, scope, containerDiamond(`mongo${Date.now()}`, 2));
  const run = await startRun(t.app, key, workflowId);
  await until('node a to run', async () => (await tasksOf(t.app, key, run.id)).a!.status === 'running', 120_000);
  await killStackPart('mongo');
  await sleepMs(30_000);
  stackUp();

  const handle = t.temporal.workflow.getHandle(run.temporalWorkflowId);
  const result = await handle.result();
  expect(result.status).toBe('success');
  // The mirror against Temporal's own record: the run's status, and each node's completed activity.
  const history = await handle.fetchHistory();
  const completedActivities = new Set<string>();
  const scheduled = new Map<string, string>();
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s?.activityId) scheduled.set(String(e.eventId), s.activityId);
    const c = e.activityTaskCompletedEventAttributes;
    if (c) completedActivities.add(scheduled.get(String(c.scheduledEventId))!.split('.')[0]!);
  }
  const mirrored = await waitForRun(t.app, key, run.id, 60_000);
  expect(mirrored.status).toBe(result.status);
  const tasks = await tasksOf(t.app, key, run.id);
  expect(
    Object.keys(tasks)
      .filter((n) => tasks[n]!.status === 'success')
      .sort(),
  ).toEqual([...completedActivities].sort());
  expect(mirrored.summary.taskCounts.success).toBe(6);
  await expectExactlyOnce(t.app, key, t.db, run.id);
  await stopWorker(worker);
});
