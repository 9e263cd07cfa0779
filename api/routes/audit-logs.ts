import { z } from 'zod';
import { AUDIT_ACTIONS, AUDIT_RESOURCE_TYPES } from '../../src/domain/audit';
import { IdSchema } from '../../src/domain/common';
import { pageView } from '../../src/services/common';
import type { PlatformServices } from '../../src/services/platform';
import { gate, idParams, listQuery, page } from './platform-registry';
import type { PlatformRoutes } from './platform-registry';

export function registerAuditLogRoutes(api: PlatformRoutes, { audit }: PlatformServices): void {
  api.route(
    {
      method: 'get',
      path: '/v1/workspaces/:workspaceId/audit-logs',
      tag: 'audit',
      summary: "A workspace's audit trail, newest first (admin)",
      params: idParams('workspaceId'),
      query: listQuery({
        resourceType: z.enum(AUDIT_RESOURCE_TYPES).optional(),
        action: z.enum(AUDIT_ACTIONS).optional(),
        projectId: IdSchema.optional(),
        actorId: IdSchema.optional(),
      }),
    },
    async (req, { params, query }) => {
      gate(req.auth, { workspaceId: params.workspaceId }, 'admin', 'workspace');
      return pageView(await audit.list(params.workspaceId, query, page(query)));
    },
  );
}
