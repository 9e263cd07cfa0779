// `npm start` as a person runs it, in its run-once mode: the sample succeeds and its Web UI link serves the run.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

test('npm start runs the sample workflow to success and its Temporal Web UI link serves that run', () => {
  const port = 20_000 + Math.floor(Math.random() * 10_000);
  const out = spawnSync('bash', [join(__dirname, '..', '..', 'scripts', 'start.sh')], {
    env: { ...process.env, PORT: String(port), EMBOFLOW_START_ONCE: '1' },
    encoding: 'utf8',
    timeout: 240_000,
  });
  const text = `${out.stdout}\n${out.stderr}`;
  expect(out.status).toBe(0);
  expect(text).toMatch(/run run_\w+ success/);
  for (const node of ['probe', 'validate', 'convert', 'report']) expect(text).toMatch(new RegExp(`${node}\\s+success in \\d+ ms`));
  expect(text).toContain('- normalized records: 240');
  expect(text).toMatch(/Temporal Web UI page: HTTP 200; the UI's API reports the workflow WORKFLOW_EXECUTION_STATUS_COMPLETED/);
  expect(text).toContain(`API              http://127.0.0.1:${port}`);
}, 300_000);
