// Parent side of a bench worker process (worker-main.ts): fork, wait until it polls, ask for stats, stop.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { CommandCounts } from './mongo-monitor';
import { withTimeout } from './stats';

export interface WorkerSpec {
  kind: 'emboflow' | 'baseline';
  /** The environment the worker's config is parsed from (loadConfig). */
  env: Record<string, string>;
  bundlePath: string;
}

export interface WorkerStats {
  rssBytes: number;
  peakRssBytes: number;
  mongo?: CommandCounts;
}

export type ParentMessage =
  { type: 'start'; spec: WorkerSpec } | { type: 'stats'; id: number; reset: boolean } | { type: 'stop' };
export type ChildMessage =
  ({ type: 'stats'; id: number } & WorkerStats) | { type: 'ready' } | { type: 'error'; message: string };

export class WorkerProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, (s: WorkerStats) => void>();
  private readonly exited: Promise<number | null>;
  private failure?: string;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'stats') {
        this.waiting.get(m.id)?.(m);
        this.waiting.delete(m.id);
      } else if (m.type === 'error') {
        this.failure = m.message;
      }
    });
  }

  static async start(spec: WorkerSpec): Promise<WorkerProcess> {
    const child = fork(require.resolve('./worker-main'), [spec.kind], {
      execArgv: ['--import', 'tsx', '--disable-warning=NodeVersionSupportWarning'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const wp = new WorkerProcess(child);
    child.send({ type: 'start', spec } satisfies ParentMessage);
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (m: ChildMessage) => {
        if (m.type === 'ready') resolve();
        if (m.type === 'error') reject(new Error(`${spec.kind} worker failed to start: ${m.message}`));
      });
      child.once('exit', (code) => reject(new Error(`${spec.kind} worker exited with ${code} before it was ready`)));
    });
    await withTimeout(ready, 60_000, `${spec.kind} worker start`).catch(async (err: unknown) => {
      child.kill('SIGKILL');
      throw err;
    });
    return wp;
  }

  /** RSS (current, peak since the last reset) and MongoDB command counts since the last reset. */
  stats(reset = false): Promise<WorkerStats> {
    if (this.failure) return Promise.reject(new Error(this.failure));
    const id = this.nextId++;
    const answer = new Promise<WorkerStats>((resolve) => this.waiting.set(id, resolve));
    this.child.send({ type: 'stats', id, reset } satisfies ParentMessage);
    return withTimeout(answer, 10_000, 'worker stats');
  }

  /** Graceful shutdown, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.send({ type: 'stop' } satisfies ParentMessage);
    await withTimeout(this.exited, graceMs, 'worker stop').catch(() => {
      this.child.kill('SIGKILL');
    });
  }
}
