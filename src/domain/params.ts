// Typed params: what a version declares its runs take (runtimeGraph.params), and the JSON Schema they make.
import { z } from 'zod';

export const PARAM_TYPES = ['string', 'number', 'integer', 'boolean', 'enum', 'array', 'object'] as const;
export type ParamType = (typeof PARAM_TYPES)[number];
export const PARAM_ITEM_TYPES = ['string', 'number', 'integer', 'boolean', 'object'] as const;

export const PARAM_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const ParamNameSchema = z.string().regex(PARAM_NAME_PATTERN, 'param names are letters, digits, _ or -');

const EnumValue = z.union([z.string().max(1024), z.number(), z.boolean()]);

export const ParamSpecSchema = z
  .object({
    type: z.enum(PARAM_TYPES),
    description: z.string().max(2000).optional(),
    /** A run must give it (unless it has a default). */
    required: z.boolean().default(false),
    /** Applied when a run does not give it; must itself be valid. */
    default: z.unknown().optional(),
    /** enum: the values allowed. */
    values: z.array(EnumValue).min(1).max(1000).optional(),
    /** array: the type of its elements (any JSON when absent). */
    items: z.enum(PARAM_ITEM_TYPES).optional(),
  })
  .strict();
export type ParamSpec = z.infer<typeof ParamSpecSchema>;

export const ParamsDeclarationSchema = z
  .record(ParamNameSchema, ParamSpecSchema)
  .refine((p) => Object.keys(p).length <= 100, 'at most 100 params')
  .meta({ maxProperties: 100, propertyNames: { pattern: PARAM_NAME_PATTERN.source } });
export type ParamsDeclaration = z.infer<typeof ParamsDeclarationSchema>;
