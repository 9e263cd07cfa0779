import { z } from 'zod';
import { CreateStorageConnectionBody, STORAGE_CONNECTION_TYPES } from '../../src/domain/catalog';
import { pageView } from '../../src/services/common';
import type { PlatformServices } from '../../src/services/platform';
import { storageConnectionView } from '../../src/services/storage-connections';
import { gate, idParams, listQuery, page } from './platform-registry';
import type { PlatformRoutes } from './platform-registry';

export function registerStorageConnectionRoutes(api: PlatformRoutes, { storageConnections }: PlatformServices): void {
  api.route(
    {
      method: 'post',
      path: '/v1/workspaces/:workspaceId/storage-connections',
      creates: { param: 'connectionId' },
      tag: 'storage-connections',
      summary: 'Add a storage connection (admin); its secret is stored encrypted and never returned',
      params: idParams('workspaceId'),
      body: CreateStorageConnectionBody,
      status: 201,
    },
    async (req, { params, body }) => {
      gate(req.auth, { workspaceId: params.workspaceId }, 'admin', 'workspace');
      return storageConnectionView(await storageConnections.create(params.workspaceId, body, req.auth.userId));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/workspaces/:workspaceId/storage-connections',
      tag: 'storage-connections',
      summary: "A workspace's storage connections (editor)",
      params: idParams('workspaceId'),
      query: listQuery({ type: z.enum(STORAGE_CONNECTION_TYPES).optional(), provider: z.string().max(64).optional() }),
    },
    async (req, { params, query }) => {
      gate(req.auth, { workspaceId: params.workspaceId }, 'editor', 'workspace');
      return pageView(await storageConnections.list(params.workspaceId, query, page(query)), storageConnectionView);
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/storage-connections/:connectionId',
      tag: 'storage-connections',
      summary: 'A storage connection (editor)',
      params: idParams('connectionId'),
    },
    async (req, { params }) =>
      storageConnectionView(
        gate(req.auth, await storageConnections.get(params.connectionId), 'editor', 'storage connection'),
      ),
  );
}
