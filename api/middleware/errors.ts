import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from 'zod';
import { EmboflowError } from '../../src/errors';
import type { Logger } from '../../src/logger';
import { ApiError } from '../errors';

export function zodDetails(err: z.ZodError, prefix?: string) {
  return err.issues.map((i) => ({
    field: [prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(body)',
    message: i.message,
  }));
}

export const notFoundRoute: RequestHandler = (req, _res, next) =>
  next(new ApiError(404, 'not_found', `no route for ${req.method} ${req.path}`));

/** One error shape for every failure; bad input is a 4xx naming the field, never a 5xx. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    let e: EmboflowError;
    if (err instanceof EmboflowError) e = err;
    else if (err instanceof z.ZodError) {
      const details = zodDetails(err);
      e = new ApiError(
        400,
        'validation_failed',
        `invalid request: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`,
        details,
      );
    } else if (err?.type === 'entity.too.large')
      e = new ApiError(413, 'payload_too_large', 'the request body is too large');
    else if (err?.type === 'entity.parse.failed')
      e = new ApiError(400, 'invalid_json', 'the request body is not valid JSON');
    else if (err?.type === 'encoding.unsupported' || err?.type === 'charset.unsupported')
      e = new ApiError(415, 'unsupported_media_type', 'request bodies must be UTF-8 JSON');
    else if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500)
      e = new ApiError(err.status, 'bad_request', String(err.message ?? 'bad request'));
    else {
      logger.error({ err, method: req.method, path: req.path }, 'unhandled error');
      e = new ApiError(500, 'internal', 'internal error');
    }
    if (res.headersSent) return;
    for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
    res
      .status(e.status)
      .json({ error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } });
  };
}

/**
 * Requests Node's HTTP parser refuses (a malformed header, a bad Content-Length) never reach Express; without this
 * Node answers them with an empty 400. They get the one error shape too.
 */
export function answerUnparsableRequests(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify({
      error: tooLarge
        ? { code: 'headers_too_large', message: 'the request headers are too large' }
        : { code: 'bad_request', message: 'the request is not valid HTTP' },
    });
    socket.end(
      `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  });
}
