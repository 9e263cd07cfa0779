// Durability when the servers themselves fail mid-run: the Temporal dev server killed and restarted on its database
// file, the MongoDB-compatible server down for 30 s, and the S3 server down for 30 s in the middle of an output's
// multipart upload. The killed process is waited for until it is really gone
// (`kill -0` still answers for a process being torn down), then `stack.sh up` starts it again.
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListMultipartUploadsCommand, ListPartsCommand, S3Client } from '@aws-sdk/client-s3';
import { dockerFromHost, LABEL_PREFIX } from '../../src/docker/container-runner';
import { deploymentName } from '../../src/temporal/worker';
import type { TestApp } from '../support/app';
import { chaosFixture, containerDiamond, expectExactlyOnce } from '../support/chaos';
import { followContainerEvents, seedWorkflow } from '../support/engine';
import { sh, startRun, tasksOf, until, waitForRun } from '../support/runs';
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
async function killStackPart(part: 'temporal' | 'mongo' | 's3'): Promise<void> {
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

test('with S3 down for 30 s in the middle of an upload, the run completes and every artifact has its object', async () => {
  const mib = 400;
  const s3 = new S3Client({
    endpoint: t.config.S3_ENDPOINT,
    region: t.config.S3_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: t.config.S3_ACCESS_KEY_ID, secretAccessKey: t.config.S3_SECRET_ACCESS_KEY },
    maxAttempts: 1,
  });
  const deploymentLabel = `${LABEL_PREFIX}deployment=${deploymentName(t.config)}`;
  worker = spawnWorker(env);
  const { workflowId } = await seedWorkflow(t.db, scope, {
    nodes: [
      sh(
        'big',
        `dd if=/dev/urandom of=/emboflow/outputs/big.bin bs=1048576 count=${mib} 2>/dev/null && echo ok > /emboflow/outputs/small.txt`,
        { cache: { enabled: false } },
        { timeoutSeconds: 300 },
      ),
    ],
    edges: [],
  });
  const starts = await followContainerEvents(dockerFromHost(t.config.DOCKER_HOST), [deploymentLabel], ['start']);
  const run = await startRun(t.app, key, workflowId);
  const prefix = `runs/${run.id}/big/`;
  // In flight: the output's multipart upload exists, some of its parts are up, and it is not completed.
  const { upload, parts } = await until(
    'the output upload to be in flight',
    async () => {
      const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: t.config.S3_BUCKET, Prefix: prefix }));
      const found = listed.Uploads?.[0];
      if (!found) return undefined;
      const { Parts = [] } = await s3
        .send(new ListPartsCommand({ Bucket: t.config.S3_BUCKET, Key: found.Key, UploadId: found.UploadId }))
        .catch(() => ({ Parts: [] }));
      return Parts.length > 0 && { upload: found, parts: Parts };
    },
    180_000,
  );
  const uploadedMib = parts.reduce((n, p) => n + (p.Size ?? 0), 0) / 1048576;
  const taskBefore = (await tasksOf(t.app, key, run.id)).big!;
  await killStackPart('s3');
  const downAt = Date.now();
  console.log(
    `S3 killed with ${parts.length} parts (${uploadedMib} MiB) of ${upload.Key} (${mib} MiB) uploaded; task ${taskBefore.status}, attempt ${taskBefore.attempt}`,
  );
  await sleepMs(30_000);
  const restartAt = Date.now();
  stackUp();
  console.log(
    `S3 was down ${((Date.now() - downAt) / 1000).toFixed(1)} s (${((Date.now() - restartAt) / 1000).toFixed(1)} s of it restarting)`,
  );

  const done = await waitForRun(t.app, key, run.id, 300_000);
  expect(done.status).toBe('success');
  const task = (await tasksOf(t.app, key, run.id)).big!;
  // The interrupted attempt did not succeed: a later one did.
  expect(task.attempt).toBeGreaterThan(taskBefore.attempt);
  console.log(`node big succeeded on attempt ${task.attempt}`);

  // Every artifact document names an object that is there, whole: its size, and (the large one) its checksum.
  const docs = await t.db.collection('artifacts').find({ runId: run.id }).toArray();
  expect(docs.map((d) => d.path).sort()).toEqual(['big.bin', 'small.txt']);
  for (const d of docs) {
    expect({ key: d.storageRef.key, stat: await t.store.stat(d.storageRef.key) }).toEqual({
      key: d.storageRef.key,
      stat: { size: d.storageRef.size },
    });
  }
  const big = docs.find((d) => d.path === 'big.bin')!;
  expect(big.storageRef.size).toBe(mib * 1048576);
  const { body } = await t.store.getVerified(big.storageRef.key, big.storageRef.checksum);
  for await (const chunk of body) void chunk;
  // The node ran once: each retry re-attached to the exited container and uploaded again.
  const started = (await starts.stop()).filter((e) => e.labels[`${LABEL_PREFIX}run`] === run.id).length;
  expect(started).toBe(1);
  // The upload cut short (its attempt could not abort it while storage was down) is aborted by the worker's reaper
  // once its task has finished.
  const left = await until(
    'the abandoned upload to be aborted',
    async () => {
      const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: t.config.S3_BUCKET, Prefix: prefix }));
      return (listed.Uploads ?? []).length === 0 && listed;
    },
    90_000,
  );
  console.log(`containers started for node big: ${started}; multipart uploads left: ${left.Uploads?.length ?? 0}`);
  s3.destroy();
  await stopWorker(worker);
});
