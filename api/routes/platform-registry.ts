import type { Request, Response } from 'express';
import { z } from 'zod';
import { PageQuery } from '../../src/db/pagination';
import { IdSchema } from '../../src/domain/common';
import type { AuthContext, Role } from '../../src/services/auth';
import type { Caller } from '../../src/services/memberships';
import { notFound } from '../errors';
import { authorize } from '../middleware/auth';
import type { ApiRegistry, Parsed, RouteSpec } from '../registry';

/** The registry the platform routes use: ApiRegistry.route, refusing query parameters a route does not declare. */
export interface PlatformRoutes {
  route<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType, H extends z.ZodType = z.ZodType>(
    spec: RouteSpec<B, Q, P, H>,
    handler: (req: Request, parsed: Parsed<B, Q, P, H>, res: Response) => Promise<unknown>,
  ): void;
}

/** Routes that declare no query accept none: a stray parameter is a 400, not silently ignored. */
const NoQuery = z.object({}).strict();

export function platformRoutes(api: ApiRegistry): PlatformRoutes {
  return {
    route(spec, handler) {
      api.route({ ...spec, query: spec.query ?? NoQuery }, (req, parsed, res) =>
        handler(req, parsed as Parsed<never, never, never, never>, res),
      );
    },
  };
}

/**
 * The tenancy gate for a loaded object (or null): authorize() turns missing and other-tenant objects into a 404
 * and a low role into a 403. Returns the object, narrowed to non-null.
 */
export function gate<T extends { workspaceId: string; projectId?: string }>(
  auth: AuthContext,
  doc: T | null,
  min: Role,
  what: string,
): T {
  authorize(auth, doc, min, what);
  return doc as T;
}

/** The acting user and their role on the workspace itself (project roles never make an owner), for owner rules. */
export function caller(auth: AuthContext, workspaceId: string): Caller {
  return { userId: auth.userId, workspaceRole: auth.roleFor(workspaceId) };
}

/** A workspace the caller belongs to in any way (a project membership shows them its workspace too). */
export function assertMember(auth: AuthContext, workspaceId: string, what = 'workspace'): void {
  if (!auth.workspaceIds().includes(workspaceId)) throw notFound(what);
}

/** Path params: each named one an id. */
export function idParams<K extends string>(...names: K[]) {
  return z.object(Object.fromEntries(names.map((n) => [n, IdSchema])) as Record<K, typeof IdSchema>).strict();
}

/** A list route's query: cursor pagination plus its filters, nothing else. */
export function listQuery<S extends z.ZodRawShape>(filters: S) {
  return z.object({ ...PageQuery, ...filters }).strict();
}

/** The page a list route answers. */
export function page(q: { limit: number; cursor?: string }) {
  return { limit: q.limit, cursor: q.cursor };
}
