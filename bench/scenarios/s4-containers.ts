// S4: container nodes as a chain and as a fan-out, against raw dockerode doing create+start+wait+remove of the
// same image and command with the same limits, in the same run. Every EmboFlow node has the cache off and a
// unique command environment, so each one really starts a container.
import { randomBytes } from 'node:crypto';
import { dockerFromHost } from '../../src/docker/container-runner';
import { runRawContainers } from '../baseline/docker';
import { chainGraph, containerNode, parallelGraph, TOOLS_IMAGE } from '../lib/graphs';
import { gaps, mean, percentile, round } from '../lib/stats';
import { row } from '../report/types';
import { withEnv } from './context';
import type { Scenario } from './context';

const TIMEOUT_MS = 15 * 60_000;

export const s4Containers: Scenario = {
  id: 'S4',
  title: 'container nodes: chain and fan-out vs raw dockerode',
  run: (ctx) =>
    withEnv(ctx, async (env) => {
      const { s4Containers: k, s4Parallelism: p } = ctx.sizes;
      const docker = dockerFromHost(env.config.DOCKER_HOST);
      const nonce = () => randomBytes(5).toString('hex');
      // Warm the image and the Docker daemon's paths on both sides.
      await runRawContainers(docker, TOOLS_IMAGE, 2, 1, nonce());
      await env.runEmboflow(
        chainGraph(1, (id) => containerNode(id, nonce())),
        TIMEOUT_MS,
      );

      const rawChain = await runRawContainers(docker, TOOLS_IMAGE, k, 1, nonce());
      const n1 = nonce();
      const chain = await env.runEmboflow(
        chainGraph(k, (id) => containerNode(id, n1)),
        TIMEOUT_MS,
      );
      const rawFan = await runRawContainers(docker, TOOLS_IMAGE, k, p, nonce());
      const n2 = nonce();
      const fan = await env.runEmboflow(
        parallelGraph(k, p, (id) => containerNode(id, n2)),
        TIMEOUT_MS,
      );

      const chainSteps = gaps(chain.exec.activityCompletedAt);
      const S = 'S4';
      const failed = [chain, fan].filter((r) => r.exec.status !== 'COMPLETED');
      const writes = (r: typeof chain) => (r.worker.mongo!.writeStatements + r.api.writeStatements) / k;
      return {
        params: { containers: k, fanOutParallelism: p, image: TOOLS_IMAGE, command: 'true' },
        error: failed.length
          ? failed.map((r) => `${r.exec.workflowId} ${r.exec.status}: ${r.exec.failure ?? ''}`).join('; ')
          : undefined,
        rows: [
          row(
            S,
            'chain: makespan',
            'chainMakespanMs',
            'ms',
            'lower',
            chain.exec.makespanMs,
            round(rawChain.makespanMs),
          ),
          row(
            S,
            'chain: per container (makespan / containers)',
            'chainPerNodeMs',
            'ms',
            'lower',
            round(chain.exec.makespanMs / k),
            round(rawChain.makespanMs / k),
          ),
          row(
            S,
            'chain: per-container step p50',
            'chainStepP50Ms',
            'ms',
            'lower',
            round(percentile(chainSteps, 50)),
            round(percentile(rawChain.perContainerMs, 50)),
          ),
          row(
            S,
            'chain: per-container step p95',
            'chainStepP95Ms',
            'ms',
            'lower',
            round(percentile(chainSteps, 95)),
            round(percentile(rawChain.perContainerMs, 95)),
          ),
          row(
            S,
            'chain: overhead per container above raw',
            'chainOverheadMs',
            'ms',
            'lower',
            round((chain.exec.makespanMs - rawChain.makespanMs) / k),
            null,
          ),
          row(S, 'fan-out: makespan', 'fanMakespanMs', 'ms', 'lower', fan.exec.makespanMs, round(rawFan.makespanMs)),
          row(
            S,
            'fan-out: per container (makespan / containers)',
            'fanPerNodeMs',
            'ms',
            'lower',
            round(fan.exec.makespanMs / k),
            round(rawFan.makespanMs / k),
          ),
          row(
            S,
            'MongoDB write statements per task (API + worker)',
            'writesPerTask',
            'writes',
            'lower',
            round(mean([writes(chain), writes(fan)]), 3),
            null,
          ),
        ],
        details: {
          definition:
            'EmboFlow makespan = run workflow start to close (Temporal server clock); raw = wall time of create+start+wait+remove for all containers (same process clock)',
          chain: {
            ...chain.exec,
            activityCompletedAt: undefined,
            workerMongo: chain.worker.mongo,
            apiMongo: chain.api,
          },
          fanOut: { ...fan.exec, activityCompletedAt: undefined, workerMongo: fan.worker.mongo, apiMongo: fan.api },
          raw: {
            chainPerContainerMs: rawChain.perContainerMs.map((x) => round(x)),
            fanOutPerContainerMs: rawFan.perContainerMs.map((x) => round(x)),
          },
        },
      };
    }),
};
