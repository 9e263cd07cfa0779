import { z } from 'zod';
import {
  ASSET_STATUSES,
  ASSET_TYPES,
  CreateAssetBody,
  CreateProbeReportBody,
  UploadAssetQuery,
} from '../../src/domain/catalog';
import type { AuthContext, Role } from '../../src/services/auth';
import { pageView, toView } from '../../src/services/common';
import type { PlatformServices } from '../../src/services/platform';
import { ApiError, badRequest } from '../errors';
import { readRawBody } from '../middleware/body';
import { gate, idParams, listQuery, page  } from './platform-registry';
import type {PlatformRoutes} from './platform-registry';
import { loadProject, projectScope } from './projects';

/** Uploads are buffered once in memory on their way to object storage; bigger inputs are registered by reference. */
export const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;

export function registerAssetRoutes(api: PlatformRoutes, { projects, assets }: PlatformServices): void {
  const loadAsset = async (auth: AuthContext, assetId: string, min: Role) =>
    gate(auth, await assets.get(assetId), min, 'asset');

  api.route(
    {
      method: 'post',
      path: '/v1/projects/:projectId/assets',
      tag: 'assets',
      summary: 'Register an asset already in object storage: one object (storageRef) or a prefix (editor)',
      params: idParams('projectId'),
      body: CreateAssetBody,
      status: 201,
    },
    async (req, { params, body }) => {
      const project = await loadProject(projects, req.auth, params.projectId, 'editor');
      return toView(await assets.register(projectScope(project), body, req.auth.userId));
    },
  );

  api.route(
    {
      method: 'post',
      path: '/v1/projects/:projectId/assets/upload',
      tag: 'assets',
      summary: `Upload one file as an asset: the raw bytes as application/octet-stream, up to ${MAX_UPLOAD_BYTES / 1024 / 1024} MiB (editor)`,
      params: idParams('projectId'),
      query: UploadAssetQuery,
      status: 201,
    },
    async (req, { params, query }, res) => {
      const project = await loadProject(projects, req.auth, params.projectId, 'editor');
      if (!/^application\/octet-stream\b/i.test(req.headers['content-type'] ?? '')) {
        throw new ApiError(415, 'unsupported_media_type', 'uploads are application/octet-stream');
      }
      // Read only now that the caller is known to be allowed: nobody else can make the API buffer an upload.
      const bytes = await readRawBody(req, res, MAX_UPLOAD_BYTES);
      if (!bytes.length)
        throw badRequest('body: an upload needs at least one byte', [{ field: 'body', message: 'empty' }]);
      return toView(await assets.upload(projectScope(project), query, bytes, req.auth.userId));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/projects/:projectId/assets',
      tag: 'assets',
      summary: "A project's assets, newest first, filtered by type and status",
      params: idParams('projectId'),
      query: listQuery({ type: z.enum(ASSET_TYPES).optional(), status: z.enum(ASSET_STATUSES).optional() }),
    },
    async (req, { params, query }) => {
      const project = await loadProject(projects, req.auth, params.projectId, 'viewer');
      return pageView(await assets.list(projectScope(project), query, page(query)));
    },
  );

  api.route(
    { method: 'get', path: '/v1/assets/:assetId', tag: 'assets', summary: 'An asset', params: idParams('assetId') },
    async (req, { params }) => toView(await loadAsset(req.auth, params.assetId, 'viewer')),
  );

  api.route(
    {
      method: 'post',
      path: '/v1/assets/:assetId/probe-reports',
      tag: 'assets',
      summary: "Record a probe report on an asset's structure (editor)",
      params: idParams('assetId'),
      body: CreateProbeReportBody,
      status: 201,
    },
    async (req, { params, body }) => {
      const asset = await loadAsset(req.auth, params.assetId, 'editor');
      return toView(await assets.createProbeReport(asset, body, req.auth.userId));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/assets/:assetId/probe-reports',
      tag: 'assets',
      summary: "An asset's probe reports, newest first",
      params: idParams('assetId'),
      query: listQuery({}),
    },
    async (req, { params, query }) => {
      const asset = await loadAsset(req.auth, params.assetId, 'viewer');
      return pageView(await assets.listProbeReports(asset, page(query)));
    },
  );
}
