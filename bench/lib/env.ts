// One scenario's world: the real API (createApp) on the real stack with a database and task-queue prefix of its
// own, a forked EmboFlow worker process and a forked raw-Temporal baseline worker. The API's MongoClient counts
// its commands too, so a run's writes are counted on both sides (API: run creation; worker: the mirror).
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type { Workflow, WorkflowStartOptions } from '@temporalio/client';
import type { Express } from 'express';
import { MongoClient } from 'mongodb';
import type { Db } from 'mongodb';
import { createApp } from '../../api/app';
import type { Config } from '../../src/config';
import { ensureIndexes } from '../../src/db/indexes';
import type { RuntimeGraphInput } from '../../src/domain/runtime-graph';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics';
import { ObjectStore } from '../../src/storage/object-store';
import { connectTemporal } from '../../src/temporal/client';
import { seedUser, seedWorkspace } from '../../test/support/app';
import { seedWorkflow } from '../../test/support/engine';
import { startRun } from '../../test/support/runs';
import type { RunBody } from '../../test/support/runs';
import { stackEnv, testConfig } from '../../test/support/stack';
import type { Bundles } from './bundles';
import { CommandCounter } from './mongo-monitor';
import type { CommandCounts } from './mongo-monitor';
import { withTimeout } from './stats';
import { awaitExecution } from './temporal';
import type { ExecutionMetrics } from './temporal';
import { WorkerProcess } from './worker-process';
import type { WorkerStats } from './worker-process';

export interface EnvOptions {
  bundles: Bundles;
  maxConcurrentActivities: number;
}

export interface EmboflowRun {
  run: RunBody;
  postMs: number;
  exec: ExecutionMetrics;
  worker: WorkerStats;
  api: CommandCounts;
}

export interface BaselineRun {
  exec: ExecutionMetrics;
  worker: WorkerStats;
}

export class BenchEnv {
  private constructor(
    readonly config: Config,
    readonly app: Express,
    readonly db: Db,
    readonly temporal: Client,
    readonly apiKey: string,
    readonly scope: { workspaceId: string; projectId: string },
    readonly apiCounter: CommandCounter,
    readonly emboflow: WorkerProcess,
    readonly baseline: WorkerProcess,
    private readonly closers: Array<() => Promise<void>>,
  ) {}

  static async open(opts: EnvOptions): Promise<BenchEnv> {
    const config = testConfig({
      LOG_LEVEL: 'error',
      WORKER_MAX_CONCURRENT_ACTIVITIES: String(opts.maxConcurrentActivities),
      WORKER_SHUTDOWN_GRACE_SECONDS: '5',
    });
    const closers: Array<() => Promise<void>> = [];
    const close = async () => {
      for (const c of closers.reverse()) await c().catch(() => undefined);
    };
    try {
      const client = new MongoClient(config.MONGODB_URI, {
        monitorCommands: true,
        retryWrites: false,
        maxPoolSize: 50,
        serverSelectionTimeoutMS: 5_000,
      });
      const apiCounter = new CommandCounter(client);
      await client.connect();
      closers.push(() => client.close());
      const db = client.db(config.MONGODB_DB);
      closers.push(async () => void (await db.dropDatabase()));
      await ensureIndexes(db);
      const temporal = await connectTemporal(config);
      closers.push(() => temporal.connection.close());
      const store = new ObjectStore(config);
      closers.push(async () => store.destroy());
      const { app } = createApp({
        config,
        db,
        temporal,
        store,
        logger: createLogger('silent'),
        metrics: createMetrics('api'),
      });
      const scope = await seedWorkspace(db, 'bench');
      const { apiKey } = await seedUser(db, [{ workspaceId: scope.workspaceId, role: 'admin' }]);

      // The workers parse the same environment the API's config came from.
      const env = {
        ...stackEnv(),
        MONGODB_DB: config.MONGODB_DB,
        TASK_QUEUE_PREFIX: config.TASK_QUEUE_PREFIX,
        WORKER_MAX_CONCURRENT_ACTIVITIES: String(config.WORKER_MAX_CONCURRENT_ACTIVITIES),
        WORKER_SHUTDOWN_GRACE_SECONDS: String(config.WORKER_SHUTDOWN_GRACE_SECONDS),
        LOG_LEVEL: 'error',
      };
      const [emboflow, baseline] = await Promise.all([
        WorkerProcess.start({ kind: 'emboflow', env, bundlePath: opts.bundles.emboflow }),
        WorkerProcess.start({ kind: 'baseline', env, bundlePath: opts.bundles.baseline }),
      ]);
      closers.push(() => emboflow.stop());
      closers.push(() => baseline.stop());
      return new BenchEnv(config, app, db, temporal, apiKey, scope, apiCounter, emboflow, baseline, closers);
    } catch (err) {
      await close();
      throw err;
    }
  }

  get baselineQueue(): string {
    return `${this.config.TASK_QUEUE_PREFIX}baseline`;
  }

  /** Publishes `graph`, starts a run through the API and waits (bounded) for its workflow to close. */
  async runEmboflow(graph: RuntimeGraphInput, timeoutMs: number): Promise<EmboflowRun> {
    const { workflowId } = await seedWorkflow(this.db, this.scope, graph, 'bench');
    await this.emboflow.stats(true);
    this.apiCounter.take(true);
    const t0 = performance.now();
    const run = await startRun(this.app, this.apiKey, workflowId);
    const postMs = performance.now() - t0;
    const exec = await awaitExecution(this.temporal, run.temporalWorkflowId, timeoutMs);
    return { run, postMs, exec, worker: await this.emboflow.stats(), api: this.apiCounter.take() };
  }

  /** Starts a baseline workflow on the baseline worker's queue and waits (bounded) for it to close. */
  async runBaseline<W extends Workflow>(workflow: W, args: Parameters<W>, timeoutMs: number): Promise<BaselineRun> {
    await this.baseline.stats(true);
    const workflowId = `bench-${workflow.name}-${randomBytes(6).toString('hex')}`;
    await this.temporal.workflow.start(workflow, {
      taskQueue: this.baselineQueue,
      workflowId,
      args,
    } as unknown as WorkflowStartOptions<W>);
    const exec = await awaitExecution(this.temporal, workflowId, timeoutMs);
    return { exec, worker: await this.baseline.stats() };
  }

  /** Serves the API on a loopback port (S5 drives it over real HTTP). */
  async listen(): Promise<{ url: string; close(): Promise<void> }> {
    const server: Server = await new Promise((resolve) => {
      const s = this.app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }

  /** Each step is bounded: a database with a write FerretDB never answers cannot be dropped, and must not hang us. */
  async close(): Promise<void> {
    for (const c of this.closers.reverse())
      await withTimeout(c(), 20_000, 'closing the bench env').catch(() => undefined);
  }
}
