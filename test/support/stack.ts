// Shared by integration and e2e tests: the real servers `npm run stack -- up` started.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import type { Config } from '../../src/config';

const REPO = join(__dirname, '..', '..');

/** The endpoints the stack recorded, overridden by anything already in the environment. */
export function stackEnv(): Record<string, string> {
  const file = join(process.env.EMBOFLOW_DATA_DIR ?? join(REPO, '.emboflow'), 'stack.env');
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run stack -- up\` first (npm test does)`);
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k in env) env[k] = v;
  return env;
}

/** A config on the real stack with its own database, so test files never see each other's documents. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  const unique = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  return loadConfig({
    LOG_LEVEL: 'warn',
    NODE_ENV: 'test',
    MONGODB_DB: `emboflow_${unique}`,
    // Task queues of their own, so parallel test files never pick up each other's runs.
    TASK_QUEUE_PREFIX: `${unique}-`,
    ...stackEnv(),
    ...overrides,
  });
}
