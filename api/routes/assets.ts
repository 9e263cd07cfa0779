import { z } from 'zod';
import {
  ASSET_STATUSES,
  ASSET_TYPES,
  ChecksumSchema,
  CreateAssetBody,
  CreateProbeReportBody,
  MAX_PARTS,
  UploadAssetQuery,
} from '../../src/domain/catalog';
import type { AuthContext, Role } from '../../src/services/auth';
import { pageView, toView } from '../../src/services/common';
import type { PlatformServices } from '../../src/services/platform';
import { PART_BYTES } from '../../src/storage/object-store';
import { ApiError, badRequest } from '../errors';
import { requireOctetStream } from '../middleware/body';
import { gate, idParams, listQuery, page } from './platform-registry';
import type { PlatformRoutes } from './platform-registry';
import { loadProject, projectScope } from './projects';

/**
 * The largest simple upload: object storage takes it in putStream's parts, at most 10,000 of them. Bigger files,
 * and transfers that must survive a dropped connection, go through /asset-uploads.
 */
export const MAX_SIMPLE_UPLOAD_BYTES = PART_BYTES * MAX_PARTS;

const ByteCount = z.string().regex(/^[0-9]{1,16}$/, 'a byte count');

const UploadAssetHeaders = z.object({
  'content-length': ByteCount.describe(
    `The body's length, when known (chunked bodies are streamed too). Over ${MAX_SIMPLE_UPLOAD_BYTES} bytes is a 413 before any byte is stored; 0 is a 400.`,
  ).optional(),
  'x-checksum': ChecksumSchema.describe(
    'sha256:<hex> the bytes must hash to; when they do not, the answer is a 400 naming x-checksum and nothing is stored or recorded.',
  ).optional(),
});

export function registerAssetRoutes(api: PlatformRoutes, { projects, assets }: PlatformServices): void {
  const loadAsset = async (auth: AuthContext, assetId: string, min: Role) =>
    gate(auth, await assets.get(assetId), min, 'asset');

  api.route(
    {
      method: 'post',
      path: '/v1/projects/:projectId/assets',
      creates: { param: 'assetId' },
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
      creates: { param: 'assetId' },
      tag: 'assets',
      summary:
        'Upload one file as an asset: its raw bytes as application/octet-stream, streamed to object storage and hashed on the way (editor). For files that need resuming, use asset-uploads.',
      params: idParams('projectId'),
      query: UploadAssetQuery,
      headers: UploadAssetHeaders,
      rawBody: { description: `The file's bytes: 1 to ${MAX_SIMPLE_UPLOAD_BYTES}.` },
      untimed: true,
      status: 201,
    },
    async (req, { params, query, headers }) => {
      const project = await loadProject(projects, req.auth, params.projectId, 'editor');
      requireOctetStream(req);
      // The body is read only now that the caller is known to be allowed, and only as it streams to storage.
      const declared = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
      if (declared === 0)
        throw badRequest('body: an upload needs at least one byte', [{ field: 'body', message: 'empty' }]);
      if (declared !== undefined && declared > MAX_SIMPLE_UPLOAD_BYTES)
        throw new ApiError(413, 'payload_too_large', `an upload is at most ${MAX_SIMPLE_UPLOAD_BYTES} bytes`, [
          { field: 'content-length', message: `at most ${MAX_SIMPLE_UPLOAD_BYTES}` },
        ]);
      const opts = { checksum: headers['x-checksum'], maxBytes: MAX_SIMPLE_UPLOAD_BYTES };
      return toView(await assets.upload(projectScope(project), query, req, opts, req.auth.userId));
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
