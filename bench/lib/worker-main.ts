// A worker process forked by the bench (see worker-process.ts): either EmboFlow's real workers (createWorkers,
// with a MongoClient whose commands are counted) or the raw-Temporal baseline worker. Its own process, so its
// RSS is the worker's alone. Talks to the parent over IPC only.
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { MongoClient } from 'mongodb';
import { loadConfig } from '../../src/config';
import { ContainerRunner, dockerFromHost } from '../../src/docker/container-runner';
import { createLogger } from '../../src/logger';
import { ObjectStore } from '../../src/storage/object-store';
import { createWorkers } from '../../src/temporal/worker';
import { createBaselineActivities } from '../baseline/activities';
import { CommandCounter } from './mongo-monitor';
import { RssSampler } from './rss';
import type { ChildMessage, ParentMessage, WorkerSpec } from './worker-process';

const send = (m: ChildMessage) => process.send?.(m);

async function main(spec: WorkerSpec): Promise<void> {
  const rss = new RssSampler();
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const config = loadConfig(spec.env);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  let counter: CommandCounter | undefined;
  let client: MongoClient | undefined;
  let workers: Worker[];
  if (spec.kind === 'emboflow') {
    client = new MongoClient(config.MONGODB_URI, {
      monitorCommands: true,
      retryWrites: false,
      maxPoolSize: 50,
      serverSelectionTimeoutMS: 5_000,
    });
    counter = new CommandCounter(client);
    await client.connect();
    workers = await createWorkers({
      config,
      db: client.db(config.MONGODB_DB),
      store: new ObjectStore(config),
      runner: new ContainerRunner(dockerFromHost(config.DOCKER_HOST)),
      logger: createLogger('error', { process: 'bench-worker' }),
      connection,
      workflowBundle: { codePath: spec.bundlePath },
    });
  } else {
    workers = [
      await Worker.create({
        connection,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: `${config.TASK_QUEUE_PREFIX}baseline`,
        workflowBundle: { codePath: spec.bundlePath },
        activities: createBaselineActivities(),
        maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
      }),
    ];
  }
  const running = Promise.all(workers.map((w) => w.run()));

  process.on('message', (m: ParentMessage) => {
    if (m.type === 'stats') {
      send({ type: 'stats', id: m.id, ...rss.take(m.reset), mongo: counter?.take(m.reset) });
    } else if (m.type === 'stop') {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    }
  });
  rss.take(true);
  send({ type: 'ready' });
  await running;
  await connection.close();
  await client?.close();
  rss.stop();
  process.exit(0);
}

// Never outlive the bench: a worker whose parent is gone exits instead of polling on as an orphan.
process.on('disconnect', () => process.exit(0));

// The spec (it carries credentials) arrives over IPC, not on the command line where `ps` shows it.
process.once('message', (m: ParentMessage) => {
  if (m.type !== 'start') return;
  main(m.spec).catch((err: unknown) => {
    send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exitCode = 1;
    process.disconnect?.();
  });
});
