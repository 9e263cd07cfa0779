import { parseCommandArgs } from '../../src/cli/emboflow/args';
import type { Context } from '../../src/cli/emboflow/args';
import { runBulkCancel, runBulkRetry } from '../../src/cli/emboflow/commands/runs';
import { BULK_RUN_MAX, bulkRunBody } from '../../src/domain/bulk-runs';

const fields = (action: 'cancel' | 'retry', body: unknown) => {
  const r = bulkRunBody(action).safeParse(body);
  return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
};

test('an empty filter selects every run the action applies to, acting on at most the maximum', () => {
  expect(bulkRunBody('cancel').parse({})).toEqual({ dryRun: false, limit: BULK_RUN_MAX });
});

test('cancel takes only unfinished statuses; retry only failed, cancelled and timed-out ones', () => {
  expect(fields('cancel', { status: ['pending', 'running'] })).toEqual([]);
  expect(fields('cancel', { status: ['running', 'failed'] })).toEqual(['status.1']);
  expect(fields('retry', { status: ['failed', 'cancelled', 'timed_out'] })).toEqual([]);
  expect(fields('retry', { status: ['running'] })).toEqual(['status.0']);
  expect(fields('retry', { status: [] })).toEqual(['status']);
});

test('a window must be ISO 8601 date-times with createdAfter before createdBefore', () => {
  expect(
    fields('cancel', { createdAfter: '2026-01-01T00:00:00Z', createdBefore: '2026-01-02T00:00:00+02:00' }),
  ).toEqual([]);
  expect(fields('cancel', { createdAfter: '2026-01-02T00:00:00Z', createdBefore: '2026-01-01T00:00:00Z' })).toEqual([
    'createdAfter',
  ]);
  expect(fields('cancel', { createdAfter: '2026-01-01T00:00:00Z', createdBefore: '2026-01-01T00:00:00Z' })).toEqual([
    'createdAfter',
  ]);
  expect(fields('retry', { createdBefore: '2026-13-01T00:00:00Z' })).toEqual(['createdBefore']);
  expect(fields('retry', { createdAfter: 1767225600000 })).toEqual(['createdAfter']);
});

test('limit is 1 to the maximum and unknown fields are refused', () => {
  expect(fields('cancel', { limit: 0 })).toEqual(['limit']);
  expect(fields('cancel', { limit: BULK_RUN_MAX + 1 })).toEqual(['limit']);
  expect(fields('cancel', { runIds: ['run_1'] })).toEqual(['']);
});

describe('emboflow run bulk-cancel / bulk-retry', () => {
  function fakeContext(answer: unknown) {
    const calls: Array<{ path: string; body: unknown }> = [];
    const lines: string[] = [];
    const ctx = {
      json: false,
      out: (text = '') => void lines.push(text),
      printJson: (v: unknown) => void lines.push(JSON.stringify(v)),
      client: () => ({
        post: async (path: string, body: unknown) => {
          calls.push({ path, body });
          return answer;
        },
      }),
    } as unknown as Context;
    return { ctx, calls, lines };
  }

  test('sends the filter as the bulk route states it and prints the dry-run count', async () => {
    const { ctx, calls, lines } = fakeContext({ dryRun: true, matched: 2, runIds: ['run_a', 'run_b'] });
    const argv = ['--project', 'prj_1', '--workflow', 'wfl_1', '--status', 'running', '--status', 'pending'];
    const args = parseCommandArgs(runBulkCancel, [...argv, '--created-after', '2026-01-01T00:00:00Z', '--dry-run']);
    expect(await runBulkCancel.run(ctx, args)).toBe(0);
    expect(calls).toEqual([
      {
        path: '/v1/projects/prj_1/runs/bulk-cancel',
        body: {
          workflowId: 'wfl_1',
          status: ['running', 'pending'],
          createdAfter: '2026-01-01T00:00:00Z',
          dryRun: true,
        },
      },
    ]);
    expect(lines).toEqual(['2 runs match: run_a run_b']);
  });

  test('a real retry prints its counts and fails (exit 1) when some run could not be retried', async () => {
    const answer = { dryRun: false, matched: 3, runIds: [], retried: 1, skipped: 1, remaining: 0 };
    const { ctx, lines } = fakeContext({ ...answer, errors: [{ runId: 'run_c', message: 'boom' }] });
    const args = parseCommandArgs(runBulkRetry, ['--project', 'prj_1', '--limit', '3']);
    expect(await runBulkRetry.run(ctx, args)).toBe(1);
    expect(lines).toEqual(['3 matched, 1 retried, 1 skipped, 0 left', 'run_c: boom']);
  });

  test('--project is required', async () => {
    const { ctx } = fakeContext({});
    await expect(runBulkCancel.run(ctx, parseCommandArgs(runBulkCancel, ['--dry-run']))).rejects.toThrow(
      '--project ID is required',
    );
  });
});
