import { createServer } from 'node:http';
import { createApp } from '../../api/app';
import { answerUnparsableRequests } from '../../api/middleware/errors';
import { loadConfig } from '../config';
import { connectDatabase } from '../db/mongo';
import { createLogger } from '../logger';
import { createMetrics } from '../metrics';
import { bootstrapAdmin } from '../services/bootstrap';
import { ObjectStore } from '../storage/object-store';
import { connectTemporal } from '../temporal/client';
import { startTracing } from '../tracing';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, { process: 'api' });
  const database = await connectDatabase(config);
  if (config.EMBOFLOW_BOOTSTRAP_API_KEY) {
    const workspaceId = await bootstrapAdmin(database.db, config.EMBOFLOW_BOOTSTRAP_API_KEY);
    if (workspaceId) logger.info({ workspaceId }, 'bootstrapped the first admin and API key');
  }
  const tracing = startTracing(config, 'emboflow-api');
  if (tracing) logger.info({ endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT }, 'tracing runs to an OTLP collector');
  const temporal = await connectTemporal(config, tracing);
  const store = new ObjectStore(config);
  const { app } = createApp({ config, db: database.db, temporal, store, logger, metrics: createMetrics('api') });
  const server = createServer(app);
  answerUnparsableRequests(server);
  // Uploads stream for as long as their bytes take, so no deadline covers a whole request; a connection that
  // moves no byte for a minute is closed instead (an `untimed` route working in silence lifts that while it works).
  server.requestTimeout = 0;
  server.timeout = 60_000;
  server.headersTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(config.PORT, config.API_HOST, resolve));
  logger.info({ host: config.API_HOST, port: config.PORT }, 'api listening');

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'api shutting down');
    server.close(async () => {
      await temporal.connection.close();
      await tracing?.shutdown();
      await database.close();
      store.destroy();
      process.exit(0);
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
