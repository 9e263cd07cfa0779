import { EmboflowError } from '../errors';

/** A request the platform services refuse (bad input, missing object, a rule or role that forbids it). */
export class ServiceError extends EmboflowError {
  override name = 'ServiceError';
  constructor(status: 400 | 403 | 404 | 409 | 413, code: string, message: string, details?: unknown) {
    super(status, code, message, { details });
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
/** A body beyond the size the platform accepts (413). */
export const tooLarge = (message: string) => new ServiceError(413, 'payload_too_large', message);
/** Inside the caller's workspace, a rule about roles forbids it (403). */
export const notAllowed = (message: string) => new ServiceError(403, 'forbidden', message);

/** MongoDB's duplicate-key error: a unique index refused the write. */
export function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: number } | null)?.code === 11000;
}
