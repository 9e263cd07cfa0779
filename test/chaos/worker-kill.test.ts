// Durability under failure, against the real stack: worker processes killed with SIGKILL mid-container. What the
// suite claims it checks against Docker itself: every kill landed while one of the runs' containers was running,
// and Docker's own event log shows one container start per node and generation (a re-attach starts nothing).
import type { ChildProcess } from 'node:child_process';
import type Docker from 'dockerode';
import { RunStore } from '../../src/db/runs';
import { ContainerRunner, dockerFromHost, LABEL_PREFIX } from '../../src/docker/container-runner';
import { deploymentName } from '../../src/temporal/worker';
import type { TestApp } from '../support/app';
import { chaosFixture, containerDiamond, expectExactlyOnce } from '../support/chaos';
import { followContainerEvents, seedWorkflow } from '../support/engine';
import { startRun, tasksOf, until, waitForRun } from '../support/runs';
import { spawnWorker, stopWorker } from '../support/worker-process';

let t: TestApp;
let key: string;
let scope: { workspaceId: string; projectId: string };
let env: NodeJS.ProcessEnv;
let runner: ContainerRunner;
let worker: ChildProcess | undefined;

beforeAll(async () => {
  ({ t, key, scope, env } = await chaosFixture());
  runner = new ContainerRunner(dockerFromHost(t.config.DOCKER_HOST));
});
afterAll(async () => {
  if (worker) await stopWorker(worker, 'SIGKILL');
  await t?.close();
});

const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KILLS = 20;

/** Of `containers`, those running that started less than `withinMs` ago (a 4-s node then has time left to run). */
async function startedLately(docker: Docker, containers: Docker.ContainerInfo[], withinMs: number) {
  const fresh: string[] = [];
  for (const c of containers.filter((x) => x.State === 'running')) {
    const state = await docker
      .getContainer(c.Id)
      .inspect()
      .then((i) => i.State)
      .catch(() => undefined);
    if (state?.Running && Date.now() - Date.parse(state.StartedAt) < withinMs) fresh.push(c.Id);
  }
  return fresh;
}

/** Whether one of the containers was running at `killedAt`: it runs still, or it exited after. */
async function ranThrough(docker: Docker, ids: string[], killedAt: number): Promise<boolean> {
  for (const id of ids) {
    const state = await docker
      .getContainer(id)
      .inspect()
      .then((i) => i.State)
      .catch(() => undefined);
    if (state?.Running || (state && Date.parse(state.FinishedAt) >= killedAt)) return true;
  }
  return false;
}

test('SIGKILL of the worker 20 times during container steps loses no run and starts no container twice', async () => {
  const deployment = deploymentName(t.config);
  const mirror = new RunStore(t.db);
  const runs: string[] = [];
  /** This deployment's containers (its name is the test's own database), narrowed to the runs this test started. */
  const ours = async () =>
    (await runner.listManaged({ deployment })).filter((c) => runs.includes(c.Labels[`${LABEL_PREFIX}run`]!));
  const starts = await followContainerEvents(runner.docker, [`${LABEL_PREFIX}deployment=${deployment}`], ['start']);

  let sampledLive = 0;
  let maxLivePerNode = 0;
  const monitor = setInterval(() => {
    ours()
      .then((list) => {
        const live = new Map<string, number>();
        for (const c of list.filter((x) => x.State === 'running')) {
          const k = `${c.Labels[`${LABEL_PREFIX}run`]}/${c.Labels[`${LABEL_PREFIX}node`]}`;
          live.set(k, (live.get(k) ?? 0) + 1);
          sampledLive++;
        }
        maxLivePerNode = Math.max(maxLivePerNode, ...live.values(), 0);
      })
      .catch(() => undefined);
  }, 150);

  const { workflowId } = await seedWorkflow(t.db, scope, containerDiamond(`kill${Date.now()}`, 4));
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  let landed = 0;
  try {
    for (let kill = 1; kill <= KILLS; kill++) {
      // Two new runs every fourth kill, and whenever the runs so far have all finished (a fast machine gets there
      // between kills): there is always a container for the kill to land in.
      if (kill % 4 === 1 || !(await mirror.countRuns(runs, ['pending', 'running'])))
        for (let i = 0; i < 2; i++) runs.push((await startRun(t.app, key, workflowId)).id);
      worker = spawnWorker(env);
      await sleepMs(1500 + rand() * 3000);
      const waitingSince = Date.now();
      // The kill waits (bounded) for a container of the runs to have just started (its 4 s have 2 s or more left), so
      // that it lands during one. Runs whose next container is slow to come (a retried attempt waits out the killed
      // one's heartbeat timeout) are joined by two new ones every 30 s of waiting, at most twice.
      let waitedFor = 0;
      const running = await until(
        `a container of the runs to run before kill ${kill}`,
        async () => {
          const fresh = await startedLately(runner.docker, await ours(), 2000);
          if (fresh.length) return fresh;
          if (Date.now() - waitingSince > 30_000 * (waitedFor + 1) && waitedFor < 2) {
            waitedFor++;
            for (let i = 0; i < 2; i++) runs.push((await startRun(t.app, key, workflowId)).id);
          }
          return undefined;
        },
        120_000,
      );
      const killedAt = Date.now();
      await stopWorker(worker, 'SIGKILL');
      if (await ranThrough(runner.docker, running, killedAt)) landed++;
    }
    worker = spawnWorker(env);
    for (const id of runs) expect((await waitForRun(t.app, key, id, 300_000)).status).toBe('success');
  } finally {
    clearInterval(monitor);
  }
  console.log(`kills that landed during a container: ${landed} of ${KILLS}`);
  expect(landed).toBe(KILLS);
  expect(runs.length).toBeGreaterThanOrEqual(10);
  // The label filter matched: the monitor saw the runs' containers live, and none ran twice at once.
  expect(sampledLive).toBeGreaterThan(0);
  expect(maxLivePerNode).toBeLessThanOrEqual(1);
  for (const id of runs) await expectExactlyOnce(t.app, key, t.db, id);

  // Docker's own log: each node's container of each generation started exactly once in its run.
  const events = await starts.stop();
  console.log(
    `live containers sampled by the monitor: ${sampledLive}; container starts in Docker's log: ${events.length}`,
  );
  for (const id of runs) {
    const tasks = await tasksOf(t.app, key, id);
    const counted: Record<string, number> = {};
    for (const e of events.filter((x) => x.labels[`${LABEL_PREFIX}run`] === id)) {
      const k = `${e.labels[`${LABEL_PREFIX}node`]}/g${e.labels[`${LABEL_PREFIX}generation`]}`;
      counted[k] = (counted[k] ?? 0) + 1;
    }
    const once = Object.fromEntries(Object.values(tasks).map((task) => [`${task.nodeId}/g${task.generation}`, 1]));
    expect({ run: id, starts: counted }).toEqual({ run: id, starts: once });
  }

  // No orphan: every container of the runs is gone within 60 s of their end (the same filter listed them live).
  const deadline = Date.now() + 60_000;
  let left = await ours();
  while (left.length && Date.now() < deadline) {
    await sleepMs(1000);
    left = await ours();
  }
  expect(left.map((c) => c.Names)).toEqual([]);
  await stopWorker(worker);
});
