import type { BenchEnv } from '../lib/env';
import type { Row, ScenarioReport } from '../report/types';

export interface Sizes {
  s1Nodes: number;
  s2Width: number;
  s3Layers: number;
  s3Width: number;
  s4Containers: number;
  /** Containers in flight at once in S4's fan-out, for EmboFlow (maxParallelism) and raw dockerode alike. */
  s4Parallelism: number;
  s5Runs: number;
  s5Concurrency: number;
  s6Tasks: number;
  /** S7: the file size (MiB) passed through a 2-node chain, and a second, larger one (0: none). */
  s7MiB: number;
  s7LargeMiB: number;
  /** S8: items through a map, containers at once, and alternated rounds of map and raw. */
  s8Items: number;
  s8Parallel: number;
  s8Rounds: number;
}

export interface ScenarioContext {
  mode: 'full' | 'smoke';
  sizes: Sizes;
  /** A fresh world per scenario (own database, own task queues, fresh worker processes). */
  openEnv(): Promise<BenchEnv>;
  log(message: string): void;
}

export interface ScenarioOutcome {
  params: ScenarioReport['params'];
  rows: Row[];
  details: Record<string, unknown>;
  /** Set when the scenario ran but its subject did not complete (S3 may hit Temporal's limits). */
  error?: string;
}

export interface Scenario {
  id: string;
  title: string;
  run(ctx: ScenarioContext): Promise<ScenarioOutcome>;
}

/** Opens an env, runs `fn`, always closes it. */
export async function withEnv<T>(ctx: ScenarioContext, fn: (env: BenchEnv) => Promise<T>): Promise<T> {
  const env = await ctx.openEnv();
  try {
    return await fn(env);
  } finally {
    await env.close();
  }
}
