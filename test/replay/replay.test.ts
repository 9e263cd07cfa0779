// Determinism: every committed history of a representative run replays against the current workflow code.
// A workflow change that would break them must be made with patched() (see workflows/run.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { workflowBundle } from '../support/engine';

const DIR = join(__dirname, 'histories');
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

beforeAll(() => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
});

const SCENARIOS = ['cancel', 'failure-then-retry', 'fan-out', 'linear', 'retry-task'];
/** Recorded once, with the code that introduced them: a map run and its map node's child workflow. */
const LATER_SCENARIOS = ['map', 'map-items'];
/** Likewise: a run with a workflow node, and the child run it started. */
const SUB_WORKFLOW_SCENARIOS = ['sub-workflow', 'sub-workflow-child'];

type HistoryJSON = { events: Array<Record<string, any>> };

/**
 * The workflow id a history replays under: a run with map nodes names their child workflows after its own id, so it
 * replays under the id it ran with; others under a name of the test's.
 */
function replayWorkflowId(file: string): string {
  const child = readHistory(file).events.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes);
  const childId = child?.startChildWorkflowExecutionInitiatedEventAttributes.workflowId as string | undefined;
  // A sub-workflow's run is named after its own run id, not its parent's.
  return childId?.includes('.map.') ? childId.slice(0, childId.indexOf('.map.')) : `replay-${file}`;
}

const readHistory = (file: string) => JSON.parse(readFileSync(join(DIR, file), 'utf8')) as HistoryJSON;

/** The patch ids a history's executions recorded (core_patch markers). */
function patchesOf(file: string): string[] {
  const { events } = readHistory(file);
  return events
    .map((e) => e.markerRecordedEventAttributes)
    .filter((m) => m?.markerName === 'core_patch')
    .flatMap((m) => Object.values(m.details ?? {}).flatMap((d: any) => d.payloads ?? []))
    .map((p: { data: string }) => (JSON.parse(Buffer.from(p.data, 'base64').toString('utf8')) as { id: string }).id)
    .sort();
}

test('the recorded histories cover the representative runs, from before the patched changes and after them', () => {
  // The first recordings predate every patch; the v2 ones carry today's, so both branches of each patched() replay.
  expect(files).toEqual(
    [
      ...SCENARIOS.flatMap((s) => [`${s}.json`, `${s}.v2.json`]),
      ...LATER_SCENARIOS.map((s) => `${s}.v3.json`),
      ...SUB_WORKFLOW_SCENARIOS.map((s) => `${s}.v4.json`),
    ].sort(),
  );
  for (const s of SCENARIOS) {
    expect(patchesOf(`${s}.json`)).toEqual([]);
    expect(patchesOf(`${s}.v2.json`)).toEqual(['builtin-nodes-write-once', 'mirror-writes-in-background']);
  }
});

test.each(files)(
  '%s replays without nondeterminism',
  async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(join(DIR, file), 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, replayWorkflowId(file));
  },
  120_000,
);

// The check above must be able to fail: the same history, edited so that it records a command today's code does not
// issue, is refused as nondeterministic (not merely "some error": a broken bundle or a bad history fails differently).
test.each([
  [
    'activity type',
    'activityType',
    { name: 'executeBuiltinNode' },
    /Activity type of scheduled event 'executeBuiltinNode'/,
  ],
  ['activity id', 'activityId', 'not-a.g0', /Activity id of scheduled event 'not-a\.g0'/],
])(
  'linear.v2.json with its first scheduled activity given another %s fails with a DeterminismViolationError',
  async (_what, field, value, detail) => {
    const { events } = readHistory('linear.v2.json');
    const first = events.find((e) => e.activityTaskScheduledEventAttributes)!.activityTaskScheduledEventAttributes;
    // What the workflow schedules first for this graph: the edit replaces it.
    expect(first).toMatchObject({ activityId: 'a.g0', activityType: { name: 'executeDockerNode' } });
    first[field] = value;

    const history = historyFromJSON({ events });
    const error: unknown = await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeterminismViolationError);
    expect(error).toMatchObject({ name: 'DeterminismViolationError', message: expect.stringMatching(detail) });
  },
  120_000,
);

test('sub-workflow.v4.json with its child workflow given another type fails with a DeterminismViolationError', async () => {
  const { events } = readHistory('sub-workflow.v4.json');
  const started = events.find(
    (e) => e.startChildWorkflowExecutionInitiatedEventAttributes,
  )!.startChildWorkflowExecutionInitiatedEventAttributes;
  // The workflow node starts the child run's own run workflow: the edit names another.
  expect(started.workflowType).toEqual({ name: 'runWorkflow' });
  started.workflowType = { name: 'mapNodeWorkflow' };
  const error: unknown = await Worker.runReplayHistory(
    { workflowBundle: await workflowBundle() },
    historyFromJSON({ events }),
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeterminismViolationError);
}, 120_000);
