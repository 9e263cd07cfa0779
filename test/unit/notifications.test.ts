import { createHmac } from 'node:crypto';
import { CreateNotificationEndpointBody, deliveryVerdict } from '../../src/domain/notifications';
import { newSigningSecret, signWebhook, verifyWebhook } from '../../src/services/webhook-signature';

describe('the notification signature', () => {
  const secret = 'whsec_test';
  const body = '{"event":"run.finished","runId":"run_1","status":"success"}';

  test('is sha256=<hex HMAC-SHA256 of "<timestamp>.<body>"> with the endpoint secret', () => {
    const expected = createHmac('sha256', secret).update(`1767225600.${body}`).digest('hex');
    expect(signWebhook(secret, '1767225600', body)).toBe(`sha256=${expected}`);
  });

  test('verifies only the same secret, timestamp and body, within the tolerance', () => {
    const now = 1_767_225_600;
    const sig = signWebhook(secret, String(now), body);
    expect(verifyWebhook(secret, String(now), body, sig, { nowSeconds: now + 10 })).toBe(true);
    expect(verifyWebhook('whsec_other', String(now), body, sig, { nowSeconds: now })).toBe(false);
    expect(verifyWebhook(secret, String(now + 1), body, sig, { nowSeconds: now })).toBe(false);
    expect(verifyWebhook(secret, String(now), `${body} `, sig, { nowSeconds: now })).toBe(false);
    expect(verifyWebhook(secret, String(now), body, sig.slice(0, -1), { nowSeconds: now })).toBe(false);
    // A replay after the tolerance (default 5 minutes) fails even with the right signature.
    expect(verifyWebhook(secret, String(now), body, sig, { nowSeconds: now + 301 })).toBe(false);
    expect(verifyWebhook(secret, 'soon', body, sig, { nowSeconds: now })).toBe(false);
  });

  test('secrets are new each time: 32 random bytes, base64url', () => {
    const a = newSigningSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(newSigningSecret()).not.toBe(a);
  });
});

test.each([
  [200, 'delivered'],
  [204, 'delivered'],
  [500, 'retry'],
  [503, 'retry'],
  [408, 'retry'],
  [429, 'retry'],
  [302, 'retry'],
  [400, 'give_up'],
  [404, 'give_up'],
  [410, 'give_up'],
])('a receiver answering %i means %s', (status, verdict) => {
  expect(deliveryVerdict(status)).toBe(verdict);
});

describe('an endpoint URL', () => {
  const fieldsOf = (body: unknown) => {
    const r = CreateNotificationEndpointBody.safeParse(body);
    return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
  };

  test.each(['https://hooks.example.com/emboflow', 'http://127.0.0.1:8080/x?y=1'])('%s is accepted', (url) => {
    expect(fieldsOf({ url })).toEqual([]);
  });

  test.each([
    'ftp://example.com/x',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'example.com/hook',
    'http://user:pass@example.com/x',
    `https://example.com/${'a'.repeat(2000)}`,
  ])('%s is refused, naming url', (url) => {
    expect(fieldsOf({ url })).toContain('url');
  });

  test('unknown fields are refused', () => {
    expect(fieldsOf({ url: 'https://example.com', secret: 'mine' })).toEqual(['']);
  });
});
