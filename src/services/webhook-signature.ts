// How EmboFlow's webhooks are signed, both ways — run-end notifications it sends and trigger deliveries it receives:
// HMAC-SHA256 over "<timestamp>.<body>" with the secret, as `X-Emboflow-Signature: sha256=<hex>` beside
// `X-Emboflow-Timestamp` (Unix seconds).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Emboflow-Signature';
export const TIMESTAMP_HEADER = 'X-Emboflow-Timestamp';

/** A new signing secret: shown to its creator once, then only stored encrypted. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

export function signWebhook(secret: string, timestamp: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/**
 * Whether `signature` signs this timestamp and body, in constant time, and the timestamp is within `toleranceSeconds`
 * of `nowSeconds` (a replayed old request fails).
 */
export function verifyWebhook(
  secret: string,
  timestamp: string,
  body: Buffer | string,
  signature: string,
  opts: { nowSeconds?: number; toleranceSeconds?: number } = {},
): boolean {
  if (!/^[0-9]{1,12}$/.test(timestamp)) return false;
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (opts.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
