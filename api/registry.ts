import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { ApiError } from './errors';
import { zodDetails } from './middleware/errors';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteSpec<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType> {
  method: Method;
  /** Express path, e.g. /v1/runs/:runId */
  path: string;
  summary: string;
  tag: string;
  body?: B;
  query?: Q;
  params?: P;
  /** Status of a successful answer (default 200). */
  status?: number;
  /** Routes are authenticated unless they say otherwise. */
  public?: boolean;
}

export interface Parsed<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType> {
  body: z.output<B>;
  query: z.output<Q>;
  params: z.output<P>;
}

const Empty = z.object({}).strict();

/** Returned by a handler that wrote the response itself (a stream, a redirect). */
export const ANSWERED = Symbol('answered');
type AnySpec = RouteSpec<z.ZodType, z.ZodType, z.ZodType>;

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

  route<B extends z.ZodType = typeof Empty, Q extends z.ZodType = z.ZodType, P extends z.ZodType = z.ZodType>(
    spec: RouteSpec<B, Q, P>,
    handler: (req: Request, parsed: Parsed<B, Q, P>, res: Response) => Promise<unknown | typeof ANSWERED>,
  ): void {
    this.specs.push(spec as unknown as AnySpec);
    const router = spec.public ? this.publicRouter : this.authedRouter;
    router[spec.method](spec.path, async (req: Request, res: Response) => {
      const hasBody = spec.method !== 'get' && spec.method !== 'delete';
      const parsed = {
        body: parsePart(hasBody ? (spec.body ?? Empty) : undefined, req.body, 'body'),
        query: parsePart(spec.query, req.query, 'query'),
        params: parsePart(spec.params, req.params, 'params'),
      } as Parsed<B, Q, P>;
      const result = await handler(req, parsed, res);
      if (result !== ANSWERED) res.status(spec.status ?? 200).json(result ?? {});
    });
  }
}

function toJsonSchema(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
}

export function openApiDocument(specs: AnySpec[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const s of specs) {
    const path = s.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const params = [...s.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const query =
      s.query && s.query instanceof z.ZodObject
        ? Object.entries(s.query.shape as Record<string, z.ZodType>).map(([name, schema]) => ({
            name,
            in: 'query',
            required: !schema.safeParse(undefined).success,
            schema: toJsonSchema(schema),
          }))
        : [];
    (paths[path] ??= {})[s.method] = {
      summary: s.summary,
      tags: [s.tag],
      ...(s.public ? { security: [] } : {}),
      parameters: [...params, ...query],
      ...(s.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: toJsonSchema(s.body) } } } }
        : {}),
      responses: {
        [String(s.status ?? 200)]: { description: 'success' },
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
