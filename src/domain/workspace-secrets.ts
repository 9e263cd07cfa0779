// Workspace secrets: named values (tokens, passwords) nodes receive as env vars or files. The value is encrypted in
// `secrets`; this document holds its name, its version (bumped by each rotation) and the reference.
import { z } from 'zod';
import { TimestampFields } from './common';

export const SECRET_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
export const SecretNameSchema = z.string().regex(SECRET_NAME_PATTERN, 'secret names are A-Z, a-z, 0-9 and _');

/** Masking a 1-3 character value would mask every occurrence of it in every log. */
const SecretValue = z
  .string()
  .min(4, 'a secret is at least 4 characters (shorter ones cannot be masked in logs)')
  .max(65_536);

export const CreateWorkspaceSecretBody = z.object({ name: SecretNameSchema, value: SecretValue }).strict();
export const RotateWorkspaceSecretBody = z.object({ value: SecretValue }).strict();

export const WorkspaceSecretDocSchema = z
  .object({
    _id: z.string().regex(/^wsec_/),
    workspaceId: z.string(),
    name: z.string(),
    version: z.number().int().min(1),
    secretRef: z.string(),
    createdBy: z.string(),
    rotatedBy: z.string().optional(),
    ...TimestampFields,
  })
  .strict();
export type WorkspaceSecretDoc = z.infer<typeof WorkspaceSecretDocSchema>;

/** Where a node gets a secret: an env var, a file under /emboflow/secrets (tmpfs), or both. */
export const NodeSecretSchema = z
  .object({
    name: SecretNameSchema,
    env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'environment variable names are A-Z, 0-9 and _')
      .optional(),
    file: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a file name: letters, digits, . _ -')
      .optional(),
  })
  .strict()
  .refine((s) => s.env !== undefined || s.file !== undefined, { message: 'give env, file or both', path: ['env'] })
  .meta({ anyOf: [{ required: ['env'] }, { required: ['file'] }] });
export type NodeSecret = z.infer<typeof NodeSecretSchema>;
