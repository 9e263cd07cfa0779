// S8: a map node over N list elements (one hardened container each, maxParallel containers at once) against raw
// dockerode running the same N containers at the same concurrency, in the same run, alternated round by round.
// EmboFlow's figure is the map node's own time (its items planned, run, and collected into items.json), from the
// mirror; the raw floor is create+start+wait+remove with the same options and no staging, logs or mirror.
import { randomBytes } from 'node:crypto';
import { RunStore } from '../../src/db/runs';
import { dockerFromHost } from '../../src/docker/container-runner';
import type { RuntimeGraphInput } from '../../src/domain/runtime-graph';
import { runRawContainers } from '../baseline/docker';
import { TOOLS_IMAGE } from '../lib/graphs';
import { mean, round } from '../lib/stats';
import { row } from '../report/types';
import { withEnv } from './context';
import type { Scenario } from './context';

const TIMEOUT_MS = 60 * 60_000;

/** gen lists 0..n-1; each runs `true` once per element (cache off, a unique nonce: every item starts a container). */
function mapGraph(n: number, parallel: number, nonce: string): RuntimeGraphInput {
  return {
    nodes: [
      {
        id: 'gen',
        executorType: 'docker',
        executorConfig: {
          image: TOOLS_IMAGE,
          command: ['sh', '-c', `seq -s, 0 ${n - 1} | sed 's/.*/{"items": [&]}/' > /emboflow/outputs/result.json`],
          memoryMb: 64,
        },
        cache: { enabled: false },
      },
      {
        id: 'each',
        executorType: 'docker',
        executorConfig: {
          image: TOOLS_IMAGE,
          command: ['true'],
          env: { BENCH_NONCE: nonce },
          memoryMb: 64,
          timeoutSeconds: 120,
        },
        cache: { enabled: false },
        map: { over: 'inputs.gen.items', maxParallel: parallel },
      },
    ],
    edges: [{ source: 'gen', target: 'each' }],
    settings: { maxParallelism: parallel, failFast: false },
  };
}

export const s8Map: Scenario = {
  id: 'S8',
  title: 'a map over N elements (one container each) vs raw dockerode at the same concurrency',
  run: (ctx) =>
    withEnv(ctx, async (env) => {
      const { s8Items: n, s8Parallel: p, s8Rounds: rounds } = ctx.sizes;
      const docker = dockerFromHost(env.config.DOCKER_HOST);
      const mirror = new RunStore(env.db);
      const nonce = () => randomBytes(5).toString('hex');
      // Warm both sides.
      await runRawContainers(docker, TOOLS_IMAGE, 2, 1, nonce());
      await env.runEmboflow(mapGraph(2, 2, nonce()), TIMEOUT_MS);

      const raw: number[] = [];
      const map: number[] = [];
      const runs: Array<{ runId: string; status: string; mapMs: number; makespanMs: number }> = [];
      for (let r = 0; r < rounds; r++) {
        ctx.log(`S8 round ${r + 1}/${rounds}: raw dockerode, ${n} containers at ${p}`);
        raw.push((await runRawContainers(docker, TOOLS_IMAGE, n, p, nonce())).makespanMs);
        ctx.log(`S8 round ${r + 1}/${rounds}: EmboFlow map, ${n} items at ${p}`);
        const run = await env.runEmboflow(mapGraph(n, p, nonce()), TIMEOUT_MS);
        const task = await mirror.getTask(run.run.id, 'each');
        const mapMs = task?.durationMs ?? NaN;
        map.push(mapMs);
        runs.push({ runId: run.run.id, status: String(task?.status), mapMs, makespanMs: run.exec.makespanMs });
      }
      const failed = runs.filter((r) => r.status !== 'success');
      return {
        params: { items: n, maxParallel: p, rounds, image: TOOLS_IMAGE, command: 'true' },
        error: failed.length ? failed.map((r) => `${r.runId}: map node ${r.status}`).join('; ') : undefined,
        rows: [
          row(
            'S8',
            'map: makespan (mean of rounds)',
            'mapMakespanMs',
            'ms',
            'lower',
            round(mean(map)),
            round(mean(raw)),
          ),
          row('S8', 'map: per item', 'mapPerItemMs', 'ms', 'lower', round(mean(map) / n), round(mean(raw) / n)),
        ],
        details: {
          definition:
            "EmboFlow = the map node's duration in the mirror (items planned, run and collected); raw = wall time of create+start+wait+remove of the same containers at the same concurrency; rounds alternate raw, EmboFlow",
          rawMs: raw.map((x) => round(x)),
          mapMs: map.map((x) => round(x)),
          runs,
        },
      };
    }),
};
