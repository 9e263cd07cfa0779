import { z } from 'zod';
import { paramsJsonSchema } from '../../src/dag/params';
import { IdSchema } from '../../src/domain/common';
import { CreateWorkflowBody, CreateWorkflowVersionBody } from '../../src/domain/definitions';
import type { AuthContext, Role } from '../../src/services/auth';
import { pageView, toView } from '../../src/services/common';
import type { PlatformServices } from '../../src/services/platform';
import { notFound } from '../errors';
import { gate, idParams, listQuery, page } from './platform-registry';
import type { PlatformRoutes } from './platform-registry';
import { loadProject, projectScope } from './projects';

const VersionParams = z
  .object({ workflowId: IdSchema, versionNumber: z.coerce.number().int().min(1).max(1_000_000_000) })
  .strict();

export function registerWorkflowRoutes(api: PlatformRoutes, { projects, workflows }: PlatformServices): void {
  const loadWorkflow = async (auth: AuthContext, workflowId: string, min: Role) =>
    gate(auth, await workflows.get(workflowId), min, 'workflow');

  api.route(
    {
      method: 'post',
      path: '/v1/projects/:projectId/workflows',
      creates: { param: 'workflowId' },
      tag: 'workflows',
      summary: 'Create a workflow definition (editor)',
      params: idParams('projectId'),
      body: CreateWorkflowBody,
      status: 201,
    },
    async (req, { params, body }) => {
      const project = await loadProject(projects, req.auth, params.projectId, 'editor');
      return toView(await workflows.create(projectScope(project), body, req.auth.userId));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/projects/:projectId/workflows',
      tag: 'workflows',
      summary: "A project's workflow definitions, newest first",
      params: idParams('projectId'),
      query: listQuery({ status: z.enum(['active', 'archived']).optional() }),
    },
    async (req, { params, query }) => {
      const project = await loadProject(projects, req.auth, params.projectId, 'viewer');
      return pageView(await workflows.list(projectScope(project), query, page(query)));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/workflows/:workflowId',
      tag: 'workflows',
      summary: 'A workflow definition',
      params: idParams('workflowId'),
    },
    async (req, { params }) => toView(await loadWorkflow(req.auth, params.workflowId, 'viewer')),
  );

  api.route(
    {
      method: 'post',
      path: '/v1/workflows/:workflowId/versions',
      creates: { param: 'versionNumber', field: 'versionNumber' },
      tag: 'workflows',
      summary:
        'Create an immutable version (editor); an invalid runtimeGraph is one 400 invalid_graph listing every problem',
      params: idParams('workflowId'),
      body: CreateWorkflowVersionBody,
      status: 201,
    },
    async (req, { params, body }) => {
      const def = await loadWorkflow(req.auth, params.workflowId, 'editor');
      return toView(await workflows.createVersion(def, body, req.auth.userId));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/workflows/:workflowId/versions',
      tag: 'workflows',
      summary: "A workflow's versions, newest first, without their graphs",
      params: idParams('workflowId'),
      query: listQuery({}),
    },
    async (req, { params, query }) => {
      const def = await loadWorkflow(req.auth, params.workflowId, 'viewer');
      return pageView(await workflows.listVersions(def, page(query)));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/workflows/:workflowId/versions/:versionNumber',
      tag: 'workflows',
      summary: 'One version with its graphs',
      params: VersionParams,
    },
    async (req, { params }) => {
      const def = await loadWorkflow(req.auth, params.workflowId, 'viewer');
      const version = await workflows.getVersion(def, params.versionNumber);
      if (!version) throw notFound(`version ${params.versionNumber}`);
      return toView(version);
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/workflows/:workflowId/versions/:versionNumber/params-schema',
      tag: 'workflows',
      summary: "The JSON Schema of a version's params (from runtimeGraph.params): what a run's params must satisfy",
      params: VersionParams,
    },
    async (req, { params }) => {
      const def = await loadWorkflow(req.auth, params.workflowId, 'viewer');
      const version = await workflows.getVersion(def, params.versionNumber);
      if (!version) throw notFound(`version ${params.versionNumber}`);
      return paramsJsonSchema(version.runtimeGraph.params);
    },
  );

  api.route(
    {
      method: 'post',
      path: '/v1/workflows/:workflowId/versions/:versionNumber/publish',
      tag: 'workflows',
      summary: 'Publish a version: runs start from it unless they name another (editor)',
      params: VersionParams,
    },
    async (req, { params }) => {
      const def = await loadWorkflow(req.auth, params.workflowId, 'editor');
      return toView(await workflows.publish(def, params.versionNumber, req.auth.userId));
    },
  );
}
