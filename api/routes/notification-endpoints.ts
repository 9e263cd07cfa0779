import { CreateNotificationEndpointBody } from '../../src/domain/notifications';
import { pageView } from '../../src/services/common';
import { notificationEndpointView } from '../../src/services/notification-endpoints';
import type { PlatformServices } from '../../src/services/platform';
import { gate, idParams, listQuery, page } from './platform-registry';
import type { PlatformRoutes } from './platform-registry';

export function registerNotificationEndpointRoutes(
  api: PlatformRoutes,
  { notificationEndpoints }: PlatformServices,
): void {
  api.route(
    {
      method: 'post',
      path: '/v1/workspaces/:workspaceId/notification-endpoints',
      creates: { param: 'endpointId' },
      tag: 'notifications',
      summary:
        "Add a URL every run end of the workspace is POSTed to (admin): {event: 'run.finished', runId, workflowId, status, errorMessage?, startedAt, finishedAt}, signed with X-Emboflow-Signature: sha256=<hex HMAC-SHA256 of '<X-Emboflow-Timestamp>.<body>'>, retried with backoff (10 attempts over about 40 minutes) until a 2xx; a 4xx other than 408 or 429 ends it. The answer holds the signing secret: the only time it is shown",
      params: idParams('workspaceId'),
      body: CreateNotificationEndpointBody,
      status: 201,
    },
    async (req, { params, body }) => {
      gate(req.auth, { workspaceId: params.workspaceId }, 'admin', 'workspace');
      return notificationEndpoints.create(params.workspaceId, body, req.auth.userId);
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/workspaces/:workspaceId/notification-endpoints',
      tag: 'notifications',
      summary: "A workspace's notification endpoints (editor), without their secrets",
      params: idParams('workspaceId'),
      query: listQuery({}),
    },
    async (req, { params, query }) => {
      gate(req.auth, { workspaceId: params.workspaceId }, 'editor', 'workspace');
      return pageView(await notificationEndpoints.list(params.workspaceId, page(query)), notificationEndpointView);
    },
  );

  api.route(
    {
      method: 'delete',
      path: '/v1/notification-endpoints/:endpointId',
      tag: 'notifications',
      summary: 'Stop notifying an endpoint (admin); a delivery under way makes no further attempt',
      params: idParams('endpointId'),
      status: 204,
    },
    async (req, { params }) => {
      const endpoint = gate(
        req.auth,
        await notificationEndpoints.get(params.endpointId),
        'admin',
        'notification endpoint',
      );
      await notificationEndpoints.delete(endpoint, req.auth.userId);
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/notification-endpoints/:endpointId/deliveries',
      tag: 'notifications',
      summary:
        "An endpoint's deliveries, newest first (editor): per run end, retrying, delivered or failed, with the attempts made and the last answer",
      params: idParams('endpointId'),
      query: listQuery({}),
    },
    async (req, { params, query }) => {
      const endpoint = gate(
        req.auth,
        await notificationEndpoints.get(params.endpointId),
        'editor',
        'notification endpoint',
      );
      return pageView(await notificationEndpoints.deliveriesOf(endpoint, page(query)));
    },
  );
}
