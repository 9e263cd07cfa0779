// Cron validation (the pattern the OpenAPI document states and the walk that names the problem agree) and webhook
// signatures (timestamp window, forged bytes, another secret).
import { CRON_PATTERN, cronProblem } from '../../src/dag/cron';
import { isTimeZone } from '../../src/domain/triggers';
import { verifyWebhook, webhookSignature } from '../../src/services/triggers';

const GOOD = [
  '* * * * *',
  '0 3 * * *',
  '*/15 0-6,22 1 JAN-mar mon-FRI',
  '5 4 ? 12 0/2',
  '@daily',
  '0 0 1 1 7',
  '59 23 31 12 6',
];
const BAD: Array<[string, RegExp]> = [
  ['61 * * * *', /minute: "61"/],
  ['* 24 * * *', /hour: "24"/],
  ['* * 0 * *', /day of month: "0"/],
  ['* * * 13 *', /month: "13"/],
  ['* * * * 8', /day of week: "8"/],
  ['* * *', /5 fields/],
  ['*  * * * *', /5 fields/],
  ['*/0 * * * *', /not a step/],
  ['1-2-3 * * * *', /not a range/],
  ['1,,2 * * * *', /empty list item/],
  ['@fortnightly', /unknown shorthand/],
  ['* * * FOO *', /month: "FOO"/],
];

test.each(GOOD)('accepts %s, and so does the pattern', (cron) => {
  expect(cronProblem(cron)).toBeUndefined();
  expect(CRON_PATTERN.test(cron)).toBe(true);
});

test.each(BAD)('refuses %s, naming why, and so does the pattern', (cron, why) => {
  expect(cronProblem(cron)).toMatch(why);
  expect(CRON_PATTERN.test(cron)).toBe(false);
});

test('time zones are IANA names the runtime knows', () => {
  expect(isTimeZone('Europe/Berlin')).toBe(true);
  expect(isTimeZone('UTC')).toBe(true);
  expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
});

describe('webhook signatures', () => {
  const secret = 'whsec_test';
  const body = Buffer.from('{"a":1}');
  const now = 1_800_000_000_000;
  const ts = String(now / 1000);
  const sig = webhookSignature(secret, ts, body);

  test('a signature over the timestamp and the bytes sent is accepted', () => {
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(() => verifyWebhook(secret, { timestamp: ts, signature: sig }, body, now)).not.toThrow();
    // Within five minutes either way (clocks differ).
    expect(() => verifyWebhook(secret, { timestamp: ts, signature: sig }, body, now + 299_000)).not.toThrow();
  });

  test.each([
    ['another secret', { timestamp: ts, signature: webhookSignature('whsec_other', ts, body) }, body, now],
    ['other bytes', { timestamp: ts, signature: sig }, Buffer.from('{"a":2}'), now],
    ['a timestamp over 5 minutes old', { timestamp: ts, signature: sig }, body, now + 301_000],
    ['no timestamp', { signature: sig }, body, now],
    ['no signature', { timestamp: ts }, body, now],
  ])('%s is refused with 401', (_what, headers, bytes, at) => {
    expect(() => verifyWebhook(secret, headers, bytes, at)).toThrow(expect.objectContaining({ status: 401 }));
  });
});
