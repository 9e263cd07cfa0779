// Cron validation (the pattern the OpenAPI document states and the walk that names the problem agree) and webhook
// signatures (timestamp window, forged bytes, another secret).
import { CRON_PATTERN, cronProblem } from '../../src/dag/cron';
import { isTimeZone, WEBHOOK_TOLERANCE_SECONDS } from '../../src/domain/triggers';
import { signWebhook, verifyWebhook } from '../../src/services/webhook-signature';

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

describe('webhook signatures (trigger deliveries and notifications alike)', () => {
  const secret = 'whsec_test';
  const body = Buffer.from('{"a":1}');
  const nowSeconds = 1_800_000_000;
  const ts = String(nowSeconds);
  const sig = signWebhook(secret, ts, body);

  test('a signature over the timestamp and the bytes sent is accepted, bytes or text alike', () => {
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(signWebhook(secret, ts, body.toString('utf8'))).toBe(sig);
    expect(verifyWebhook(secret, ts, body, sig, { nowSeconds, toleranceSeconds: WEBHOOK_TOLERANCE_SECONDS })).toBe(
      true,
    );
    // Within five minutes either way (clocks differ).
    expect(verifyWebhook(secret, ts, body, sig, { nowSeconds: nowSeconds + 299 })).toBe(true);
  });

  test.each([
    ['another secret', ts, body, signWebhook('whsec_other', ts, body), nowSeconds],
    ['other bytes', ts, Buffer.from('{"a":2}'), sig, nowSeconds],
    ['a timestamp over 5 minutes old', ts, body, sig, nowSeconds + 301],
    ['no timestamp', '', body, sig, nowSeconds],
    ['no signature', ts, body, '', nowSeconds],
  ])('%s is refused', (_what, timestamp, bytes, signature, at) => {
    expect(
      verifyWebhook(secret, timestamp, bytes, signature, {
        nowSeconds: at,
        toleranceSeconds: WEBHOOK_TOLERANCE_SECONDS,
      }),
    ).toBe(false);
  });
});
