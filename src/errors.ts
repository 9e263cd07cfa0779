// EmboFlow's one error hierarchy. Every error the platform raises on purpose is an EmboflowError: it carries the
// HTTP status it maps to, a stable code, details naming the offending field, and the original error in `cause`.
// Services and repositories stay free of Express; the API's error middleware is the one place that renders these
// on the wire ({error:{code,message,details}}).

export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 429 | 500 | 503;

export interface ErrorOptions {
  details?: unknown;
  /** Response headers that go with it (Retry-After, Allow). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class EmboflowError extends Error {
  override name = 'EmboflowError';
  readonly details?: unknown;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: ErrorStatus,
    readonly code: string,
    message: string,
    options: ErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

/** A cursor the API did not issue (400, naming `cursor`). Thrown by src/db/pagination. */
export class CursorError extends EmboflowError {
  override name = 'CursorError';
  constructor(message: string, cause?: unknown) {
    super(400, 'validation_failed', `cursor: ${message}`, { details: { field: 'cursor' }, cause });
  }
}
