import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../src/config';
import { workflowBundle } from './engine';

const REPO = join(__dirname, '..', '..');

/** Writes the workflow bundle once, so worker processes start in about a second. */
export async function bundleFile(): Promise<string> {
  const path = join(tmpdir(), `emboflow-bundle-${process.pid}.js`);
  writeFileSync(path, (await workflowBundle()).code);
  return path;
}

/** The environment a worker process needs to serve the given test config. */
export function workerEnv(config: Config, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const pick = {
    TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: config.TEMPORAL_NAMESPACE,
    MONGODB_URI: config.MONGODB_URI,
    MONGODB_DB: config.MONGODB_DB,
    TASK_QUEUE_PREFIX: config.TASK_QUEUE_PREFIX,
    S3_ENDPOINT: config.S3_ENDPOINT ?? '',
    S3_ACCESS_KEY_ID: config.S3_ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY: config.S3_SECRET_ACCESS_KEY,
    S3_BUCKET: config.S3_BUCKET,
    DOCKER_HOST: config.DOCKER_HOST ?? '',
    LOG_LEVEL: 'warn',
    // Test workers serve no metrics unless a test asks for them: fixed ports would collide between workers.
    WORKER_METRICS_PORT: '0',
  };
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...pick, ...extra };
}

/** A real `src/cli/worker.ts` process (one OS process: node with the tsx loader), killable with SIGKILL. */
export function spawnWorker(env: NodeJS.ProcessEnv): ChildProcess {
  return spawnEntry('worker.ts', env);
}

/** A real `src/cli/api.ts` process serving `config`'s database on 127.0.0.1:`port`, killable with SIGKILL. */
export function spawnApi(config: Config, port: number): ChildProcess {
  return spawnEntry('api.ts', { ...workerEnv(config), PORT: String(port), API_HOST: '127.0.0.1' });
}

function spawnEntry(file: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src', 'cli', file)], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', () => undefined);
  return child;
}

export async function stopWorker(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  await exited;
}
