// Durability under failure, against the real stack: worker processes killed with SIGKILL mid-container.
import type { ChildProcess } from 'node:child_process';
import { ContainerRunner, dockerFromHost, LABEL_PREFIX } from '../../src/docker/container-runner';
import { deploymentName } from '../../src/temporal/worker';
import type { TestApp } from '../support/app';
import { chaosFixture, containerDiamond, expectExactlyOnce } from '../support/chaos';
import { seedWorkflow } from '../support/engine';
import { startRun, waitForRun } from '../support/runs';
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

test('SIGKILL of the worker 20 times during container steps loses no run and duplicates no node', async () => {
  const deployment = deploymentName(t.config);
  let maxLivePerNode = 0;
  const monitor = setInterval(() => {
    runner
      .listManaged({ deployment })
      .then((list) => {
        const live = new Map<string, number>();
        for (const c of list.filter((x) => x.State === 'running')) {
          const k = `${c.Labels[`${LABEL_PREFIX}run`]}/${c.Labels[`${LABEL_PREFIX}node`]}`;
          live.set(k, (live.get(k) ?? 0) + 1);
        }
        maxLivePerNode = Math.max(maxLivePerNode, ...live.values(), 0);
      })
      .catch(() => undefined);
  }, 150);

  const { workflowId } = await seedWorkflow(t.db, scope, containerDiamond(`kill${Date.now()}`, 2));
  const runs: string[] = [];
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  try {
    for (let kill = 1; kill <= 20; kill++) {
      if (kill % 4 === 1) for (let i = 0; i < 2; i++) runs.push((await startRun(t.app, key, workflowId)).id);
      worker = spawnWorker(env);
      await sleepMs(1500 + rand() * 3000);
      await stopWorker(worker, 'SIGKILL');
    }
    worker = spawnWorker(env);
    for (const id of runs) expect((await waitForRun(t.app, key, id, 300_000)).status).toBe('success');
  } finally {
    clearInterval(monitor);
  }
  expect(runs).toHaveLength(10);
  expect(maxLivePerNode).toBeLessThanOrEqual(1);
  for (const id of runs) await expectExactlyOnce(t.app, key, t.db, id);

  // No orphan: every container of this deployment is gone within 60 s of the runs' end.
  const deadline = Date.now() + 60_000;
  let left = await runner.listManaged({ deployment });
  while (left.length && Date.now() < deadline) {
    await sleepMs(1000);
    left = await runner.listManaged({ deployment });
  }
  expect(left.map((c) => c.Names)).toEqual([]);
  await stopWorker(worker);
});
