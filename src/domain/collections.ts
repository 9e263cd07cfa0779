// The zod schema of every document EmboFlow's platform collections hold (the run mirror's types live in ./run).
import type { z } from 'zod';
import { AnnotationDocSchema, AnnotationTaskDocSchema } from './annotations';
import { AuditLogDocSchema } from './audit';
import {
  AssetDocSchema,
  AssetUploadDocSchema,
  DatasetDocSchema,
  DatasetVersionDocSchema,
  ProbeReportDocSchema,
  RegistryCredentialDocSchema,
  SecretDocSchema,
  StorageConnectionDocSchema,
} from './catalog';
import {
  CustomNodeDocSchema,
  PluginDocSchema,
  WorkflowDefinitionDocSchema,
  WorkflowVersionDocSchema,
} from './definitions';
import { ApiKeyDocSchema, MembershipDocSchema, ProjectDocSchema, UserDocSchema, WorkspaceDocSchema } from './identity';
import { NotificationEndpointDocSchema } from './notifications';
import { TriggerDocSchema, TriggerEventDocSchema } from './triggers';
import { WorkspaceSecretDocSchema } from './workspace-secrets';

export const DOCUMENT_SCHEMAS = {
  users: UserDocSchema,
  workspaces: WorkspaceDocSchema,
  projects: ProjectDocSchema,
  memberships: MembershipDocSchema,
  api_keys: ApiKeyDocSchema,
  assets: AssetDocSchema,
  asset_probe_reports: ProbeReportDocSchema,
  asset_uploads: AssetUploadDocSchema,
  datasets: DatasetDocSchema,
  dataset_versions: DatasetVersionDocSchema,
  workflow_definitions: WorkflowDefinitionDocSchema,
  workflow_definition_versions: WorkflowVersionDocSchema,
  annotation_tasks: AnnotationTaskDocSchema,
  annotations: AnnotationDocSchema,
  plugins: PluginDocSchema,
  storage_connections: StorageConnectionDocSchema,
  registry_credentials: RegistryCredentialDocSchema,
  custom_nodes: CustomNodeDocSchema,
  audit_logs: AuditLogDocSchema,
  secrets: SecretDocSchema,
  workspace_secrets: WorkspaceSecretDocSchema,
  triggers: TriggerDocSchema,
  trigger_events: TriggerEventDocSchema,
  notification_endpoints: NotificationEndpointDocSchema,
} satisfies Record<string, z.ZodType>;
