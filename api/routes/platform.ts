import { createPlatformServices } from '../../src/services/platform';
import type { AppContext } from '../app';
import type { ApiRegistry } from '../registry';
import { registerAnnotationRoutes } from './annotations';
import { registerApiKeyRoutes } from './api-keys';
import { registerAssetUploadRoutes } from './asset-uploads';
import { registerAssetRoutes } from './assets';
import { registerAuditLogRoutes } from './audit-logs';
import { registerCustomNodeRoutes } from './custom-nodes';
import { registerDatasetRoutes } from './datasets';
import { registerMemberRoutes } from './members';
import { registerNotificationEndpointRoutes } from './notification-endpoints';
import { platformRoutes } from './platform-registry';
import { registerPluginRoutes } from './plugins';
import { registerProjectRoutes } from './projects';
import { registerRegistryCredentialRoutes } from './registry-credentials';
import { registerStorageConnectionRoutes } from './storage-connections';
import { registerUserRoutes } from './users';
import { registerWorkflowRoutes } from './workflows';
import { registerWorkspaceSecretRoutes } from './workspace-secrets';
import { registerWorkspaceRoutes } from './workspaces';

/** Tenancy, definitions and the data catalog: users, workspaces, members, keys, projects, workflows, assets, ... */
export function registerPlatformRoutes(
  registry: ApiRegistry,
  ctx: Pick<AppContext, 'db' | 'store' | 'config' | 'triggers'>,
): void {
  const services = createPlatformServices({ ...ctx, events: ctx.triggers.dispatcher });
  const api = platformRoutes(registry);
  for (const register of [
    registerUserRoutes,
    registerMemberRoutes,
    registerWorkspaceRoutes,
    registerApiKeyRoutes,
    registerProjectRoutes,
    registerWorkflowRoutes,
    registerCustomNodeRoutes,
    registerAssetRoutes,
    registerAssetUploadRoutes,
    registerDatasetRoutes,
    registerStorageConnectionRoutes,
    registerWorkspaceSecretRoutes,
    registerNotificationEndpointRoutes,
    registerRegistryCredentialRoutes,
    registerAnnotationRoutes,
    registerPluginRoutes,
    registerAuditLogRoutes,
  ]) {
    register(api, services);
  }
}
