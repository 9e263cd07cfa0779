import { z } from 'zod';
import { CreateDatasetBody, CreateDatasetVersionBody } from '../../src/domain/catalog';
import { IdSchema } from '../../src/domain/common';
import type { AuthContext, Role } from '../../src/services/auth';
import { pageView, toView } from '../../src/services/common';
import type { PlatformServices } from '../../src/services/platform';
import { notFound } from '../errors';
import { gate, idParams, listQuery, page } from './platform-registry';
import type { PlatformRoutes } from './platform-registry';
import { loadProject, projectScope } from './projects';

export function registerDatasetRoutes(api: PlatformRoutes, { projects, datasets }: PlatformServices): void {
  const loadDataset = async (auth: AuthContext, datasetId: string, min: Role) =>
    gate(auth, await datasets.get(datasetId), min, 'dataset');

  api.route(
    {
      method: 'post',
      path: '/v1/projects/:projectId/datasets',
      creates: { param: 'datasetId' },
      tag: 'datasets',
      summary: 'Create a dataset (editor)',
      params: idParams('projectId'),
      body: CreateDatasetBody,
      status: 201,
    },
    async (req, { params, body }) => {
      const project = await loadProject(projects, req.auth, params.projectId, 'editor');
      return toView(await datasets.create(projectScope(project), body, req.auth.userId));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/projects/:projectId/datasets',
      tag: 'datasets',
      summary: "A project's datasets, newest first",
      params: idParams('projectId'),
      query: listQuery({ type: z.string().max(64).optional(), status: z.enum(['active', 'archived']).optional() }),
    },
    async (req, { params, query }) => {
      const project = await loadProject(projects, req.auth, params.projectId, 'viewer');
      return pageView(await datasets.list(projectScope(project), query, page(query)));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/datasets/:datasetId',
      tag: 'datasets',
      summary: 'A dataset',
      params: idParams('datasetId'),
    },
    async (req, { params }) => toView(await loadDataset(req.auth, params.datasetId, 'viewer')),
  );

  api.route(
    {
      method: 'post',
      path: '/v1/datasets/:datasetId/versions',
      creates: { param: 'versionId' },
      tag: 'datasets',
      summary:
        'Create an immutable dataset version over assets of the same project; its manifest goes to object storage (editor)',
      params: idParams('datasetId'),
      body: CreateDatasetVersionBody,
      status: 201,
    },
    async (req, { params, body }) => {
      const dataset = await loadDataset(req.auth, params.datasetId, 'editor');
      return toView(await datasets.createVersion(dataset, body, req.auth.userId));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/datasets/:datasetId/versions',
      tag: 'datasets',
      summary: "A dataset's versions, newest first, without their asset lists",
      params: idParams('datasetId'),
      query: listQuery({}),
    },
    async (req, { params, query }) => {
      const dataset = await loadDataset(req.auth, params.datasetId, 'viewer');
      return pageView(await datasets.listVersions(dataset, page(query)));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/datasets/:datasetId/versions/:versionId',
      tag: 'datasets',
      summary: 'One dataset version with its asset ids and manifest reference',
      params: z.object({ datasetId: IdSchema, versionId: IdSchema }).strict(),
    },
    async (req, { params }) => {
      const dataset = await loadDataset(req.auth, params.datasetId, 'viewer');
      const version = await datasets.getVersion(dataset, params.versionId);
      if (!version) throw notFound('dataset version');
      return toView(version);
    },
  );
}
