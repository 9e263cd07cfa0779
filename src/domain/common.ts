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

/** True when a string has no C0 control character or DEL: they end up in logs, labels and storage keys. */
export function isPrintable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}

/** A string of `min` to `max` characters with no control characters. */
export const PrintableSchema = (max: number, min = 0) =>
  z.string().min(min).max(max).refine(isPrintable, 'control characters are not allowed');

export const NameSchema = PrintableSchema(200).trim().min(1, 'must not be empty');
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

/** A free-form JSON object (settings, summaries, metadata, payloads): any shape the database can store. */
export const JsonObjectSchema = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
  const bad = findUnstorable(value);
  if (bad) ctx.addIssue({ code: 'custom', message: bad.message, path: bad.path });
});
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
