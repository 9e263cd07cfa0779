// `npm start` as a person runs it, in its run-once mode: the sample succeeds and its Web UI link serves the run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

const REPO = join(__dirname, '..', '..');

function apiProcessesIn(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes('src/cli/api.ts') && realpathSync(readlinkSync(`/proc/${pid}/cwd`)) === realpathSync(dir))
        found.push(`${pid}: ${cmd}`);
    } catch {
      // The process ended while it was being read.
    }
  }
  return found;
}

test('npm start runs the sample workflow to success and its Temporal Web UI link serves that run', () => {
  const port = 20_000 + Math.floor(Math.random() * 10_000);
  const out = spawnSync('bash', [join(REPO, 'scripts', 'start.sh')], {
    env: { ...process.env, PORT: String(port), EMBOFLOW_START_ONCE: '1' },
    encoding: 'utf8',
    timeout: 240_000,
  });
  const text = `${out.stdout}\n${out.stderr}`;
  expect(out.status).toBe(0);
  expect(text).toMatch(/run run_\w+ success/);
  for (const node of ['probe', 'validate', 'convert', 'report'])
    expect(text).toMatch(new RegExp(`${node}\\s+success in \\d+ ms`));
  expect(text).toContain('- normalized records: 240');
  expect(text).toMatch(
    /Temporal Web UI page: HTTP 200; the UI's API reports the workflow WORKFLOW_EXECUTION_STATUS_COMPLETED/,
  );
  expect(text).toContain(`API              http://127.0.0.1:${port}`);
  // It stops what it started: nothing of this start is left running.
  const pids = [...text.matchAll(/(?:worker|API) pid (\d+)/g)].map((m) => Number(m[1]));
  expect(pids).toHaveLength(2);
  expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
  // Nor a child of them: no API process of this checkout is left (only npm start runs src/cli/api.ts here).
  expect(apiProcessesIn(REPO)).toEqual([]);
}, 300_000);
