// S7: bytes through the pipeline. A 2-node chain — a writes N MiB of random bytes, b reads every byte back and
// checks its sha256 — against a floor measured in the same run on the same bytes: the same hardened container
// writing and reading the file alone (no EmboFlow), plus an SDK put and get of N MiB through the same object
// storage (multipart, as EmboFlow uses it). Throughput = N / wall time; the worker's peak RSS is EmboFlow's.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { dockerFromHost } from '../../src/docker/container-runner';
import { ObjectStore } from '../../src/storage/object-store';
import { runOne } from '../baseline/docker';
import { TOOLS_IMAGE } from '../lib/graphs';
import { round } from '../lib/stats';
import { row } from '../report/types';
import { withEnv } from './context';
import type { Scenario } from './context';

const MIB = 1024 * 1024;
const MEMORY_MB = 256;
const TIMEOUT_MS = 60 * 60_000;

const writeCmd = (mib: number) =>
  `head -c ${mib * MIB} /dev/urandom > /emboflow/outputs/big.bin && cd /emboflow/outputs && sha256sum big.bin > big.sha256`;

/** N MiB of pseudo-random bytes, generated a chunk at a time (never whole). */
function bytes(mib: number): Readable {
  const chunk = randomBytes(MIB);
  let left = mib;
  return new Readable({
    read() {
      this.push(left-- > 0 ? chunk : null);
    },
  });
}

/** The object storage floor: a streamed multipart put of N MiB and a get that drains it. */
async function sdkPutGet(store: ObjectStore, mib: number, key: string): Promise<number> {
  const started = performance.now();
  await store.putStream(key, bytes(mib), 'application/octet-stream');
  const { body } = await store.getStream(key);
  for await (const _ of body) void _;
  const ms = performance.now() - started;
  await store.deleteKeys([key]);
  return ms;
}

export const s7Data: Scenario = {
  id: 'S7',
  title: 'bytes through a 2-node chain vs the same container alone plus an SDK put and get',
  run: (ctx) =>
    withEnv(ctx, async (env) => {
      const sizes = [ctx.sizes.s7MiB, ctx.sizes.s7LargeMiB].filter((m) => m > 0);
      const docker = dockerFromHost(env.config.DOCKER_HOST);
      const store = new ObjectStore(env.config);
      const nonce = randomBytes(5).toString('hex');
      const rows = [];
      const details: Record<string, unknown> = {};
      const failures: string[] = [];
      try {
        for (const mib of sizes) {
          // The floor: the container writes and reads the bytes alone, and the SDK moves them up and down.
          const containerMs = await runOne(docker, TOOLS_IMAGE, `emboflow-bench-s7-${nonce}-${mib}`, nonce, {
            cmd: ['sh', '-c', `${writeCmd(mib)} && sha256sum -c big.sha256`],
            memoryMb: MEMORY_MB,
            writableDir: 'outputs',
          });
          const sdkMs = await sdkPutGet(store, mib, `bench/s7/${nonce}/${mib}.bin`);
          const floorMs = containerMs + sdkMs;

          const node = (id: string, script: string) => ({
            id,
            executorType: 'docker' as const,
            executorConfig: {
              image: TOOLS_IMAGE,
              command: ['sh', '-c', script],
              env: { BENCH_NONCE: `${nonce}-${mib}` },
              memoryMb: MEMORY_MB,
              timeoutSeconds: 3600,
            },
            cache: { enabled: false },
          });
          const run = await env.runEmboflow(
            {
              nodes: [node('a', writeCmd(mib)), node('b', 'cd /emboflow/inputs/a && sha256sum -c big.sha256')],
              edges: [{ source: 'a', target: 'b' }],
              settings: { maxParallelism: 1, failFast: true },
            },
            TIMEOUT_MS,
          );
          if (run.exec.status !== 'COMPLETED')
            failures.push(`${mib} MiB: ${run.exec.status} ${run.exec.failure ?? ''}`);
          const label = mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`;
          const mbps = (ms: number) => round(mib / (ms / 1000), 1);
          rows.push(
            row(
              'S7',
              `${label}: throughput end to end`,
              `mbps${mib}`,
              'MB/s',
              'higher',
              mbps(run.exec.makespanMs),
              mbps(floorMs),
            ),
            row('S7', `${label}: wall time`, `wallMs${mib}`, 'ms', 'lower', run.exec.makespanMs, round(floorMs)),
            row(
              'S7',
              `${label}: worker peak RSS`,
              `rssMiB${mib}`,
              'MiB',
              'lower',
              round(run.worker.peakRssBytes / MIB),
              null,
            ),
          );
          details[label] = {
            containerAloneMs: round(containerMs),
            sdkPutGetMs: round(sdkMs),
            emboflowMs: run.exec.makespanMs,
            workflowId: run.exec.workflowId,
          };
        }
      } finally {
        store.destroy();
      }
      return {
        params: { sizesMiB: sizes.join(','), memoryMb: MEMORY_MB, image: TOOLS_IMAGE },
        error: failures.length ? failures.join('; ') : undefined,
        rows,
        details: {
          definition:
            'EmboFlow = run workflow start to close (Temporal server clock) of a writes + b verifies; floor = the same hardened container writing and verifying alone + a streamed multipart put and a get of the same size (process clock)',
          ...details,
        },
      };
    }),
};
