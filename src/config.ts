import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(/^[A-Za-z0-9._-]+$/, 'task queue names are letters, digits, . _ -')).min(1));

const port = z.coerce.number().int().min(1).max(65535);

/** The whole process environment EmboFlow reads. Nothing else reads process.env. */
export const ConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: port.default(8080),
  /** The address the API listens on; unset, every interface (a test or a single-host setup may keep it to 127.0.0.1). */
  API_HOST: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  API_PUBLIC_URL: z.url().optional(),

  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_UI_URL: z.url().default('http://127.0.0.1:8233'),
  /** The queue run workflows are scheduled on; nodes go to their own executorConfig.taskQueue. */
  RUN_TASK_QUEUE: z.string().min(1).default('emboflow-runs'),
  WORKER_TASK_QUEUES: csv.default(['emboflow-runs', 'default']),
  /** Prepended to every task queue name: lets several deployments (or test suites) share one namespace. */
  TASK_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]{0,64}$/)
    .default(''),
  /** GPUs this worker's engine offers: with any, it also polls each queue's `.gpu` twin, where GPU nodes run. */
  WORKER_GPUS: z.coerce.number().int().min(0).max(64).default(0),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).max(1000).default(16),
  /** Identifies this worker in task records and Temporal (default: host name and pid). */
  WORKER_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:@-]{1,128}$/)
    .optional(),
  /** The worker's /metrics (EmboFlow series and the Temporal SDK's); 0 turns it off. */
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  WORKER_SDK_METRICS_PORT: z.coerce.number().int().min(1).max(65535).default(9465),
  /** Containers one workspace may run at once across all workers; 0: no limit. A workspace's settings may lower it. */
  WORKSPACE_MAX_RUNNING_CONTAINERS: z.coerce.number().int().min(0).max(100_000).default(64),
  /** A run's execution continues as new past this many history events (Temporal's hard limit is 51,200). */
  CONTINUE_AS_NEW_AFTER_EVENTS: z.coerce.number().int().min(100).max(40_000).default(10_000),
  /** A prebuilt workflow bundle (npm run build:workflows); without it the worker bundles workflows/ at start-up. */
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  /** How often the worker removes orphaned node containers, and how old a container must be to be considered. */
  REAPER_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
  REAPER_GRACE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  WORKER_SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  /**
   * How often the reconciler (a Temporal Schedule the worker creates) brings the mirror in line with Temporal: runs
   * whose execution closed without finishing their mirror (terminate, timeout, reset) converge within one interval
   * and a pass. 0: this worker neither creates nor updates the schedule.
   */
  RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(3600).default(10),

  MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// or mongodb+srv:// URI'),
  MONGODB_DB: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/)
    .default('emboflow'),

  S3_ENDPOINT: z.url().optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().min(1),
  S3_SECRET_ACCESS_KEY: z.string().min(1),
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name'),

  DOCKER_HOST: z.string().optional(),
  /** Image every sample and test node runs unless it names another. */
  EMBOFLOW_TOOLS_IMAGE: z.string().min(1).default('emboflow/tools:local'),
  EMBOFLOW_BOOTSTRAP_API_KEY: z.string().min(20).optional(),
  /** Encrypts stored credentials (storage-connection secrets); without it the API refuses to accept any. */
  EMBOFLOW_SECRET_KEY: z.string().min(32).optional(),

  /** An OTLP/HTTP collector's base URL: set, and runs are traced (src/tracing.ts); unset, tracing is off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).max(100).optional(),

  /** Where `npm run stack` keeps its state; its stack.env fills what the environment leaves unset (withStackEnv). */
  EMBOFLOW_DATA_DIR: z.string().min(1).optional(),
});

export type Config = z.infer<typeof ConfigSchema>;

/** Thrown at start-up when the environment is invalid; the message names every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

/** `$EMBOFLOW_DATA_DIR/stack.env`, by default `<repo>/.emboflow/stack.env` as scripts/lib.sh puts it. */
export function stackEnvPath(env: Env): string {
  if (env.EMBOFLOW_DATA_DIR) return join(env.EMBOFLOW_DATA_DIR, 'stack.env');
  // This file is <repo>/src/config.ts, or <repo>/dist/src/config.js once built.
  const parent = resolve(__dirname, '..');
  const repo = existsSync(join(parent, 'package.json')) ? parent : resolve(parent, '..');
  return join(repo, '.emboflow', 'stack.env');
}

/**
 * `env` with the endpoints `npm run stack -- up` recorded filling the keys it leaves unset or empty, so `npm run api`
 * works after `stack up` without sourcing the file. No file: `env` as it is. Blank and `#` lines are skipped; any
 * other line that is not KEY=VALUE throws ConfigError naming the line (not its text, which may hold a secret).
 */
export function withStackEnv(env: Env, file = stackEnvPath(env)): Env {
  if (!existsSync(file)) return env;
  const merged: Record<string, string | undefined> = { ...env };
  for (const [i, line] of readFileSync(file, 'utf8').split('\n').entries()) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, Math.max(eq, 0));
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new ConfigError(`${file} line ${i + 1}: expected KEY=VALUE`);
    if (!merged[key]) merged[key] = line.slice(eq + 1);
  }
  return merged;
}

/** Parses `env`; by default the process environment over the stack's stack.env. */
export function loadConfig(env: Env = withStackEnv(process.env)): Config {
  // Empty strings mean "unset", as shells and compose files produce them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = ConfigSchema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
  }
  return parsed.data;
}
