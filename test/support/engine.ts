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

export async function startEngine(t: TestApp, queues?: string[]): Promise<Engine> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  const config = queues ? { ...t.config, WORKER_TASK_QUEUES: queues } : t.config;
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

/**
 * Docker's own event log, watched live from before a run starts: the daemon keeps only its last 256 events for later
 * queries, and a map of many items produces more. `stop` ends the watch and returns the node label of each `event`
 * seen for the run.
 */
export async function watchContainerEvents(
  docker: Docker,
  event: string,
): Promise<{ stop(runId: string): Promise<string[]> }> {
  const stream = (await docker.getEvents({
    filters: { type: ['container'], event: [event], label: ['io.emboflow.run'] },
  })) as unknown as NodeJS.ReadableStream & { destroy(): void };
  const seen: Array<{ run: string; node: string }> = [];
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop()!;
    for (const l of lines.filter(Boolean)) {
      const labels = (JSON.parse(l) as { Actor: { Attributes: Record<string, string> } }).Actor.Attributes;
      seen.push({ run: labels['io.emboflow.run']!, node: labels['io.emboflow.node']! });
    }
  });
  return {
    async stop(runId: string) {
      // Events reach the stream a moment after they happen.
      await new Promise((r) => setTimeout(r, 1100));
      stream.destroy();
      return seen.filter((e) => e.run === runId).map((e) => e.node);
    },
  };
}
