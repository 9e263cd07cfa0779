import type { RequestHandler } from 'express';
import { ApiError } from '../errors';

/** A token bucket per API key, per API process: `perMinute` sustained with bursts up to `burst`. */
export function rateLimit(opts: { perMinute: number; burst: number }): RequestHandler {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refillPerMs = opts.perMinute / 60_000;
  return (req, _res, next) => {
    const id = req.auth?.keyId ?? req.ip ?? 'anonymous';
    const now = Date.now();
    const b = buckets.get(id) ?? { tokens: opts.burst, at: now };
    b.tokens = Math.min(opts.burst, b.tokens + (now - b.at) * refillPerMs);
    b.at = now;
    buckets.set(id, b);
    if (b.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - b.tokens) / refillPerMs / 1000));
      return next(
        new ApiError(429, 'rate_limited', `too many requests; retry in ${retryAfter}s`, undefined, {
          'Retry-After': String(retryAfter),
        }),
      );
    }
    b.tokens -= 1;
    if (buckets.size > 100_000) buckets.clear();
    next();
  };
}
