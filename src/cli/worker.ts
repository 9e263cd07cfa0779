import { createServer } from 'node:http';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../config';
import { sweepExpired } from '../db/indexes';
import { connectDatabase } from '../db/mongo';
import { ContainerRunner, dockerFromHost } from '../docker/container-runner';
import { reapContainers, reapOutputUploads } from '../docker/reaper';
import { createLogger } from '../logger';
import type { Logger } from '../logger';
import { createMetrics } from '../metrics';
import type { Metrics } from '../metrics';
import { sweepAbandonedUploads } from '../services/asset-uploads';
import { ObjectStore } from '../storage/object-store';
import { createWorkers, deploymentName } from '../temporal/worker';
import { startTracing } from '../tracing';

const RETENTION_SWEEP_MS = 10 * 60_000;

/** The SDK runtime, exporting its metrics on loopback when it can; a taken port costs those metrics, not the worker. */
function installRuntime(sdkMetricsPort: number | undefined, logger: Logger): void {
  const shutdownSignals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  if (sdkMetricsPort) {
    try {
      Runtime.install({
        shutdownSignals,
        telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkMetricsPort}` } } },
      });
      return;
    } catch (err) {
      logger.warn({ err, port: sdkMetricsPort }, 'Temporal SDK metrics not exported');
    }
  }
  Runtime.install({ shutdownSignals });
}

/** GET /metrics: EmboFlow's worker series followed by the Temporal SDK's own (served by the SDK on loopback). */
function serveMetrics(metrics: Metrics, port: number, sdkPort: number) {
  return createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(req.url === '/healthz' ? 200 : 404).end(req.url === '/healthz' ? 'ok' : '');
      return;
    }
    void (async () => {
      const own = await metrics.registry.metrics();
      const sdk = await fetch(`http://127.0.0.1:${sdkPort}/metrics`).then(
        (r) => r.text(),
        () => '',
      );
      res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(`${own}\n${sdk}`);
    })();
  }).listen(port);
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, { process: 'worker' });
  // The SDK drains workers on SIGINT/SIGTERM: in-flight activities get shutdownGraceTime to finish.
  installRuntime(config.WORKER_METRICS_PORT ? config.WORKER_SDK_METRICS_PORT : undefined, logger);
  const metrics = createMetrics('worker');
  const database = await connectDatabase(config);
  const store = new ObjectStore(config);
  const runner = new ContainerRunner(dockerFromHost(config.DOCKER_HOST));
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const tracing = startTracing(config, 'emboflow-worker');
  if (tracing) logger.info({ endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT }, 'tracing runs to an OTLP collector');
  const workers = await createWorkers({ config, db: database.db, store, runner, logger, connection, metrics, tracing });
  const metricsServer = config.WORKER_METRICS_PORT
    ? serveMetrics(metrics, config.WORKER_METRICS_PORT, config.WORKER_SDK_METRICS_PORT)
    : undefined;
  // A taken port costs the metrics endpoint, not the worker.
  metricsServer?.on('error', (err) =>
    logger.warn({ err, port: config.WORKER_METRICS_PORT }, 'metrics endpoint not served'),
  );
  logger.info({ taskQueues: config.WORKER_TASK_QUEUES }, 'worker started');
  // Retention the database cannot enforce itself, and resumable uploads abandoned past their expiry.
  const sweeper = setInterval(() => {
    sweepExpired(database.db, database.sweptRetention).catch((err) => logger.warn({ err }, 'retention sweep failed'));
    sweepAbandonedUploads(database.db, store)
      .then((n) => n && logger.info({ uploads: n }, 'aborted expired uploads'))
      .catch((err) => logger.warn({ err }, 'upload sweep failed'));
  }, RETENTION_SWEEP_MS);
  const reaper = setInterval(() => {
    reapContainers(runner, database.db, deploymentName(config), Date.now(), config.REAPER_GRACE_SECONDS * 1000)
      .then((removed) => removed.length && logger.info({ removed }, 'reaped orphaned node containers'))
      .catch((err) => logger.warn({ err }, 'container reaper failed'));
    reapOutputUploads(store, database.db, Date.now(), config.REAPER_GRACE_SECONDS * 1000)
      .then((aborted) => aborted.length && logger.info({ aborted }, 'aborted abandoned output uploads'))
      .catch((err) => logger.warn({ err }, 'output upload reaper failed'));
  }, config.REAPER_INTERVAL_SECONDS * 1000);
  try {
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    clearInterval(sweeper);
    clearInterval(reaper);
    metricsServer?.close();
    await connection.close();
    await tracing?.shutdown();
    await database.close();
    store.destroy();
    logger.info('worker stopped');
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
