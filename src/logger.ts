import pino from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; secrets are redacted by path wherever they could appear. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'emboflow', ...bindings },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.apiKey', '*.secret', '*.secretAccessKey', 'key'],
      censor: '[redacted]',
    },
  });
}
