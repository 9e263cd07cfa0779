import type { Db } from 'mongodb';
import type { Config } from '../config';
import type { ObjectStore } from '../storage/object-store';
import { AnnotationService } from './annotations';
import { ApiKeyService } from './api-keys';
import { AssetUploadService } from './asset-uploads';
import { AssetService } from './assets';
import { AuditLog } from './audit';
import { CustomNodeService } from './custom-nodes';
import { DatasetService } from './datasets';
import { MembershipService } from './memberships';
import { NotificationEndpointService } from './notification-endpoints';
import { PluginService } from './plugins';
import { ProjectService } from './projects';
import { RegistryCredentialService } from './registry-credentials';
import { SecretBox, SecretStore } from './secrets';
import { StorageConnectionService } from './storage-connections';
import type { CatalogEvents } from './triggers';
import { UserService } from './users';
import { WorkflowService } from './workflows';
import { WorkspaceSecretService } from './workspace-secrets';
import { WorkspaceService } from './workspaces';

/** Every platform service (tenancy, definitions, catalog), built once per process around one audit log. */
export function createPlatformServices(deps: {
  db: Db;
  store: ObjectStore;
  config: Pick<Config, 'EMBOFLOW_SECRET_KEY'>;
  /** Where assets registered and dataset versions created are announced to triggers. */
  events?: CatalogEvents;
}) {
  const { db, store } = deps;
  const audit = new AuditLog(db);
  const memberships = new MembershipService(db, audit);
  const assets = new AssetService(db, audit, store, deps.events);
  const secrets = new SecretStore(db, new SecretBox(deps.config.EMBOFLOW_SECRET_KEY));
  return {
    audit,
    memberships,
    users: new UserService(db, audit, memberships),
    workspaces: new WorkspaceService(db, audit),
    projects: new ProjectService(db, audit),
    apiKeys: new ApiKeyService(db, audit),
    workflows: new WorkflowService(db, audit),
    customNodes: new CustomNodeService(db, audit),
    assets,
    assetUploads: new AssetUploadService(db, store, assets),
    datasets: new DatasetService(db, audit, store, deps.events),
    storageConnections: new StorageConnectionService(db, audit, secrets),
    notificationEndpoints: new NotificationEndpointService(db, audit, secrets),
    workspaceSecrets: new WorkspaceSecretService(db, audit, secrets),
    registryCredentials: new RegistryCredentialService(db, audit, secrets),
    annotations: new AnnotationService(db, audit),
    plugins: new PluginService(db, audit),
  };
}
export type PlatformServices = ReturnType<typeof createPlatformServices>;
