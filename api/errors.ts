import { EmboflowError } from '../src/errors';
import type { ErrorStatus } from '../src/errors';

/** An error the API layer itself raises (validation, auth, rate limits, routing). */
export class ApiError extends EmboflowError {
  override name = 'ApiError';
  constructor(
    status: ErrorStatus,
    code: string,
    message: string,
    details?: unknown,
    headers: Record<string, string> = {},
  ) {
    super(status, code, message, { details, headers });
  }
}

export const badRequest = (message: string, details?: unknown) => new ApiError(400, 'bad_request', message, details);
export const unauthorized = (message = 'a valid API key is required') => new ApiError(401, 'unauthorized', message);
/** Inside a workspace the caller belongs to, a role that may not do this. */
export const forbidden = (message = 'your role does not allow this') => new ApiError(403, 'forbidden', message);
/** Missing, or another tenant's: the two are indistinguishable on purpose. */
export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);
export const conflict = (message: string, details?: unknown) => new ApiError(409, 'conflict', message, details);
