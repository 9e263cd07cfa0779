import type { Request, RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import { JSON_SCHEMA_COMPONENTS } from '../src/domain/common';
import { ApiError } from './errors';
import { zodDetails } from './middleware/errors';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteSpec<
  B extends z.ZodType,
  Q extends z.ZodType,
  P extends z.ZodType,
  H extends z.ZodType = z.ZodType,
> {
  method: Method;
  /** Express path, e.g. /v1/runs/:runId */
  path: string;
  summary: string;
  tag: string;
  body?: B;
  query?: Q;
  params?: P;
  /** Request headers the route reads, keyed by lowercase name; other headers are not its business. */
  headers?: H;
  /**
   * The body is raw bytes (application/octet-stream) that the handler streams itself, not JSON; the route must be
   * one of RAW_BODY_ROUTES (middleware/body.ts) so the JSON parser leaves it unread.
   */
  rawBody?: { description: string };
  /**
   * The route moves or checks bytes for as long as that takes (uploads, verifying a large object): the API's answer
   * deadline (app.ts) does not cut it off, and a route without a body is not closed as idle while it works.
   */
  untimed?: boolean;
  /**
   * What the route creates: the path parameter other routes name it by, and the answer's field holding it (default
   * `id`). The OpenAPI document links this route to every route whose path parameters that fills.
   */
  creates?: { param: string; field?: string };
  /** Status of a successful answer (default 200). */
  status?: number;
  /** Routes are authenticated unless they say otherwise. */
  public?: boolean;
}

export interface Parsed<
  B extends z.ZodType,
  Q extends z.ZodType,
  P extends z.ZodType,
  H extends z.ZodType = z.ZodType,
> {
  body: z.output<B>;
  query: z.output<Q>;
  params: z.output<P>;
  headers: z.output<H>;
}

/** Set on res.locals of an `untimed` route's request: app.ts's answer deadline skips it. */
export const UNTIMED = 'emboflowUntimed';

const Empty = z.object({}).strict();

/** Returned by a handler that wrote the response itself (a stream, a redirect). */
export const ANSWERED = Symbol('answered');
type AnySpec = RouteSpec<z.ZodType, z.ZodType, z.ZodType, z.ZodType>;

function parsePart(schema: z.ZodType | undefined, value: unknown, part: string): unknown {
  if (!schema) return value;
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    const details = zodDetails(result.error, part);
    throw new ApiError(
      400,
      'validation_failed',
      `invalid ${part}: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`,
      details,
    );
  }
  return result.data;
}

/**
 * Declares routes once: the same zod schemas validate requests and generate /openapi.json.
 * A handler's return value is the JSON answer; a handler that answers through `res` itself returns ANSWERED.
 */
export class ApiRegistry {
  readonly specs: AnySpec[] = [];

  constructor(
    private readonly publicRouter: Router,
    private readonly authedRouter: Router,
  ) {}

  route<
    B extends z.ZodType = typeof Empty,
    Q extends z.ZodType = z.ZodType,
    P extends z.ZodType = z.ZodType,
    H extends z.ZodType = z.ZodType,
  >(
    spec: RouteSpec<B, Q, P, H>,
    handler: (req: Request, parsed: Parsed<B, Q, P, H>, res: Response) => Promise<unknown | typeof ANSWERED>,
  ): void {
    this.specs.push(spec as unknown as AnySpec);
    const router = spec.public ? this.publicRouter : this.authedRouter;
    router[spec.method](spec.path, async (req: Request, res: Response) => {
      if (spec.untimed) {
        res.locals[UNTIMED] = true;
        // A route that reads no body works while its caller waits in silence: that is not an idle connection.
        if (!spec.rawBody) suspendIdleTimeout(req, res);
      }
      // A raw-bytes route's body is unread here ({}); a JSON one sent to it still fails the empty schema.
      const hasBody = spec.method !== 'get' && spec.method !== 'delete';
      const parsed = {
        body: parsePart(hasBody ? (spec.body ?? Empty) : undefined, req.body, 'body'),
        query: parsePart(spec.query, req.query, 'query'),
        params: parsePart(spec.params, req.params, 'params'),
        headers: parsePart(spec.headers, req.headers, 'headers'),
      } as Parsed<B, Q, P, H>;
      const result = await handler(req, parsed, res);
      if (result !== ANSWERED) res.status(spec.status ?? 200).json(result ?? {});
    });
  }
}

/** Lifts the socket's idle timeout until the answer is sent, then puts it back for the connection's next request. */
function suspendIdleTimeout(req: Request, res: Response): void {
  const socket = req.socket;
  const idleMs = socket.timeout ?? 0;
  if (!idleMs) return;
  socket.setTimeout(0);
  res.once('close', () => {
    if (!socket.destroyed) socket.setTimeout(idleMs);
  });
}

/** Matches a request path the way the router matches an Express path: case-insensitive, optional trailing slash. */
function pathPattern(path: string): RegExp {
  const source = path
    .split(/(:[A-Za-z0-9_]+)/)
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}/?$`, 'i');
}

/**
 * A known path asked with a method it does not declare is a 405 listing the ones it does (HEAD wherever GET is:
 * the router answers it), so a client learns the path exists; an unknown path falls through to the 404.
 */
export function methodNotAllowed(routes: ReadonlyArray<{ method: string; path: string }>): RequestHandler {
  const byPath = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  for (const r of routes) {
    const entry = byPath.get(r.path) ?? { pattern: pathPattern(r.path), methods: new Set<string>() };
    entry.methods.add(r.method.toUpperCase());
    if (r.method.toUpperCase() === 'GET') entry.methods.add('HEAD');
    byPath.set(r.path, entry);
  }
  const entries = [...byPath.values()];
  return (req, res, next) => {
    const allowed = new Set<string>();
    for (const e of entries) if (e.pattern.test(req.path)) e.methods.forEach((m) => allowed.add(m));
    if (allowed.size === 0 || allowed.has(req.method)) return next();
    const allow = [...allowed].sort().join(', ');
    next(
      new ApiError(
        405,
        'method_not_allowed',
        `${req.method} is not allowed on ${req.path}; allowed: ${allow}`,
        undefined,
        { Allow: allow },
      ),
    );
  };
}

function toJsonSchema(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
}

const pathParams = (path: string) => [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map(([, name]) => name!);
const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** `get /v1/workspaces/:workspaceId` -> getV1WorkspacesWorkspaceId: stable, and unique while paths are. */
function operationId(s: { method: string; path: string }): string {
  const words = s.path.split(/[/:_-]+/).filter(Boolean);
  return s.method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

/**
 * OpenAPI links from a creating route to each route it gives every path parameter to: the created id from the
 * answer, the rest from the creating request's own path. Clients and fuzzers follow them with real ids.
 */
function creationLinks(creator: AnySpec, specs: AnySpec[]): Record<string, unknown> | undefined {
  if (!creator.creates) return undefined;
  const { param, field = 'id' } = creator.creates;
  const known = new Set(pathParams(creator.path));
  const links: Record<string, unknown> = {};
  for (const target of specs) {
    const needed = pathParams(target.path);
    if (target === creator || !needed.includes(param) || !needed.every((n) => n === param || known.has(n))) continue;
    links[operationId(target)] = {
      operationId: operationId(target),
      parameters: Object.fromEntries(
        needed.map((n) => [n, n === param ? `$response.body#/${field}` : `$request.path.${n}`]),
      ),
    };
  }
  return Object.keys(links).length ? links : undefined;
}

export function openApiDocument(specs: AnySpec[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const s of specs) {
    const path = openApiPath(s.path);
    const pathShape = s.params instanceof z.ZodObject ? (s.params.shape as Record<string, z.ZodType>) : {};
    const params = pathParams(s.path).map((name) => ({
      name,
      in: 'path',
      required: true,
      schema: pathShape[name] ? toJsonSchema(pathShape[name]!) : { type: 'string' },
    }));
    const fields = (schema: z.ZodType | undefined, where: 'query' | 'header') =>
      schema instanceof z.ZodObject
        ? Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => ({
            name,
            in: where,
            required: !field.safeParse(undefined).success,
            ...(field.description ? { description: field.description } : {}),
            schema: toJsonSchema(field),
          }))
        : [];
    const body = s.rawBody
      ? {
          requestBody: {
            required: true,
            description: s.rawBody.description,
            content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
          },
        }
      : s.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: toJsonSchema(s.body) } } } }
        : {};
    const links = creationLinks(s, specs);
    (paths[path] ??= {})[s.method] = {
      operationId: operationId(s),
      summary: s.summary,
      tags: [s.tag],
      ...(s.public ? { security: [] } : {}),
      parameters: [...params, ...fields(s.query, 'query'), ...fields(s.headers, 'header')],
      ...body,
      responses: {
        [String(s.status ?? 200)]: { description: 'success', ...(links ? { links } : {}) },
        '4XX': {
          description: 'error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'EmboFlow API', version },
    security: [{ apiKey: [] }],
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } },
      schemas: {
        ...JSON_SCHEMA_COMPONENTS,
        Error: {
          type: 'object',
          properties: {
            error: {
              type: 'object',
              properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
              required: ['code', 'message'],
            },
          },
        },
      },
    },
    paths,
  };
}
