import express from 'express';
import type { Request, RequestHandler } from 'express';
import { BODY_FORBIDDEN_KEYS } from '../../src/domain/common';
import { ApiError, badRequest } from '../errors';

export const MAX_BODY_BYTES = 1024 * 1024;
const MAX_DEPTH = 32;
const FORBIDDEN_KEYS = new Set<string>(BODY_FORBIDDEN_KEYS);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Finds the first key that could smuggle a MongoDB operator or touch prototypes, or nesting beyond MAX_DEPTH. */
export function findHostileKey(value: unknown, path = '', depth = 0): { path: string; reason: string } | undefined {
  if (depth > MAX_DEPTH) return { path: path || '(body)', reason: `nesting deeper than ${MAX_DEPTH} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findHostileKey(value[i], `${path}[${i}]`, depth + 1);
      if (found) return found;
    }
  } else if (value && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      const p = path ? `${path}.${key}` : key;
      if (key.startsWith('$')) return { path: p, reason: 'keys starting with $ are not allowed' };
      if (FORBIDDEN_KEYS.has(key)) return { path: p, reason: `the key ${key} is not allowed` };
      if (key.includes('\u0000')) return { path: p, reason: 'keys may not contain NUL' };
      const found = findHostileKey((value as Record<string, unknown>)[key], p, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Routes that take raw bytes (application/octet-stream) instead of JSON. Their body is left unread here: the
 * handler streams it on to object storage after authorizing the caller, so no one unauthenticated can make the
 * API read an upload, and no upload is ever held whole.
 */
export const RAW_BODY_ROUTES: ReadonlyArray<{ method: string; path: RegExp }> = [
  { method: 'POST', path: /^\/v1\/projects\/[^/]+\/assets\/upload\/?$/i },
  { method: 'PUT', path: /^\/v1\/asset-uploads\/[^/]+\/parts\/[^/]+\/?$/i },
];

function isRawBodyRequest(req: Request): boolean {
  if (!isOctetStream(req)) return false;
  return RAW_BODY_ROUTES.some((r) => r.method === req.method && r.path.test(req.path));
}

function isOctetStream(req: Request): boolean {
  return /^application\/octet-stream\b/i.test(req.headers['content-type'] ?? '');
}

/** Routes whose JSON body is signed by its sender (webhook deliveries): the parser keeps their bytes too. */
const SIGNED_BODY_PATH = /^\/v1\/hooks\/[^/]+\/?$/i;
type WithRawBody = Request & { rawJsonBody?: Buffer };

/** The bytes of a signed route's JSON body as they arrived (empty when it had none). */
export function rawJsonBody(req: Request): Buffer {
  return (req as WithRawBody).rawJsonBody ?? Buffer.alloc(0);
}

/** A raw-bytes route's handler calls this once it has authorized the caller: anything else is a 415. */
export function requireOctetStream(req: Request): void {
  if (!isOctetStream(req)) throw new ApiError(415, 'unsupported_media_type', 'uploads are application/octet-stream');
}

/** JSON bodies only, strictly UTF-8, size-limited, with hostile keys rejected before any handler sees them. */
export function jsonBody(): RequestHandler[] {
  const parse = express.json({
    limit: MAX_BODY_BYTES,
    strict: true,
    type: () => true,
    verify: (req, _res, buf) => {
      try {
        utf8.decode(buf);
      } catch {
        throw badRequest('the request body is not valid UTF-8');
      }
      // A signed webhook delivery is verified over the bytes as sent (at most MAX_BODY_BYTES).
      if (SIGNED_BODY_PATH.test((req as Request).path)) (req as WithRawBody).rawJsonBody = buf;
    },
  });
  return [
    (req, res, next) => {
      if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE') return next();
      if (isRawBodyRequest(req)) return next();
      const type = req.headers['content-type'];
      if (req.headers['content-length'] !== '0' && type && !/^application\/([a-z.+-]*\+)?json\b/i.test(type)) {
        return next(new ApiError(415, 'unsupported_media_type', 'request bodies must be application/json'));
      }
      parse(req, res, next);
    },
    (req, _res, next) => {
      const hostile = findHostileKey(req.body);
      if (hostile) return next(badRequest(`${hostile.path}: ${hostile.reason}`, { field: hostile.path }));
      next();
    },
  ];
}
