import type { RequestHandler } from 'express';
import { roleAtLeast } from '../../src/services/auth';
import type { AuthContext, Authenticator, Role } from '../../src/services/auth';
import { forbidden, notFound, unauthorized } from '../errors';

declare module 'express-serve-static-core' {
  interface Request {
    auth: AuthContext;
  }
}

export function authenticate(authenticator: Authenticator): RequestHandler {
  return async (req, _res, next) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) return next(unauthorized());
    const auth = await authenticator.authenticate(match[1]!);
    if (!auth) return next(unauthorized('the API key is invalid or revoked'));
    req.auth = auth;
    next();
  };
}

/**
 * The tenancy gate every route passes through: an object outside the caller's memberships is a 404
 * (it may as well not exist); inside, a role below `min` is a 403.
 */
export function authorize(
  auth: AuthContext,
  resource: { workspaceId: string; projectId?: string } | null | undefined,
  min: Role,
  what: string,
): asserts resource is { workspaceId: string; projectId?: string } {
  if (!resource) throw notFound(what);
  const role = auth.roleFor(resource.workspaceId, resource.projectId);
  if (!role) throw notFound(what);
  if (!roleAtLeast(role, min)) throw forbidden(`your role (${role}) may not do this; it needs ${min} or higher`);
}
