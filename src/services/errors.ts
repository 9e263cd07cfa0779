/**
 * A request the platform services refuse, with the HTTP status it maps to: the API renders it in the one error
 * shape ({error:{code,message,details}}). Services stay free of Express; the route layer translates.
 */
export class ServiceError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 413,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** Bad input, naming the offending field (400). */
export const invalidField = (field: string, message: string) =>
  new ServiceError(400, 'validation_failed', `${field}: ${message}`, [{ field, message }]);
/** The object is missing, or belongs to another tenant: indistinguishable on purpose (404). */
export const missing = (what: string) => new ServiceError(404, 'not_found', `${what} not found`);
/** A uniqueness rule or the object's current state forbids it (409). */
export const clash = (message: string, field?: string) =>
  new ServiceError(409, 'conflict', message, field ? { field } : undefined);
/** Inside the caller's workspace, a rule about roles forbids it (403). */
export const notAllowed = (message: string) => new ServiceError(403, 'forbidden', message);

/** MongoDB's duplicate-key error: a unique index refused the write. */
export function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: number } | null)?.code === 11000;
}
