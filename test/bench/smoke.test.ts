// Runs `npm run bench -- --smoke` for real (the whole bench against the real stack, small sizes, no peers) and checks
// that the report it writes is well formed. Targets are reported by the bench, not asserted here.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchReport } from '../../bench/report/types';

const REPO = join(__dirname, '..', '..');
const BENCH_TIMEOUT_MS = 480_000;

function runSmoke(outDir: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--smoke', '--no-peers', '--out', outDir],
      {
        cwd: REPO,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), BENCH_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

const positive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;

describe('npm run bench -- --smoke', () => {
  let outDir: string;
  let report: BenchReport;
  let files: string[];

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'emboflow-bench-smoke-'));
    const { code, stderr } = await runSmoke(outDir);
    if (code !== 0) throw new Error(`bench --smoke exited with ${code}:\n${stderr}`);
    files = await readdir(outDir);
    const stamped = files.filter((f) => /^\d{4}-\d\d-\d\dT.*\.json$/.test(f));
    expect(stamped).toHaveLength(1);
    report = JSON.parse(await readFile(join(outDir, stamped[0]!), 'utf8')) as BenchReport;
  }, BENCH_TIMEOUT_MS + 20_000);

  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('writes the JSON report, latest.md and the SVG chart', async () => {
    expect(files).toEqual(expect.arrayContaining(['latest.md', 'latest.json', 'per-node-overhead.svg']));
    const md = await readFile(join(outDir, 'latest.md'), 'utf8');
    expect(md).toContain('| scenario | metric | unit | better | EmboFlow | baseline | ratio | peers |');
    expect(md).toContain('## Targets');
    const svg = await readFile(join(outDir, 'per-node-overhead.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('<rect');
  });

  it('runs every scenario to completion in smoke mode', () => {
    expect(report.schemaVersion).toBe(1);
    expect(report.mode).toBe('smoke');
    expect(report.scenarios.map((s) => s.id)).toEqual(['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8']);
    for (const s of report.scenarios) {
      expect({ id: s.id, status: s.status, error: s.error }).toEqual({ id: s.id, status: 'ok', error: undefined });
      expect(s.rows.length).toBeGreaterThan(0);
    }
  });

  it('reports finite positive figures, and ratios that are EmboFlow over baseline', () => {
    const rows = report.scenarios.flatMap((s) => s.rows);
    for (const r of rows) {
      expect({ key: r.key, emboflow: positive(r.emboflow) }).toEqual({ key: r.key, emboflow: true });
      if (r.baseline === null) {
        expect(r.ratio).toBeNull();
        continue;
      }
      expect({ key: r.key, baseline: positive(r.baseline), ratio: positive(r.ratio) }).toEqual({
        key: r.key,
        baseline: true,
        ratio: true,
      });
      expect(r.ratio!).toBeCloseTo(r.emboflow! / r.baseline, 6);
    }
    const compared = rows.filter((r) => r.baseline !== null).map((r) => r.key);
    expect(compared).toEqual(
      expect.arrayContaining([
        's1.perNodeP50Ms',
        's2.mp50.tasksPerSec',
        's3.makespanMs',
        's4.chainMakespanMs',
        's5.postP99Ms',
        's6.transitionsPerSec',
        's7.mbps64',
        's8.mapMakespanMs',
      ]),
    );
  });

  it('states every target with a value and a verdict', () => {
    expect(report.targets.length).toBeGreaterThanOrEqual(10);
    for (const t of report.targets) {
      if (t.value === null) expect(t.met).toBeNull();
      else
        expect({ id: t.id, value: Number.isFinite(t.value), met: typeof t.met }).toEqual({
          id: t.id,
          value: true,
          met: 'boolean',
        });
    }
    for (const id of [
      's1-floor',
      's4-chain',
      's5-rate',
      's5-p99',
      's5-errors',
      's2-rate-mp50',
      's3-complete',
      'writes-s1',
    ]) {
      expect(report.targets.find((t) => t.id === id)?.met).not.toBeNull();
    }
  });

  it("counts one mirror write per builtin task in the worker (plus the run's start and finish)", () => {
    // 10 builtin nodes: 10 task writes, markRunStarted and finishRun. A queued write per task would make it 2.2.
    const row = report.scenarios.find((s) => s.id === 'S1')!.rows.find((r) => r.key === 's1.workerWritesPerTask')!;
    expect(row.emboflow).toBeCloseTo(1.2, 5);
  });

  it('draws a per-node chart with EmboFlow and baseline bars for every group', () => {
    expect(report.chart.groups.length).toBeGreaterThanOrEqual(4);
    for (const g of report.chart.groups) {
      expect(positive(g.values.EmboFlow)).toBe(true);
      expect(positive(g.values.baseline)).toBe(true);
    }
  });
});
