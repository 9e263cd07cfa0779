// `npm run bench` (full) and `npm run bench -- --smoke` (small sizes, peers skipped unless --peers): runs the
// scenarios against the real local stack, each beside its baseline in the same process run, then the peers, and
// writes bench/results/<timestamp>.json, latest.md and per-node-overhead.svg.
//   --only S1,S3     run only these scenarios
//   --peers / --no-peers   force peers on (smoke: installed ones only) or off
//   --out <dir>      results folder (default bench/results)
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { connectTemporal } from '../src/temporal/client';
import { testConfig } from '../test/support/stack';
import { buildBundles } from './lib/bundles';
import { BenchEnv } from './lib/env';
import { round } from './lib/stats';
import { runPeers } from './peers';
import { renderMarkdown } from './report/markdown';
import { renderChart } from './report/svg';
import type { BenchReport, PeerInfo, Row, ScenarioReport, Target } from './report/types';
import type { Scenario, ScenarioContext, Sizes } from './scenarios/context';
import { s1Chain } from './scenarios/s1-chain';
import { s2FanOut } from './scenarios/s2-fanout';
import { s3Layered } from './scenarios/s3-layered';
import { s4Containers } from './scenarios/s4-containers';
import { s5Rest } from './scenarios/s5-rest';
import { s6Mirror } from './scenarios/s6-mirror';
import { s7Data } from './scenarios/s7-data';
import { s8Map } from './scenarios/s8-map';

const SCENARIOS: Scenario[] = [s1Chain, s2FanOut, s3Layered, s4Containers, s5Rest, s6Mirror, s7Data, s8Map];

const SIZES: Record<'full' | 'smoke', Sizes> = {
  full: {
    s1Nodes: 100,
    s2Width: 1000,
    s3Layers: 100,
    s3Width: 100,
    s4Containers: 50,
    s4Parallelism: 10,
    s5Runs: 200,
    s5Concurrency: 50,
    s6Tasks: 1000,
    s7MiB: 1024,
    s7LargeMiB: 4096,
    s8Items: 1000,
    s8Parallel: 8,
    s8Rounds: 2,
  },
  // Small enough to finish in about two minutes on a busy 2-core machine (FerretDB writes are the bottleneck).
  smoke: {
    s1Nodes: 10,
    s2Width: 40,
    s3Layers: 5,
    s3Width: 20,
    s4Containers: 3,
    s4Parallelism: 3,
    s5Runs: 10,
    s5Concurrency: 5,
    s6Tasks: 50,
    s7MiB: 64,
    s7LargeMiB: 0,
    s8Items: 16,
    s8Parallel: 4,
    s8Rounds: 1,
  },
};

/** Activity slots per worker, EmboFlow and baseline alike. */
const MAX_CONCURRENT_ACTIVITIES = 100;

export interface BenchOptions {
  mode: 'full' | 'smoke';
  only?: string[];
  peers: boolean;
  outDir: string;
  cacheDir: string;
}

export function parseArgs(argv: string[], cacheDir: string): BenchOptions {
  const mode = argv.includes('--smoke') ? 'smoke' : 'full';
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const only = value('--only')
    ?.split(',')
    .map((s) => s.trim().toUpperCase());
  const peers = argv.includes('--no-peers') ? false : argv.includes('--peers') || mode === 'full';
  return { mode, only, peers, outDir: resolve(value('--out') ?? join(__dirname, 'results')), cacheDir };
}

const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

function attachPeers(rows: Row[], peers: Record<string, PeerInfo>): void {
  for (const r of rows) {
    // Peers ran the shapes as specified; bounded variants (keys with a third segment) get no peer figures.
    const [scenario, metric, extra] = r.key.split('.') as ['s1' | 's2', string, string | undefined];
    if (extra !== undefined) continue;
    for (const [name, p] of Object.entries(peers)) {
      const shape = p.results?.[scenario] as Record<string, number> | undefined;
      if (!shape) continue;
      const v = metric === 'peakRssMiB' ? (shape.peakRssBytes ?? NaN) / 1048576 : shape[metric];
      if (typeof v === 'number' && Number.isFinite(v)) r.peers[name] = round(v, 2);
    }
  }
}

function targets(scenarios: ScenarioReport[], peers: Record<string, PeerInfo>): Target[] {
  const rows = new Map(scenarios.flatMap((s) => s.rows).map((r) => [r.key, r]));
  const get = (key: string) => rows.get(key);
  const out: Target[] = [];
  const add = (
    id: string,
    description: string,
    value: number | null | undefined,
    threshold: string,
    ok: (v: number) => boolean,
    note?: string,
  ) =>
    out.push({
      id,
      description,
      value: value ?? null,
      threshold,
      met: value === null || value === undefined || !Number.isFinite(value) ? null : ok(value),
      ...(note ? { note } : {}),
    });

  const p50 = get('s1.perNodeP50Ms');
  const mean = get('s1.perNodeMeanMs');
  add(
    's1-floor',
    'S1 per-node overhead vs raw-Temporal floor (p50 step ratio)',
    p50?.ratio,
    '≤ 1.5×',
    (v) => v <= 1.5,
    mean?.ratio ? `mean-per-node ratio ${mean.ratio.toFixed(2)}×` : undefined,
  );
  const prefect = peers.prefect?.results?.s1;
  add(
    's1-prefect',
    'S1 speed-up over Prefect (Prefect p50 step ÷ EmboFlow p50 step)',
    prefect && p50?.emboflow ? prefect.perNodeP50Ms / p50.emboflow : null,
    '≥ 5×',
    (v) => v >= 5,
    prefect && mean?.emboflow
      ? `by mean per node (makespan ÷ nodes): ${(prefect.perNodeMeanMs / mean.emboflow).toFixed(2)}×`
      : peers.prefect
        ? `prefect ${peers.prefect.status}`
        : 'prefect not run',
  );
  add(
    's4-chain',
    'S4 container chain makespan vs raw dockerode',
    get('s4.chainMakespanMs')?.ratio,
    '≤ 1.15×',
    (v) => v <= 1.15,
  );
  add(
    's4-fan',
    'S4 container fan-out makespan vs raw dockerode',
    get('s4.fanMakespanMs')?.ratio,
    '≤ 1.15×',
    (v) => v <= 1.15,
  );
  for (const mib of [1024, 4096]) {
    const label = `${mib / 1024} GiB`;
    add(
      `s7-throughput-${mib}`,
      `S7 ${label} end-to-end throughput vs the floor (EmboFlow ÷ floor MB/s)`,
      get(`s7.mbps${mib}`)?.ratio,
      '≥ 0.5×',
      (v) => v >= 0.5,
    );
    add(
      `s7-rss-${mib}`,
      `S7 ${label} worker peak RSS (MiB)`,
      get(`s7.rssMiB${mib}`)?.emboflow,
      '≤ 300 MiB',
      (v) => v <= 300,
    );
  }
  add(
    's8-map',
    'S8 a map of hardened containers vs raw dockerode at the same concurrency (makespan ratio)',
    get('s8.mapMakespanMs')?.ratio,
    '≤ 1.3×',
    (v) => v <= 1.3,
  );
  add('s5-rate', 'S5 runs per second through REST', get('s5.runsPerSec')?.emboflow, '≥ 20 runs/s', (v) => v >= 20);
  add('s5-p99', 'S5 POST /runs p99 latency', get('s5.postP99Ms')?.emboflow, '≤ 100 ms', (v) => v <= 100);
  const s5 = scenarios.find((s) => s.id === 'S5');
  add(
    's5-errors',
    'S5 errors (non-202 answers + runs not succeeded)',
    s5?.status === 'skipped' ? null : ((s5?.details.errors as number | undefined) ?? null),
    '= 0',
    (v) => v === 0,
  );
  const s2Full = get('s2.tasksPerSec');
  add(
    's2-rate',
    'S2 no-op tasks per second (maxParallelism = width)',
    s2Full?.emboflow,
    '≥ 200 tasks/s',
    (v) => v >= 200,
    s2Full && s2Full.emboflow === null ? 'the run did not complete (see S2)' : undefined,
  );
  add(
    's2-rate-mp50',
    'S2 no-op tasks per second (maxParallelism 50)',
    get('s2.mp50.tasksPerSec')?.emboflow,
    '≥ 200 tasks/s',
    (v) => v >= 200,
  );
  const s3 = scenarios.find((s) => s.id === 'S3');
  const s3Rss = get('s3.peakRssMiB')?.emboflow;
  const s3Done = get('s3.completed')?.emboflow;
  add(
    's3-complete',
    `S3 ${s3?.params.nodes ?? ''}-node DAG completes, worker peak RSS (MiB)`,
    s3Done === undefined ? null : s3Rss,
    'completes and ≤ 600 MiB',
    (v) => s3Done === 1 && v <= 600,
    s3Done === 0 ? `did not complete: ${s3?.error ?? ''}` : undefined,
  );
  add(
    'writes-s1',
    'MongoDB write statements per task, builtin nodes (S1, API + worker)',
    get('s1.writesPerTask')?.emboflow,
    '≤ 3',
    (v) => v <= 3,
  );
  add(
    'writes-s4',
    'MongoDB write statements per task, container nodes (S4, API + worker)',
    get('s4.writesPerTask')?.emboflow,
    '≤ 3',
    (v) => v <= 3,
  );
  add(
    'writes-s6',
    'MongoDB write statements per task, mirror path incl. creation (S6)',
    get('s6.writesPerTaskInclCreate')?.emboflow,
    '≤ 3',
    (v) => v <= 3,
  );
  return out;
}

function chart(scenarios: ScenarioReport[], peerNames: string[]): BenchReport['chart'] {
  const rows = new Map(scenarios.flatMap((s) => s.rows).map((r) => [r.key, r]));
  const group = (label: string, key: string, withPeers: boolean) => {
    const r = rows.get(key);
    if (!r) return undefined;
    const values: Record<string, number | null> = { EmboFlow: r.emboflow, baseline: r.baseline };
    if (withPeers) for (const p of peerNames) values[p] = r.peers[p] ?? null;
    return { label, values };
  };
  const groups = [
    group('S1 chain: p50 step', 's1.perNodeP50Ms', true),
    group('S1 chain: mean per node', 's1.perNodeMeanMs', true),
    group('S2 fan-out: mean per node', 's2.perNodeMeanMs', true),
    group('S2 fan-out, maxPar 50: mean', 's2.mp50.perNodeMeanMs', false),
    group('S3 layered: mean per node', 's3.perNodeMeanMs', false),
    group('S4 container chain', 's4.chainPerNodeMs', false),
    group('S4 container fan-out', 's4.fanPerNodeMs', false),
  ].filter((g): g is NonNullable<typeof g> => g !== undefined);
  return {
    title: 'Per-node time by scenario (log scale; baseline = raw Temporal / raw dockerode)',
    unit: 'ms',
    groups,
  };
}

export async function runBench(opts: BenchOptions): Promise<{ report: BenchReport; jsonPath: string }> {
  const startedAt = new Date();
  const sizes = SIZES[opts.mode];
  const bundleDir = join(tmpdir(), `emboflow-bench-${process.pid}`);
  const machine: BenchReport['machine'] = {
    cpus: cpus().length,
    memGiB: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAvgAtStart: loadavg().map((l) => round(l, 2)),
  };
  const probe = await connectTemporal(testConfig());
  try {
    machine.temporalServer = (await probe.connection.workflowService.getSystemInfo({})).serverVersion ?? undefined;
  } finally {
    await probe.connection.close();
  }

  log(`mode ${opts.mode}; bundling workflows`);
  const bundles = await buildBundles(bundleDir);
  const open = () => BenchEnv.open({ bundles, maxConcurrentActivities: MAX_CONCURRENT_ACTIVITIES });
  // Full mode gives every scenario a fresh world (clean worker RSS); smoke shares one to stay short.
  let shared: Promise<BenchEnv> | undefined;
  const ctx: ScenarioContext = {
    mode: opts.mode,
    sizes,
    openEnv: async () => {
      if (opts.mode === 'full') return open();
      shared ??= open();
      const env = await shared;
      return Object.assign(Object.create(env) as BenchEnv, { close: async () => undefined });
    },
    log,
  };
  const scenarios: ScenarioReport[] = [];
  try {
    for (const s of SCENARIOS) {
      if (opts.only && !opts.only.includes(s.id)) continue;
      log(`${s.id} ${s.title}`);
      const t0 = performance.now();
      try {
        const outcome = await s.run(ctx);
        scenarios.push({
          id: s.id,
          title: s.title,
          status: outcome.error ? 'failed' : 'ok',
          ...outcome,
          durationMs: Math.round(performance.now() - t0),
        });
      } catch (err) {
        scenarios.push({
          id: s.id,
          title: s.title,
          status: 'failed',
          error: err instanceof Error ? err.message : String(err),
          params: {},
          rows: [],
          details: {},
          durationMs: Math.round(performance.now() - t0),
        });
      }
      const last = scenarios[scenarios.length - 1]!;
      log(`${s.id} ${last.status} in ${(last.durationMs / 1000).toFixed(1)} s${last.error ? `: ${last.error}` : ''}`);
    }
  } finally {
    if (shared) await (await shared.catch(() => undefined))?.close();
    await rm(bundleDir, { recursive: true, force: true });
  }

  let peers: Record<string, PeerInfo> = {};
  if (opts.peers) {
    peers = await runPeers({
      cacheDir: opts.cacheDir,
      s1Nodes: sizes.s1Nodes,
      s2Width: sizes.s2Width,
      concurrency: MAX_CONCURRENT_ACTIVITIES,
      install: opts.mode === 'full',
      log,
    });
    for (const [name, p] of Object.entries(peers))
      log(`peer ${name}: ${p.status}${p.reason ? ` (${p.reason.split('\n')[0]})` : ''}`);
  }
  attachPeers(
    scenarios.flatMap((s) => s.rows),
    peers,
  );

  const report: BenchReport = {
    schemaVersion: 1,
    mode: opts.mode,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    settings: {
      ...sizes,
      workerMaxConcurrentActivities: MAX_CONCURRENT_ACTIVITIES,
      workersInSeparateProcesses: true,
      freshEnvPerScenario: opts.mode === 'full',
    },
    peers,
    scenarios,
    targets: targets(scenarios, peers),
    chart: chart(
      scenarios,
      Object.keys(peers).filter((p) => peers[p]!.status === 'ok'),
    ),
    notes: [
      'All servers (Temporal dev server with SQLite, FerretDB v1 on SQLite, SeaweedFS, dockerd) share this 2-core machine with the bench; other test suites may have been running at the same time (see the load average).',
      'EmboFlow and the raw-Temporal baseline each run in a forked worker process of their own, with the same activity slots; the API runs in the bench process. Makespans and per-node steps are read from Temporal (server clock, workflow history) for both.',
      'MongoDB writes are counted with the driver’s command monitoring (commandStarted) on both the API’s and the worker’s clients: a statement is one document insert or one update/delete spec; a command is one round trip.',
    ],
  };
  await mkdir(opts.outDir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const jsonPath = join(opts.outDir, `${stamp}.json`);
  await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(opts.outDir, 'latest.md'), renderMarkdown(report));
  await writeFile(join(opts.outDir, 'per-node-overhead.svg'), renderChart(report.chart));
  await writeFile(join(opts.outDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${jsonPath}, latest.md and per-node-overhead.svg`);
  return { report, jsonPath };
}

if (require.main === module) {
  const cacheDir = join(
    process.env.EMBOFLOW_CACHE_DIR ?? join(process.env.HOME ?? tmpdir(), '.cache', 'emboflow'),
    'bench',
  );
  runBench(parseArgs(process.argv.slice(2), cacheDir)).then(
    ({ report }) => {
      process.stdout.write(renderMarkdown(report));
      // Worker processes and clients are closed; anything left (a stuck gRPC channel) must not keep us alive.
      process.exit(0);
    },
    (err: unknown) => {
      log(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}
