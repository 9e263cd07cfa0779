// Identity and tenancy (seed 000: users, workspaces, projects, memberships; seed 001: API keys per user).
import { z } from 'zod';
import {
  DescriptionSchema,
  EmailSchema,
  IdSchema,
  JsonObjectSchema,
  NameSchema,
  SlugSchema,
  TimestampFields,
} from './common';

/** A member's roles, weakest first (a role includes every one before it). */
export const ROLES = ['viewer', 'editor', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];
const ROLE_NAMES = ROLES;

export const RoleSchema = z.enum(ROLE_NAMES);

// ---- documents -------------------------------------------------------------------------------------------------

export const UserDocSchema = z
  .object({
    _id: z.string(),
    email: z.string(),
    displayName: z.string(),
    avatarUrl: z.string().optional(),
    status: z.enum(['active', 'disabled']),
    lastLoginAt: z.date().optional(),
    ...TimestampFields,
  })
  .strict();
export type UserDoc = z.infer<typeof UserDocSchema>;

export const WorkspaceDocSchema = z
  .object({
    _id: z.string(),
    type: z.enum(['personal', 'team']),
    name: z.string(),
    slug: z.string(),
    ownerId: z.string(),
    status: z.enum(['active', 'archived']),
    settings: z.record(z.string(), z.unknown()),
    ...TimestampFields,
  })
  .strict();
export type WorkspaceDoc = z.infer<typeof WorkspaceDocSchema>;

export const ProjectDocSchema = z
  .object({
    _id: z.string(),
    workspaceId: z.string(),
    name: z.string(),
    slug: z.string(),
    description: z.string(),
    status: z.enum(['active', 'archived']),
    createdBy: z.string(),
    ...TimestampFields,
  })
  .strict();
export type ProjectDoc = z.infer<typeof ProjectDocSchema>;

/** A role on a workspace, or on one project of it when projectId is set. */
export const MembershipDocSchema = z
  .object({
    _id: z.string(),
    workspaceId: z.string(),
    projectId: z.string().optional(),
    userId: z.string(),
    role: RoleSchema,
    status: z.enum(['active', 'suspended']),
    createdBy: z.string().optional(),
    ...TimestampFields,
  })
  .strict();
export type MembershipDoc = z.infer<typeof MembershipDocSchema>;

/** The plaintext key is never stored: only its SHA-256 and the public lookup prefix. */
export const ApiKeyDocSchema = z
  .object({
    _id: z.string(),
    userId: z.string(),
    name: z.string(),
    prefix: z.string().regex(/^[a-z0-9]{12}$/),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    status: z.enum(['active', 'revoked']),
    lastUsedAt: z.date().optional(),
    revokedAt: z.date().optional(),
    revokedBy: z.string().optional(),
    createdAt: z.date(),
  })
  .strict();
export type ApiKeyDocument = z.infer<typeof ApiKeyDocSchema>;

// ---- request bodies: .strict(), and nothing the server decides (ids of tenants, creators, statuses) ------------

export const CreateWorkspaceBody = z
  .object({ name: NameSchema, slug: SlugSchema.optional(), settings: JsonObjectSchema.default({}) })
  .strict();
export type CreateWorkspaceInput = z.infer<typeof CreateWorkspaceBody>;

export const UpdateWorkspaceBody = z
  .object({ name: NameSchema.optional(), settings: JsonObjectSchema.optional() })
  .strict()
  .refine((b) => b.name !== undefined || b.settings !== undefined, {
    message: 'nothing to update: pass name or settings',
  })
  .meta({ anyOf: [{ required: ['name'] }, { required: ['settings'] }] });
export type UpdateWorkspaceInput = z.infer<typeof UpdateWorkspaceBody>;

export const CreateProjectBody = z
  .object({ name: NameSchema, slug: SlugSchema.optional(), description: DescriptionSchema.default('') })
  .strict();
export type CreateProjectInput = z.infer<typeof CreateProjectBody>;

export const UpdateProjectBody = z
  .object({ name: NameSchema.optional(), description: DescriptionSchema.optional() })
  .strict()
  .refine((b) => b.name !== undefined || b.description !== undefined, {
    message: 'nothing to update: pass name or description',
  })
  .meta({ anyOf: [{ required: ['name'] }, { required: ['description'] }] });
export type UpdateProjectInput = z.infer<typeof UpdateProjectBody>;

export const AddMemberBody = z
  .object({
    userId: IdSchema.optional(),
    email: EmailSchema.optional(),
    role: RoleSchema,
    projectId: IdSchema.optional(),
  })
  .strict()
  .refine((b) => (b.userId === undefined) !== (b.email === undefined), {
    message: 'pass exactly one of userId or email',
    path: ['userId'],
  })
  .meta({ oneOf: [{ required: ['userId'] }, { required: ['email'] }] });
export type AddMemberInput = z.infer<typeof AddMemberBody>;

export const UpdateMemberBody = z.object({ role: RoleSchema }).strict();

export const CreateUserBody = z.object({ email: EmailSchema, displayName: NameSchema, role: RoleSchema }).strict();
export type CreateUserInput = z.infer<typeof CreateUserBody>;

export const CreateApiKeyBody = z.object({ name: NameSchema }).strict();
