// BullMQ peer for S1 (chain) and S2 (fan-out + fan-in), with FlowProducer on a redis-server of its own.
// Usage: run.ts <peerDir> <s1Nodes> <s2Width> <concurrency>; prints one JSON line. bullmq is loaded from the bench
// cache dir (not a project dependency), so it is required dynamically and used untyped.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gaps, percentile, sleep } from '../../lib/stats';

const [peerDir = '', s1 = '100', s2 = '1000', conc = '100'] = process.argv.slice(2);
const peerRequire = createRequire(join(peerDir, 'package.json'));
const { FlowProducer, Queue, QueueEvents, Worker } = peerRequire('bullmq') as any;

/** A loopback port unlikely to clash with the stack or a system redis. */
const PORT = 16390 + (process.pid % 50);
const QUEUE = 'bench';

function peakRssOf(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

async function main(): Promise<void> {
  const redis = spawn(
    'redis-server',
    ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const connection = { host: '127.0.0.1', port: PORT, maxRetriesPerRequest: null };
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
  try {
    const queue = new Queue(QUEUE, { connection });
    for (let i = 0; ; i++) {
      if (i > 100) throw new Error(`redis-server on 127.0.0.1:${PORT} did not answer`);
      try {
        await (await queue.client).ping();
        break;
      } catch {
        await sleep(100);
      }
    }
    const events = new QueueEvents(QUEUE, { connection });
    await events.waitUntilReady();
    const worker = new Worker(QUEUE, async () => Date.now(), { connection, concurrency: Number(conc) });
    await worker.waitUntilReady();
    const flows = new FlowProducer({ connection });

    // Chain: BullMQ flows are trees whose parent runs after its children, so a chain is a path n(k) <- n(k-1) ...
    const chain = async (n: number) => {
      let node: any = { name: 'n0', queueName: QUEUE, data: {} };
      for (let i = 1; i < n; i++) node = { name: `n${i}`, queueName: QUEUE, data: {}, children: [node] };
      const t0 = performance.now();
      const tree = await flows.add(node);
      await tree.job.waitUntilFinished(events, 300_000);
      return performance.now() - t0;
    };
    // Fan-out + fan-in: a root job, then a sink whose children are the wide layer.
    const fan = async (width: number) => {
      const t0 = performance.now();
      const root = await queue.add('root', {});
      await root.waitUntilFinished(events, 300_000);
      const tree = await flows.add({
        name: 'sink',
        queueName: QUEUE,
        data: {},
        children: Array.from({ length: width }, (_, i) => ({ name: `w${i}`, queueName: QUEUE, data: {} })),
      });
      await tree.job.waitUntilFinished(events, 300_000);
      return performance.now() - t0;
    };

    await chain(3);
    await queue.obliterate({ force: true });
    const n = Number(s1);
    const s1Ms = await chain(n);
    const finished = ((await queue.getJobs(['completed'], 0, -1)) as Array<{ finishedOn: number }>)
      .map((j) => j.finishedOn)
      .sort((a, b) => a - b);
    const steps = gaps(finished);
    const width = Number(s2);
    const s2Ms = await fan(width);
    const version = JSON.parse(readFileSync(peerRequire.resolve('bullmq/package.json'), 'utf8')).version as string;
    const redisRss = peakRssOf(redis.pid!);
    await flows.close();
    await worker.close();
    await events.close();
    await queue.close();
    process.stdout.write(
      `${JSON.stringify({
        s1: {
          nodes: n,
          makespanMs: s1Ms,
          perNodeP50Ms: percentile(steps, 50),
          perNodeP95Ms: percentile(steps, 95),
          perNodeMeanMs: s1Ms / n,
          peakRssBytes: peakRss,
        },
        s2: {
          width,
          makespanMs: s2Ms,
          tasksPerSec: ((width + 2) * 1000) / s2Ms,
          perNodeMeanMs: s2Ms / (width + 2),
          peakRssBytes: peakRss,
        },
        notes: [
          `bullmq ${version}: FlowProducer trees, one Worker (concurrency ${conc}) in the same process as the producer; redis-server (no persistence) on 127.0.0.1:${PORT}, its peak RSS ${Math.round(redisRss / 1048576)} MiB (not in peakRssBytes); step = gap between consecutive job finishedOn (ms resolution)`,
        ],
      })}\n`,
    );
  } finally {
    clearInterval(sampler);
    redis.kill('SIGTERM');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
