// Manual labelling (seed 000): annotation tasks and the annotations they collect.
import { z } from 'zod';
import { IdSchema, JsonObjectSchema, TimestampFields } from './common';

/** What a task labels; the target must belong to the task's project. */
export const ANNOTATION_TARGET_TYPES = ['asset', 'dataset', 'dataset_version', 'artifact'] as const;
export const ANNOTATION_TASK_STATUSES = ['open', 'in_progress', 'in_review', 'done', 'cancelled'] as const;

const TargetRefSchema = z.object({ id: IdSchema }).strict();

export const AnnotationTaskDocSchema = z
  .object({
    _id: z.string(),
    workspaceId: z.string(),
    projectId: z.string(),
    targetType: z.enum(ANNOTATION_TARGET_TYPES),
    targetRef: z.object({ id: z.string() }).strict(),
    labelType: z.string(),
    instructions: z.string(),
    status: z.enum(ANNOTATION_TASK_STATUSES),
    assigneeIds: z.array(z.string()),
    reviewerIds: z.array(z.string()),
    /** The approval node this labeling work feeds: its reviewers decide once the annotations are in. */
    approval: z.object({ runId: z.string(), nodeId: z.string() }).strict().optional(),
    createdBy: z.string(),
    ...TimestampFields,
  })
  .strict();
export type AnnotationTaskDoc = z.infer<typeof AnnotationTaskDocSchema>;

export const AnnotationDocSchema = z
  .object({
    _id: z.string(),
    annotationTaskId: z.string(),
    workspaceId: z.string(),
    projectId: z.string(),
    targetRef: z.object({ id: z.string() }).strict(),
    payload: z.record(z.string(), z.unknown()),
    status: z.enum(['submitted', 'accepted', 'rejected']),
    createdBy: z.string(),
    ...TimestampFields,
  })
  .strict();
export type AnnotationDoc = z.infer<typeof AnnotationDocSchema>;

const UserIds = z
  .array(IdSchema)
  .max(100)
  .default([])
  .refine((ids) => new Set(ids).size === ids.length, { message: 'user ids must be unique' })
  .meta({ uniqueItems: true });

export const CreateAnnotationTaskBody = z
  .object({
    targetType: z.enum(ANNOTATION_TARGET_TYPES),
    targetRef: TargetRefSchema,
    labelType: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'lowercase letters, digits and _ . -'),
    instructions: z.string().max(10_000).default(''),
    assigneeIds: UserIds,
    reviewerIds: UserIds,
    approval: z.object({ runId: IdSchema, nodeId: IdSchema }).strict().optional(),
  })
  .strict();
export type CreateAnnotationTaskInput = z.infer<typeof CreateAnnotationTaskBody>;

/** targetRef defaults to the task's target; a different one must be in the task's project too. */
export const CreateAnnotationBody = z
  .object({ targetRef: TargetRefSchema.optional(), payload: JsonObjectSchema })
  .strict();
export type CreateAnnotationInput = z.infer<typeof CreateAnnotationBody>;
