// Building blocks shared by every collection's schema and every request body.
import { z } from 'zod';

/** Every _id is a string (newId(prefix)); path params and references are checked against this shape. */
export const IdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'not an id this API issued');

export const SlugSchema = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/,
    'slugs are 1-64 lowercase letters, digits and -, not starting or ending with -',
  );

/**
 * A string of `min` to `max` characters with no C0 control character or DEL (they end up in logs, labels and storage
 * keys); a pattern, so the OpenAPI document states it.
 */
export const PrintableSchema = (max: number, min = 0) =>
  z
    .string()
    .min(min)
    .max(max)
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    .regex(/^[^\x00-\x1f\x7f]*$/, 'control characters are not allowed');

/** Not blank: the pattern says in the OpenAPI document what trim-then-min(1) checks (JS trims U+FEFF too). */
export const NameSchema = PrintableSchema(200)
  .regex(/[^\s\uFEFF]/, 'must not be empty')
  .trim()
  .min(1, 'must not be empty');
export const DescriptionSchema = z.string().max(10_000);
export const ShortTextSchema = PrintableSchema(200);
export const EmailSchema = z
  .email()
  .max(254)
  .transform((e) => e.toLowerCase());

const MAX_KEY_LENGTH = 200;

/**
 * The first key or value in free-form JSON that MongoDB-compatible servers refuse, so it is a 400 here rather than
 * a 5xx at insert time: FerretDB rejects keys with '.' and arrays nested directly in arrays, and every server
 * rejects non-finite numbers (JSON.parse turns 1e400 into Infinity). Operator and prototype keys are already
 * refused by the body middleware.
 */
export function findUnstorable(
  value: unknown,
  path: Array<string | number> = [],
): { path: Array<string | number>; message: string } | undefined {
  if (typeof value === 'number' && !Number.isFinite(value)) return { path, message: 'numbers must be finite' };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (Array.isArray(value[i]))
        return {
          path: [...path, i],
          message: 'arrays directly inside arrays cannot be stored; wrap each inner array in an object',
        };
      const found = findUnstorable(value[i], [...path, i]);
      if (found) return found;
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('.')) return { path: [...path, k], message: 'keys may not contain "."' };
      if (k.startsWith('$')) return { path: [...path, k], message: 'keys may not start with "$"' };
      if (k.length > MAX_KEY_LENGTH) return { path, message: `keys are at most ${MAX_KEY_LENGTH} characters` };
      const found = findUnstorable(v, [...path, k]);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Named JSON Schemas for free-form JSON, recursive through each other; the OpenAPI document lists them under
 * components.schemas, and a JsonObjectSchema refers to one by jsonObjectDocument.
 */
export const JSON_SCHEMA_COMPONENTS: Record<string, Record<string, unknown>> = {};

/**
 * What findUnstorable and the body middleware accept, as JSON Schema: keys of at most MAX_KEY_LENGTH without '.',
 * NUL, a leading '$' or a prototype name (nor `forbiddenKeys`, a pattern, at any depth), no array directly in an
 * array. Returns a reference to the component `name` it defines.
 */
export function jsonObjectDocument(name = 'JsonObject', forbiddenKeys?: string): Record<string, unknown> {
  const ref = (n: string) => ({ $ref: `#/components/schemas/${n}` });
  const scalar = { type: ['null', 'boolean', 'number', 'string'] };
  JSON_SCHEMA_COMPONENTS[name] = {
    type: 'object',
    propertyNames: {
      type: 'string',
      maxLength: MAX_KEY_LENGTH,
      pattern: '^(?!\\$)[^.\\u0000]*$',
      not: forbiddenKeys
        ? { anyOf: [{ enum: [...BODY_FORBIDDEN_KEYS] }, { pattern: forbiddenKeys }] }
        : { enum: [...BODY_FORBIDDEN_KEYS] },
    },
    additionalProperties: ref(`${name}Value`),
  };
  JSON_SCHEMA_COMPONENTS[`${name}Value`] = {
    anyOf: [scalar, ref(name), { type: 'array', items: { anyOf: [scalar, ref(name)] } }],
  };
  return ref(name);
}

/** Keys the body middleware refuses anywhere in a request body (api/middleware/body.ts). */
export const BODY_FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** A free-form JSON object (settings, summaries, metadata, payloads): any shape the database can store. */
export const JsonObjectSchema = z
  .record(z.string(), z.unknown())
  .superRefine((value, ctx) => {
    const bad = findUnstorable(value);
    if (bad) ctx.addIssue({ code: 'custom', message: bad.message, path: bad.path });
  })
  .meta(jsonObjectDocument());
export type JsonObject = z.infer<typeof JsonObjectSchema>;

/** Where bytes live in object storage. `kind: 'prefix'` registers everything under a key prefix. */
export const StorageRefSchema = z
  .object({
    kind: z.enum(['object', 'prefix']).default('object'),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name'),
    key: PrintableSchema(1024, 1),
    uri: z.string().max(2048).optional(),
    checksum: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, 'sha256:<64 hex digits>')
      .optional(),
    contentType: z.string().max(200).optional(),
    size: z.number().int().min(0).optional(),
    /** The storage connection the bucket is reached through; absent for the platform's own bucket. */
    storageConnectionId: IdSchema.optional(),
  })
  .strict();
export type StorageRefInput = z.input<typeof StorageRefSchema>;
export type AssetStorageRef = z.infer<typeof StorageRefSchema>;

export const TimestampFields = { createdAt: z.date(), updatedAt: z.date() };
