// Schemathesis (PyPI, pinned in scripts/lib.sh) fuzzes the API from its own /openapi.json with an owner's key:
// examples, coverage, fuzzing and stateful phases (the document's links carry real ids from creating operations to
// the rest). Every failure it reports -- a server error, a schema-valid request refused, a schema-violating one
// accepted, a wrong answer to an undeclared method -- fails this test, with Schemathesis's own report printed.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { seedTenant, startPlatformApp } from './helpers/platform';
import type { PlatformApp } from './helpers/platform';

const REPO = path.resolve(__dirname, '../..');
const MAX_EXAMPLES = 10;
const TIME_LIMIT_MS = 8 * 60_000;

let t: PlatformApp;
let apiKey: string;
let python: string;
/** Schemathesis's working directory: its caches stay out of the repository. */
let workDir: string;

beforeAll(async () => {
  // Installs on first use into the cache (a venv with its dependencies); prints the venv's python.
  python = execFileSync('bash', ['-c', 'source scripts/lib.sh && install_schemathesis'], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 5 * 60_000,
  }).trim();
  workDir = mkdtempSync(path.join(tmpdir(), 'emboflow-schemathesis-'));
  t = await startPlatformApp();
  apiKey = (await seedTenant(t, 'fuzz')).as.owner.apiKey;
}, 6 * 60_000);

afterAll(async () => {
  await t?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** The whole report goes to a file beside the test results; the log gets its summary. */
function keepReport(output: string): string {
  const dir = path.join(process.env.EMBOFLOW_DATA_DIR ?? path.join(REPO, '.emboflow'), 'test-results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'schemathesis.txt');
  writeFileSync(file, output);
  return file;
}

/**
 * Schemathesis frames its summary in pytest's banner lines ("==== 2 warnings in 69s ===="); CI reads such a line as
 * pytest's closing line (a pytest run that executed nothing), so the banners never reach the log.
 */
function unframed(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^\s*={3,}/.test(line))
    .join('\n');
}

function summaryOf(output: string): string {
  return unframed(output.slice(output.lastIndexOf('\n', output.indexOf('SUMMARY')) + 1));
}

function schemathesis(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-m', 'schemathesis.cli', ...args], {
      cwd: workDir,
      env: { ...process.env, NO_COLOR: '1' },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIME_LIMIT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

it(
  'finds no failure and no server error in any operation, in every phase',
  async () => {
    const { code, output } = await schemathesis([
      '--config-file',
      path.join(__dirname, 'schemathesis/schemathesis.toml'),
      '--no-color',
      'run',
      `${t.url}/openapi.json`,
      '-H',
      `Authorization: Bearer ${apiKey}`,
      // Every check runs (the default; naming them here would override the per-operation settings in the toml).
      '--max-examples',
      String(MAX_EXAMPLES),
      '--seed',
      '20261201',
      '--generation-database',
      'none',
      '--workers',
      '2',
      '--request-timeout',
      '30',
      // The live event stream answers for as long as its run lasts: no request to it ever ends.
      '--exclude-path',
      '/v1/runs/{runId}/events',
    ]);
    const cases = /(\d+) generated/.exec(output)?.[1];
    const report = keepReport(output);
    console.log(`schemathesis: ${cases ?? '?'} cases generated (whole report: ${report})\n${summaryOf(output)}`);
    if (code !== 0) throw new Error(`schemathesis exited ${code} (whole report: ${report}):\n${unframed(output)}`);
    expect(Number(cases)).toBeGreaterThan(0);
    expect(output).not.toMatch(/Server error/i);
  },
  TIME_LIMIT_MS + 60_000,
);
