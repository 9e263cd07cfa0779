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
