import { CreateRegistryCredentialBody } from '../../src/domain/catalog';
import { pageView } from '../../src/services/common';
import type { PlatformServices } from '../../src/services/platform';
import { registryCredentialView } from '../../src/services/registry-credentials';
import { gate, idParams, listQuery, page } from './platform-registry';
import type { PlatformRoutes } from './platform-registry';

export function registerRegistryCredentialRoutes(api: PlatformRoutes, { registryCredentials }: PlatformServices): void {
  api.route(
    {
      method: 'post',
      path: '/v1/workspaces/:workspaceId/registry-credentials',
      creates: { param: 'credentialId' },
      tag: 'registry-credentials',
      summary:
        'Add a container registry login (admin): workers pull node images from that registry with it. One per registry; the password is stored encrypted and never returned',
      params: idParams('workspaceId'),
      body: CreateRegistryCredentialBody,
      status: 201,
    },
    async (req, { params, body }) => {
      gate(req.auth, { workspaceId: params.workspaceId }, 'admin', 'workspace');
      return registryCredentialView(await registryCredentials.create(params.workspaceId, body, req.auth.userId));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/workspaces/:workspaceId/registry-credentials',
      tag: 'registry-credentials',
      summary: "A workspace's container registry logins, without their passwords (admin)",
      params: idParams('workspaceId'),
      query: listQuery({}),
    },
    async (req, { params, query }) => {
      gate(req.auth, { workspaceId: params.workspaceId }, 'admin', 'workspace');
      return pageView(await registryCredentials.list(params.workspaceId, page(query)), registryCredentialView);
    },
  );

  api.route(
    {
      method: 'delete',
      path: '/v1/registry-credentials/:credentialId',
      tag: 'registry-credentials',
      summary: 'Delete a container registry login and its encrypted password (admin)',
      params: idParams('credentialId'),
      status: 204,
    },
    async (req, { params }) => {
      const doc = gate(req.auth, await registryCredentials.get(params.credentialId), 'admin', 'registry credential');
      await registryCredentials.delete(doc, req.auth.userId);
      return undefined;
    },
  );
}
