import type { Client } from '@temporalio/client';
import express, { Router } from 'express';
import type { Express } from 'express';
import type { Db } from 'mongodb';
import type { Config } from '../src/config';
import { AnnotationTaskRepository } from '../src/db/annotations';
import { ExecutionLogRepository } from '../src/db/execution-logs';
import { ProjectRepository } from '../src/db/identity';
import type { Logger } from '../src/logger';
import type { Metrics } from '../src/metrics';
import { AuditLog } from '../src/services/audit';
import { Authenticator } from '../src/services/auth';
import { BulkRunActions } from '../src/services/bulk-runs';
import { RunActions } from '../src/services/run-actions';
import { RunEventStream } from '../src/services/run-events';
import { RunQueries } from '../src/services/run-queries';
import { RunService } from '../src/services/runs';
import { SecretBox, SecretStore } from '../src/services/secrets';
import { TriggerService } from '../src/services/triggers';
import type { ObjectStore } from '../src/storage/object-store';
import { authenticate } from './middleware/auth';
import { jsonBody } from './middleware/body';
import { errorHandler, notFoundRoute } from './middleware/errors';
import { rateLimit } from './middleware/rate-limit';
import { ApiRegistry, methodNotAllowed, openApiDocument, UNTIMED } from './registry';
import { registerRoutes } from './routes';
import type { RunRouteDeps } from './routes/runs';

export interface AppDeps {
  config: Config;
  db: Db;
  temporal: Client;
  store: ObjectStore;
  logger: Logger;
  metrics: Metrics;
}

export interface AppContext extends AppDeps, RunRouteDeps {
  authenticator: Authenticator;
  triggers: TriggerService;
}

/** The services the routes call, built once from the app's dependencies. */
function createContext(deps: AppDeps): AppContext {
  const runs = new RunService(deps.db, deps.temporal, deps.config);
  const runQueries = new RunQueries(
    runs.store,
    new ProjectRepository(deps.db),
    new AnnotationTaskRepository(deps.db),
    deps.store,
  );
  const audit = new AuditLog(deps.db);
  const runActions = new RunActions(runs, runQueries, audit, () => deps.metrics.runsStarted.inc());
  const triggers = new TriggerService(
    deps.db,
    deps.temporal,
    runs,
    audit,
    new SecretStore(deps.db, new SecretBox(deps.config.EMBOFLOW_SECRET_KEY)),
    deps.config,
  );
  return {
    ...deps,
    runs,
    triggers,
    runQueries,
    runActions,
    bulkRuns: new BulkRunActions(runs.store, runs, runActions, audit),
    runEvents: new RunEventStream(runs.store, new ExecutionLogRepository(deps.db)),
    authenticator: new Authenticator(deps.db),
  };
}

const REQUEST_TIMEOUT_MS = 30_000;

/** The Express app, with no listen(): the process entry point or a test serves it. */
export function createApp(
  deps: AppDeps,
  opts: { rateLimitPerMinute?: number } = {},
): { app: Express; registry: ApiRegistry } {
  const ctx = createContext(deps);
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const end = deps.metrics.httpRequests.startTimer({ method: req.method });
    const timer = setTimeout(() => {
      if (!res.headersSent && !res.locals[UNTIMED])
        res.status(503).json({ error: { code: 'timeout', message: `no answer within ${REQUEST_TIMEOUT_MS / 1000}s` } });
    }, REQUEST_TIMEOUT_MS);
    res.on('close', () => {
      clearTimeout(timer);
      end({ route: req.route?.path ?? 'unmatched', status: String(res.statusCode) });
    });
    next();
  });

  const publicRouter = Router();
  const authed = Router();
  authed.use(authenticate(ctx.authenticator));
  const perMinute = opts.rateLimitPerMinute ?? 6000;
  authed.use(rateLimit({ perMinute, burst: Math.max(10, Math.ceil(perMinute / 10)) }));
  const registry = new ApiRegistry(publicRouter, authed);
  registerRoutes(registry, ctx);
  const openapi = openApiDocument(registry.specs, '1.0.0');
  publicRouter.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  // Before the body parser: a method the path does not declare is a 405 whatever its body.
  app.use(methodNotAllowed([...registry.specs, { method: 'get', path: '/openapi.json' }]));
  app.use(jsonBody());
  app.use(publicRouter);
  app.use(authed);
  app.use(notFoundRoute);
  app.use(errorHandler(deps.logger));
  return { app, registry };
}
