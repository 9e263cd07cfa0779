import { CreateUserBody } from '../../src/domain/identity';
import { toView } from '../../src/services/common';
import type { PlatformServices } from '../../src/services/platform';
import { caller, gate, idParams } from './platform-registry';
import type { PlatformRoutes } from './platform-registry';

/** The caller's own account, and the accounts admins create directly in their workspace. */
export function registerUserRoutes(api: PlatformRoutes, { users }: PlatformServices): void {
  api.route(
    { method: 'get', path: '/v1/me', tag: 'users', summary: 'The caller and their memberships' },
    async (req) => {
      const me = await users.me(req.auth.userId);
      return { user: toView(me.user), memberships: me.memberships.map(toView) };
    },
  );

  api.route(
    {
      method: 'post',
      path: '/v1/workspaces/:workspaceId/users',
      tag: 'users',
      summary: 'Create a user and make them a member (admin; owner role only from an owner)',
      params: idParams('workspaceId'),
      body: CreateUserBody,
      status: 201,
    },
    async (req, { params, body }) => {
      gate(req.auth, { workspaceId: params.workspaceId }, 'admin', 'workspace');
      const created = await users.createInWorkspace(params.workspaceId, body, caller(req.auth, params.workspaceId));
      return { user: toView(created.user), membership: toView(created.membership) };
    },
  );
}
