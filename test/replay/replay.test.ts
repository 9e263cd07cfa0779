// Determinism: every committed history of a representative run replays against the current workflow code.
// A workflow change that would break them must be made with patched() (see workflows/run.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { workflowBundle } from '../support/engine';

const DIR = join(__dirname, 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

beforeAll(() => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
});

test('the recorded histories cover the representative runs', () => {
  expect(files).toEqual(['cancel.json', 'failure-then-retry.json', 'fan-out.json', 'linear.json', 'retry-task.json']);
});

test.each(files)('%s replays without nondeterminism', async (file) => {
  const history = historyFromJSON(JSON.parse(readFileSync(join(DIR, file), 'utf8')));
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, `replay-${file}`);
}, 120_000);
