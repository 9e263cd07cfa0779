import { IdSchema } from '../../src/domain/common';
import { AddMemberBody, RoleSchema, UpdateMemberBody } from '../../src/domain/identity';
import type { AuthContext } from '../../src/services/auth';
import { pageView, toView } from '../../src/services/common';
import type { PlatformServices } from '../../src/services/platform';
import { caller, gate, idParams, listQuery, page } from './platform-registry';
import type { PlatformRoutes } from './platform-registry';

const MemberParams = idParams('workspaceId', 'membershipId');

/** Memberships: admins manage them; only owners touch owners; a workspace keeps at least one owner. */
export function registerMemberRoutes(api: PlatformRoutes, { memberships }: PlatformServices): void {
  api.route(
    {
      method: 'post',
      path: '/v1/workspaces/:workspaceId/members',
      creates: { param: 'membershipId' },
      tag: 'members',
      summary: 'Add a user (by userId or email) to the workspace or one of its projects (admin)',
      params: idParams('workspaceId'),
      body: AddMemberBody,
      status: 201,
    },
    async (req, { params, body }) => {
      gate(req.auth, { workspaceId: params.workspaceId, projectId: body.projectId }, 'admin', 'workspace');
      return toView(await memberships.add(params.workspaceId, body, caller(req.auth, params.workspaceId)));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/workspaces/:workspaceId/members',
      tag: 'members',
      summary: "A workspace's memberships, filtered by project, user or role",
      params: idParams('workspaceId'),
      query: listQuery({ projectId: IdSchema.optional(), userId: IdSchema.optional(), role: RoleSchema.optional() }),
    },
    async (req, { params, query }) => {
      gate(req.auth, { workspaceId: params.workspaceId }, 'viewer', 'workspace');
      return pageView(await memberships.list(params.workspaceId, query, page(query)));
    },
  );

  const loadMembership = async (auth: AuthContext, params: { workspaceId: string; membershipId: string }) => {
    const m = await memberships.get(params.membershipId);
    return gate(auth, m && m.workspaceId === params.workspaceId ? m : null, 'admin', 'membership');
  };

  api.route(
    {
      method: 'patch',
      path: '/v1/workspaces/:workspaceId/members/:membershipId',
      tag: 'members',
      summary: "Change a member's role (admin; owners only by owners)",
      params: MemberParams,
      body: UpdateMemberBody,
    },
    async (req, { params, body }) => {
      const m = await loadMembership(req.auth, params);
      return toView(await memberships.updateRole(m, body.role, caller(req.auth, params.workspaceId)));
    },
  );

  api.route(
    {
      method: 'delete',
      path: '/v1/workspaces/:workspaceId/members/:membershipId',
      tag: 'members',
      summary: 'Remove a membership (admin; owners only by owners; never the last owner)',
      params: MemberParams,
      status: 204,
    },
    async (req, { params }) => {
      const m = await loadMembership(req.auth, params);
      await memberships.remove(m, caller(req.auth, params.workspaceId));
    },
  );
}
