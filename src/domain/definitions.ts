// Definitions (seed 000): workflow definitions and their immutable versions, custom container nodes, plugins.
import { z } from 'zod';
import {
  DescriptionSchema,
  IdSchema,
  JsonObjectSchema,
  NameSchema,
  ShortTextSchema,
  SlugSchema,
  TimestampFields,
} from './common';
import { ImageRefSchema } from './image-ref';
import { NodeContractSchema, RuntimeGraphSchema } from './runtime-graph';

// ---- documents (field names are the ones src/services/runs.ts and the worker read) ----------------------------

export const WorkflowDefinitionDocSchema = z
  .object({
    _id: z.string(),
    workspaceId: z.string(),
    projectId: z.string(),
    name: z.string(),
    slug: z.string(),
    description: z.string(),
    status: z.enum(['active', 'archived']),
    /** Bumped with $inc before each version insert: version numbers are allocated, never computed from a count. */
    latestVersionNumber: z.number().int(),
    publishedVersionNumber: z.number().int().nullable(),
    createdBy: z.string(),
    ...TimestampFields,
  })
  .strict();
export type WorkflowDefinitionDocument = z.infer<typeof WorkflowDefinitionDocSchema>;

export const WorkflowVersionDocSchema = z
  .object({
    _id: z.string(),
    workflowDefinitionId: z.string(),
    workspaceId: z.string(),
    projectId: z.string(),
    versionNumber: z.number().int().min(1),
    visualGraph: z.record(z.string(), z.unknown()).nullable(),
    logicGraph: z.record(z.string(), z.unknown()).nullable(),
    /** Stored as parsed: every default applied, so the engine never re-derives them. */
    runtimeGraph: RuntimeGraphSchema,
    pluginRefs: z.array(z.string()),
    summary: z.string(),
    createdBy: z.string(),
    createdAt: z.date(),
  })
  .strict();
export type WorkflowVersionDocument = z.infer<typeof WorkflowVersionDocSchema>;

/** Either an existing image, or a self-contained Dockerfile a worker builds and tags as imageTag. */
export const CustomNodeSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('image'), image: ImageRefSchema }).strict(),
  z
    .object({
      kind: z.literal('dockerfile'),
      dockerfile: z
        .string()
        .max(256 * 1024)
        .regex(/^\s*FROM\s/im, 'a Dockerfile needs a FROM instruction'),
      imageTag: ImageRefSchema,
    })
    .strict(),
]);
export type CustomNodeSource = z.infer<typeof CustomNodeSourceSchema>;

export const CUSTOM_NODE_STATUSES = ['ready', 'pending_build', 'build_failed'] as const;

export const CustomNodeDocSchema = z
  .object({
    _id: z.string(),
    definitionId: z.string().optional(),
    workspaceId: z.string(),
    projectId: z.string(),
    name: z.string(),
    slug: z.string(),
    description: z.string(),
    category: z.string(),
    status: z.enum(CUSTOM_NODE_STATUSES),
    /** Set by the worker's image build when it fails (status build_failed). */
    buildError: z.string().optional(),
    contract: NodeContractSchema,
    source: CustomNodeSourceSchema,
    createdBy: z.string(),
    ...TimestampFields,
  })
  .strict();
export type CustomNodeDoc = z.infer<typeof CustomNodeDocSchema>;

export const PluginVersionSchema = z
  .object({
    version: z.string(),
    image: z.string().optional(),
    manifest: z.record(z.string(), z.unknown()),
    createdAt: z.date(),
  })
  .strict();

/** Platform plugins have no workspaceId and are visible to everyone; workspace plugins only to members. */
export const PluginDocSchema = z
  .object({
    _id: z.string(),
    workspaceId: z.string().optional(),
    scope: z.enum(['platform', 'workspace']),
    name: z.string(),
    status: z.enum(['enabled', 'disabled']),
    currentVersion: z.string(),
    versions: z.array(PluginVersionSchema),
    permissions: z.array(z.string()),
    metadata: z.record(z.string(), z.unknown()),
    createdBy: z.string().optional(),
    ...TimestampFields,
  })
  .strict();
export type PluginDoc = z.infer<typeof PluginDocSchema>;

// ---- request bodies ----------------------------------------------------------------------------------------------

export const CreateWorkflowBody = z
  .object({ name: NameSchema, slug: SlugSchema.optional(), description: DescriptionSchema.default('') })
  .strict();
export type CreateWorkflowInput = z.infer<typeof CreateWorkflowBody>;

/** The runtime graph's JSON Schema, so the OpenAPI document shows its shape although the body schema does not check it. */
const { $schema: _dialect, ...RUNTIME_GRAPH_JSON_SCHEMA } = z.toJSONSchema(RuntimeGraphSchema, {
  io: 'input',
  unrepresentable: 'any',
});

/**
 * runtimeGraph is only required to be an object here: its contents are checked by the graph validator, which
 * reports every problem at once as invalid_graph (the OpenAPI document still shows its full schema).
 */
export const CreateWorkflowVersionBody = z
  .object({
    visualGraph: JsonObjectSchema.optional(),
    logicGraph: JsonObjectSchema.optional(),
    runtimeGraph: z.record(z.string(), z.unknown()).meta(RUNTIME_GRAPH_JSON_SCHEMA),
    pluginRefs: z.array(IdSchema).max(100).default([]),
    summary: z.string().max(2000).default(''),
  })
  .strict();
export type CreateWorkflowVersionInput = z.infer<typeof CreateWorkflowVersionBody>;

export const CreateCustomNodeBody = z
  .object({
    name: NameSchema,
    slug: SlugSchema.optional(),
    description: DescriptionSchema.default(''),
    category: ShortTextSchema.default('custom'),
    contract: NodeContractSchema,
    source: CustomNodeSourceSchema,
    definitionId: IdSchema.optional(),
  })
  .strict();
export type CreateCustomNodeInput = z.infer<typeof CreateCustomNodeBody>;

export const CreatePluginBody = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'plugin names are lowercase letters, digits and _ . -'),
    version: z.string().regex(/^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$/, 'a version such as 1.2.0'),
    image: ImageRefSchema.optional(),
    manifest: JsonObjectSchema.default({}),
    permissions: z
      .array(z.string().regex(/^[a-z][a-z0-9_.:-]{0,63}$/))
      .max(50)
      .default([]),
    metadata: JsonObjectSchema.default({}),
  })
  .strict();
export type CreatePluginInput = z.infer<typeof CreatePluginBody>;
