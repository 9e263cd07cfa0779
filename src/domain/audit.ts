// Audit log (seed 000): an append-only record of every mutation, never holding secrets or keys.
import { z } from 'zod';

export const AUDIT_ACTIONS = [
  'create',
  'update',
  'delete',
  'publish',
  'revoke',
  'upload',
  'start',
  'cancel',
  'retry',
  'approve',
  'reject',
  'pause',
  'resume',
  'trigger',
  'backfill',
  'rotate',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_RESOURCE_TYPES = [
  'workspace',
  'project',
  'membership',
  'user',
  'api_key',
  'workflow_definition',
  'workflow_version',
  'custom_node',
  'asset',
  'asset_probe_report',
  'dataset',
  'dataset_version',
  'storage_connection',
  'registry_credential',
  'annotation_task',
  'annotation',
  'plugin',
  'run',
  'run_task',
  'trigger',
  'notification_endpoint',
  'workspace_secret',
] as const;
export type AuditResourceType = (typeof AUDIT_RESOURCE_TYPES)[number];

export const AuditLogDocSchema = z
  .object({
    _id: z.string(),
    /** Null for mutations that belong to a user rather than a workspace (their own API keys). */
    workspaceId: z.string().nullable(),
    projectId: z.string().optional(),
    actorId: z.string(),
    resourceType: z.enum(AUDIT_RESOURCE_TYPES),
    resourceId: z.string(),
    action: z.enum(AUDIT_ACTIONS),
    beforeSummary: z.record(z.string(), z.unknown()).nullable(),
    afterSummary: z.record(z.string(), z.unknown()).nullable(),
    metadata: z.record(z.string(), z.unknown()),
    createdAt: z.date(),
  })
  .strict();
export type AuditLogDoc = z.infer<typeof AuditLogDocSchema>;
