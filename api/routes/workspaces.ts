import { CreateWorkspaceBody, UpdateWorkspaceBody } from '../../src/domain/identity';
import { pageView, toView } from '../../src/services/common';
import type { PlatformServices } from '../../src/services/platform';
import { notFound } from '../errors';
import { assertMember, gate, idParams, listQuery, page } from './platform-registry';
import type { PlatformRoutes } from './platform-registry';

const WorkspaceParams = idParams('workspaceId');

export function registerWorkspaceRoutes(api: PlatformRoutes, { workspaces }: PlatformServices): void {
  api.route(
    {
      method: 'post',
      path: '/v1/workspaces',
      creates: { param: 'workspaceId' },
      tag: 'workspaces',
      summary: 'Create a team workspace; the caller becomes its owner',
      body: CreateWorkspaceBody,
      status: 201,
    },
    async (req, { body }) => toView(await workspaces.create(body, req.auth.userId)),
  );

  api.route(
    {
      method: 'get',
      path: '/v1/workspaces',
      tag: 'workspaces',
      summary: "The caller's workspaces",
      query: listQuery({}),
    },
    async (req, { query }) => pageView(await workspaces.list(req.auth.workspaceIds(), page(query))),
  );

  api.route(
    {
      method: 'get',
      path: '/v1/workspaces/:workspaceId',
      tag: 'workspaces',
      summary: 'A workspace the caller belongs to',
      params: WorkspaceParams,
    },
    async (req, { params }) => {
      assertMember(req.auth, params.workspaceId);
      const workspace = await workspaces.get(params.workspaceId);
      if (!workspace) throw notFound('workspace');
      return toView(workspace);
    },
  );

  api.route(
    {
      method: 'patch',
      path: '/v1/workspaces/:workspaceId',
      tag: 'workspaces',
      summary: 'Rename a workspace or replace its settings (admin)',
      params: WorkspaceParams,
      body: UpdateWorkspaceBody,
    },
    async (req, { params, body }) => {
      const found = await workspaces.get(params.workspaceId);
      gate(req.auth, found && { workspaceId: found._id }, 'admin', 'workspace');
      return toView(await workspaces.update(found!, body, req.auth.userId));
    },
  );
}
