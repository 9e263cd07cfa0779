import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type Docker from 'dockerode';
import type { Db } from 'mongodb';
import { ContainerRunner, dockerFromHost } from '../../src/docker/container-runner';
import { RuntimeGraphSchema } from '../../src/domain/runtime-graph';
import type { RuntimeGraphInput } from '../../src/domain/runtime-graph';
import { newId } from '../../src/ids';
import { createLogger } from '../../src/logger';
import { deleteReconcileSchedule } from '../../src/temporal/reconcile-schedule';
import { createWorkers } from '../../src/temporal/worker';
import { seedUser, seedWorkspace, startTestApp } from './app';
import type { TestApp } from './app';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundling the workflow code takes seconds: once per test process. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never,
  });
  return bundle;
}

export interface Engine {
  runner: ContainerRunner;
  workers: Worker[];
  stop(): Promise<void>;
}

/** Real Temporal workers for the test app's config, polling its own prefixed task queues. */
let runtimeInstalled = false;

export async function startEngine(
  t: TestApp,
  queues?: string[],
  overrides: Partial<TestApp['config']> = {},
): Promise<Engine> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  const config = { ...t.config, ...(queues ? { WORKER_TASK_QUEUES: queues } : {}), ...overrides };
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const runner = new ContainerRunner(dockerFromHost(config.DOCKER_HOST));
  const workers = await createWorkers({
    config,
    db: t.db,
    store: t.store,
    runner,
    logger: createLogger('warn', { process: 'test-worker' }),
    connection,
    workflowBundle: await workflowBundle(),
  });
  const running = Promise.all(workers.map((w) => w.run()));
  return {
    runner,
    workers,
    async stop() {
      // The test's deployment goes away with it: so does the reconciler schedule its run workers created.
      if (config.WORKER_TASK_QUEUES.includes(config.RUN_TASK_QUEUE)) await deleteReconcileSchedule(t.temporal, config);
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** A published workflow with one version holding `graph`, inserted directly. */
export async function seedWorkflow(
  db: Db,
  scope: { workspaceId: string; projectId: string },
  graph: RuntimeGraphInput,
  name = 'wf',
): Promise<{ workflowId: string; versionId: string }> {
  const now = new Date();
  const workflowId = newId('wfl');
  const versionId = newId('wfv');
  await db.collection('workflow_definitions').insertOne({
    _id: workflowId as never,
    ...scope,
    name,
    slug: `${name}-${workflowId.slice(-10)}`,
    status: 'active',
    latestVersionNumber: 1,
    publishedVersionNumber: 1,
    createdBy: 'seed',
    createdAt: now,
    updatedAt: now,
  });
  await db.collection('workflow_definition_versions').insertOne({
    _id: versionId as never,
    workflowDefinitionId: workflowId,
    ...scope,
    versionNumber: 1,
    visualGraph: {},
    logicGraph: {},
    runtimeGraph: RuntimeGraphSchema.parse(graph),
    pluginRefs: [],
    createdBy: 'seed',
    createdAt: now,
  });
  return { workflowId, versionId };
}

/** Containers Docker started for a run since `sinceSeconds` (Docker's own event log, not ours): their node ids. */
export function containerStarts(engine: Engine, runId: string, sinceSeconds: number): Promise<string[]> {
  return containerEvents(engine.runner.docker, runId, sinceSeconds, 'start');
}

/** One container event from Docker's own log: what happened, to which container, and its labels. */
export interface ContainerEvent {
  action: string;
  id: string;
  labels: Record<string, string>;
}

/**
 * Follows Docker's event log live from now: the container events (`start`, …) of containers carrying every one of
 * `labels` (`key=value`). The daemon keeps only its last few hundred events for a later `since` query, so a suite
 * that makes many containers, beside other suites on the same engine, follows the log as it happens instead.
 */
export async function followContainerEvents(
  docker: Docker,
  labels: string[],
  events: string[],
): Promise<{ stop(): Promise<ContainerEvent[]> }> {
  const seen: ContainerEvent[] = [];
  const stream = (await docker.getEvents({
    filters: { type: ['container'], event: events, label: labels },
  })) as unknown as NodeJS.ReadableStream & { destroy(): void };
  let buffer = '';
  stream.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!line.trim()) continue;
      const e = JSON.parse(line) as { Action: string; Actor: { ID: string; Attributes: Record<string, string> } };
      seen.push({ action: e.Action, id: e.Actor.ID, labels: e.Actor.Attributes });
    }
  });
  stream.on('error', () => undefined);
  return {
    async stop() {
      // Events the daemon logged a moment ago may still be on their way.
      await new Promise((r) => setTimeout(r, 1000));
      stream.destroy();
      return seen;
    },
  };
}

/** The node ids of a run's containers that had `event` (create, start, …) on this engine since `sinceSeconds`. */
export async function containerEvents(
  docker: Docker,
  runId: string,
  sinceSeconds: number,
  event: string,
): Promise<string[]> {
  const until = Math.ceil(Date.now() / 1000) + 1;
  await new Promise((r) => setTimeout(r, 1100));
  const raw = (await docker.getEvents({
    since: sinceSeconds,
    until,
    filters: { type: ['container'], event: [event], label: [`io.emboflow.run=${runId}`] },
  })) as unknown as NodeJS.ReadableStream | Buffer;
  let text = '';
  if (Buffer.isBuffer(raw)) text = raw.toString('utf8');
  else for await (const chunk of raw) text += chunk.toString();
  return text
    .split('\n')
    .filter(Boolean)
    .map(
      (l) => (JSON.parse(l) as { Actor: { Attributes: Record<string, string> } }).Actor.Attributes['io.emboflow.node']!,
    );
}

/** Container `event`s followed live from before a run starts; `stop` returns the node label of each for that run. */
export async function watchContainerEvents(
  docker: Docker,
  event: string,
): Promise<{ stop(runId: string): Promise<string[]> }> {
  const follow = await followContainerEvents(docker, ['io.emboflow.run'], [event]);
  return {
    async stop(runId: string) {
      return (await follow.stop())
        .filter((e) => e.labels['io.emboflow.run'] === runId)
        .map((e) => e.labels['io.emboflow.node']!);
    },
  };
}

export interface EngineFixture {
  t: TestApp;
  engine: Engine;
  /** An editor's API key in `scope`, a fresh workspace and project. */
  key: string;
  scope: { workspaceId: string; projectId: string };
  /** Stops the workers; `startWorkers` starts new ones (a deployment's workers restarted), then `engine` is them. */
  stopWorkers(): Promise<void>;
  startWorkers(): Promise<Engine>;
  close(): Promise<void>;
}

/** What an end-to-end suite starts with: the app, real workers, and an editor in a fresh workspace. */
export async function engineFixture(overrides: Record<string, string> = {}): Promise<EngineFixture> {
  const t = await startTestApp(overrides);
  let engine: Engine | undefined = await startEngine(t);
  const scope = await seedWorkspace(t.db);
  const key = (await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'editor' }])).apiKey;
  const fixture: EngineFixture = {
    t,
    engine,
    key,
    scope,
    async stopWorkers() {
      await engine?.stop();
      engine = undefined;
    },
    async startWorkers() {
      if (engine) throw new Error('the workers are running: stop them first');
      engine = fixture.engine = await startEngine(t);
      return engine;
    },
    async close() {
      await engine?.stop();
      await t.close();
    },
  };
  return fixture;
}
