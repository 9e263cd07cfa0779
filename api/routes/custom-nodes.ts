import { z } from 'zod';
import { ShortTextSchema } from '../../src/domain/common';
import { CreateCustomNodeBody, CUSTOM_NODE_STATUSES } from '../../src/domain/definitions';
import { pageView, toView } from '../../src/services/common';
import type { PlatformServices } from '../../src/services/platform';
import { gate, idParams, listQuery, page } from './platform-registry';
import type { PlatformRoutes } from './platform-registry';
import { loadProject, projectScope } from './projects';

export function registerCustomNodeRoutes(api: PlatformRoutes, { projects, customNodes }: PlatformServices): void {
  api.route(
    {
      method: 'post',
      path: '/v1/projects/:projectId/custom-nodes',
      creates: { param: 'customNodeId' },
      tag: 'custom-nodes',
      summary: 'Register a custom container node: an image, or a Dockerfile plus the tag to build (editor)',
      params: idParams('projectId'),
      body: CreateCustomNodeBody,
      status: 201,
    },
    async (req, { params, body }) => {
      const project = await loadProject(projects, req.auth, params.projectId, 'editor');
      return toView(await customNodes.create(projectScope(project), body, req.auth.userId));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/projects/:projectId/custom-nodes',
      tag: 'custom-nodes',
      summary: "A project's custom nodes",
      params: idParams('projectId'),
      query: listQuery({ category: ShortTextSchema.optional(), status: z.enum(CUSTOM_NODE_STATUSES).optional() }),
    },
    async (req, { params, query }) => {
      const project = await loadProject(projects, req.auth, params.projectId, 'viewer');
      return pageView(await customNodes.list(projectScope(project), query, page(query)));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/custom-nodes/:customNodeId',
      tag: 'custom-nodes',
      summary: 'A custom node',
      params: idParams('customNodeId'),
    },
    async (req, { params }) =>
      toView(gate(req.auth, await customNodes.get(params.customNodeId), 'viewer', 'custom node')),
  );
}
