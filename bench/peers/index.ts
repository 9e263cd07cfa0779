// Runs the peers (other orchestrators, installed into the bench cache dir, never into the project's
// dependencies) on the S1 and S2 shapes, each in a child process bounded in time. A peer that is not installed
// is installed first in full mode (its install.sh, itself bounded) and skipped in smoke mode.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PeerInfo, PeerResults } from '../report/types';

export interface PeerPlan {
  cacheDir: string;
  s1Nodes: number;
  s2Width: number;
  concurrency: number;
  install: boolean;
  log(message: string): void;
}

interface PeerSpec {
  name: string;
  mode: string;
  command(dir: string, plan: PeerPlan): { cmd: string; args: string[]; env: Record<string, string> };
  timeoutMs: number;
}

const HERE = __dirname;
const REPO = join(HERE, '..', '..');

const PEERS: PeerSpec[] = [
  {
    name: 'prefect',
    mode: 'Prefect 3 local flows (default: temporary local API server, SQLite), ThreadPoolTaskRunner for the fan-out',
    timeoutMs: 10 * 60_000,
    command: (dir, p) => ({
      cmd: join(dir, 'venv', 'bin', 'python'),
      args: [join(HERE, 'prefect', 'flows.py'), String(p.s1Nodes), String(p.s2Width)],
      env: {
        PREFECT_HOME: join(dir, 'home'),
        PREFECT_LOGGING_LEVEL: 'ERROR',
        PREFECT_SERVER_ANALYTICS_ENABLED: 'false',
      },
    }),
  },
  {
    name: 'airflow',
    mode: 'Airflow dag.test() (local in-process execution, SQLite metadata DB; not the standalone scheduler)',
    timeoutMs: 12 * 60_000,
    command: (dir, p) => ({
      cmd: join(dir, 'venv', 'bin', 'python'),
      args: [join(HERE, 'airflow', 'dags.py'), String(p.s1Nodes), String(p.s2Width)],
      env: {
        AIRFLOW_HOME: join(dir, 'home'),
        AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
        AIRFLOW__LOGGING__LOGGING_LEVEL: 'ERROR',
        PYTHONWARNINGS: 'ignore',
      },
    }),
  },
  {
    name: 'bullmq',
    mode: 'BullMQ FlowProducer + Worker on a private redis-server (no persistence)',
    timeoutMs: 5 * 60_000,
    command: (dir, p) => ({
      cmd: process.execPath,
      args: [
        '--import',
        'tsx',
        join(HERE, 'bullmq', 'run.ts'),
        dir,
        String(p.s1Nodes),
        String(p.s2Width),
        String(p.concurrency),
      ],
      env: {},
    }),
  },
];

interface Exec {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function exec(cmd: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<Exec> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    // Keep only the tail: Python peers can be chatty on stderr.
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: String(err), timedOut });
    });
  });
}

function readJson<T>(path: string): T | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined;
}

function lastLines(text: string, n = 6): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

async function runPeer(spec: PeerSpec, plan: PeerPlan): Promise<PeerInfo> {
  const dir = join(plan.cacheDir, spec.name);
  let installed = readJson<{ versions: Record<string, string> }>(join(dir, 'installed.json'));
  if (!installed && !plan.install) {
    return {
      status: 'skipped',
      reason: `not installed (smoke mode does not install peers; run bash bench/peers/${spec.name}/install.sh or npm run bench)`,
    };
  }
  if (!installed) {
    plan.log(`installing peer ${spec.name} (bounded)`);
    const r = await exec(
      'bash',
      [join(HERE, spec.name, 'install.sh')],
      { EMBOFLOW_CACHE_DIR: join(plan.cacheDir, '..') },
      15 * 60_000,
    );
    installed = readJson(join(dir, 'installed.json'));
    if (!installed) {
      const why = existsSync(join(dir, 'install-failed.txt'))
        ? readFileSync(join(dir, 'install-failed.txt'), 'utf8')
        : lastLines(r.stderr);
      return { status: 'skipped', reason: `install failed${r.timedOut ? ' (timed out)' : ''}: ${lastLines(why, 12)}` };
    }
  }
  plan.log(`peer ${spec.name}: S1 ${plan.s1Nodes} nodes, S2 ${plan.s2Width} wide`);
  const { cmd, args, env } = spec.command(dir, plan);
  const r = await exec(cmd, args, env, spec.timeoutMs);
  const line = r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (r.code !== 0 || !line) {
    return {
      status: 'failed',
      versions: installed.versions,
      mode: spec.mode,
      reason: r.timedOut ? `no result within ${spec.timeoutMs / 1000} s` : `exit ${r.code}: ${lastLines(r.stderr)}`,
    };
  }
  return { status: 'ok', versions: installed.versions, mode: spec.mode, results: JSON.parse(line) as PeerResults };
}

export async function runPeers(plan: PeerPlan, only?: string[]): Promise<Record<string, PeerInfo>> {
  const out: Record<string, PeerInfo> = {};
  for (const spec of PEERS) {
    if (only && !only.includes(spec.name)) continue;
    out[spec.name] = await runPeer(spec, plan);
  }
  return out;
}
