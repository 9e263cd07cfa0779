import { z } from 'zod';
import { CreatePluginBody } from '../../src/domain/definitions';
import { pageView, toView } from '../../src/services/common';
import type { PlatformServices } from '../../src/services/platform';
import { gate, idParams, listQuery, page } from './platform-registry';
import type { PlatformRoutes } from './platform-registry';

export function registerPluginRoutes(api: PlatformRoutes, { plugins }: PlatformServices): void {
  api.route(
    {
      method: 'get',
      path: '/v1/plugins',
      tag: 'plugins',
      summary: "Platform plugins and those of the caller's workspaces",
      query: listQuery({
        scope: z.enum(['platform', 'workspace']).optional(),
        status: z.enum(['enabled', 'disabled']).optional(),
        name: z.string().max(64).optional(),
      }),
    },
    async (req, { query }) => pageView(await plugins.list(req.auth.workspaceIds(), query, page(query))),
  );

  api.route(
    {
      method: 'post',
      path: '/v1/workspaces/:workspaceId/plugins',
      tag: 'plugins',
      summary: 'Install a plugin in a workspace (admin)',
      params: idParams('workspaceId'),
      body: CreatePluginBody,
      status: 201,
    },
    async (req, { params, body }) => {
      gate(req.auth, { workspaceId: params.workspaceId }, 'admin', 'workspace');
      return toView(await plugins.create(params.workspaceId, body, req.auth.userId));
    },
  );
}
