// Where the CLI keeps the API URL and key: one JSON file readable by its owner only. EMBOFLOW_API_URL and
// EMBOFLOW_API_KEY override the file, so CI can run the CLI without logging in.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, ExitCode } from './errors';
import type { Io } from './io';

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

export interface Credentials {
  apiUrl: string;
  apiKey: string;
}

export function configPath(io: Pick<Io, 'env' | 'homeDir'>): string {
  const dir = io.env.EMBOFLOW_CONFIG_DIR || join(io.homeDir, '.config', 'emboflow');
  return join(dir, 'config.json');
}

export function readStoredCredentials(io: Pick<Io, 'env' | 'homeDir' | 'stderr'>): Partial<Credentials> {
  const file = configPath(io);
  if (!existsSync(file)) return {};
  if ((statSync(file).mode & 0o077) !== 0) {
    io.stderr.write(`warning: ${file} is readable by other users; run: chmod 600 ${file}\n`);
  }
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Credentials>;
    return {
      apiUrl: typeof parsed.apiUrl === 'string' ? parsed.apiUrl : undefined,
      apiKey: typeof parsed.apiKey === 'string' ? parsed.apiKey : undefined,
    };
  } catch {
    throw new CliError(`${file} is not valid JSON: run \`emboflow login\` again`, ExitCode.failed);
  }
}

/** The credentials to use: environment first, then the file. Throws (exit 5) when there is no key. */
export function resolveCredentials(io: Pick<Io, 'env' | 'homeDir' | 'stderr'>): Credentials {
  const stored = readStoredCredentials(io);
  const apiKey = io.env.EMBOFLOW_API_KEY || stored.apiKey;
  if (!apiKey) {
    throw new CliError(
      'not logged in: run `emboflow login --api-url URL --api-key KEY`, or set EMBOFLOW_API_KEY',
      ExitCode.auth,
    );
  }
  return { apiUrl: io.env.EMBOFLOW_API_URL || stored.apiUrl || DEFAULT_API_URL, apiKey };
}

/** Writes the file atomically, created 0600 in a 0700 folder, so the key is never briefly world-readable. */
export function storeCredentials(io: Pick<Io, 'env' | 'homeDir'>, creds: Credentials): string {
  const file = configPath(io);
  const dir = join(file, '..');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600, flag: 'w' });
  chmodSync(temp, 0o600);
  renameSync(temp, file);
  return file;
}

/** Removes the stored credentials; answers the file's path, or undefined when there was none. */
export function removeCredentials(io: Pick<Io, 'env' | 'homeDir'>): string | undefined {
  const file = configPath(io);
  if (!existsSync(file)) return undefined;
  rmSync(file);
  return file;
}
