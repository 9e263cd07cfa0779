import { z } from 'zod';
import { CreateAssetUploadBody, MAX_PART_BYTES, MIN_PART_BYTES, UploadPartParams } from '../../src/domain/catalog';
import { uploadView } from '../../src/services/asset-uploads';
import type { AuthContext, Role } from '../../src/services/auth';
import { toView } from '../../src/services/common';
import type { PlatformServices } from '../../src/services/platform';
import { requireOctetStream } from '../middleware/body';
import { gate, idParams } from './platform-registry';
import type { PlatformRoutes } from './platform-registry';
import { loadProject, projectScope } from './projects';

const UploadPartHeaders = z.object({
  'content-length': z
    .string({ error: "required: the part's size in bytes" })
    .regex(/^[0-9]{1,16}$/, 'a byte count')
    .describe(
      `Required: the part's size, which must be the upload's partSizeBytes (${MIN_PART_BYTES} to ${MAX_PART_BYTES}), or what is left of the file for the last part`,
    ),
});

/** Resumable uploads: create, send parts in any order (again if need be), read which are done, complete or abort. */
export function registerAssetUploadRoutes(api: PlatformRoutes, { projects, assetUploads }: PlatformServices): void {
  const loadUpload = async (auth: AuthContext, uploadId: string, min: Role) =>
    gate(auth, await assetUploads.get(uploadId), min, 'upload');

  api.route(
    {
      method: 'post',
      path: '/v1/projects/:projectId/asset-uploads',
      creates: { param: 'uploadId' },
      tag: 'assets',
      summary:
        'Start a resumable upload of one file of any size (editor): then PUT its parts, and complete it to get the asset',
      params: idParams('projectId'),
      body: CreateAssetUploadBody,
      status: 201,
    },
    async (req, { params, body }) => {
      const project = await loadProject(projects, req.auth, params.projectId, 'editor');
      return uploadView(await assetUploads.create(projectScope(project), body, req.auth.userId));
    },
  );

  api.route(
    {
      method: 'put',
      path: '/v1/asset-uploads/:uploadId/parts/:partNumber',
      tag: 'assets',
      summary:
        "Send one part's bytes (editor), streamed to object storage; sending a part again replaces it. Answers the part's number and size.",
      params: UploadPartParams,
      headers: UploadPartHeaders,
      rawBody: {
        description: `Bytes partSizeBytes * (partNumber - 1) up to partSizeBytes * partNumber of the file: exactly partSizeBytes (${MIN_PART_BYTES} to ${MAX_PART_BYTES}) except for the last part.`,
      },
      untimed: true,
    },
    async (req, { params, headers }) => {
      const upload = await loadUpload(req.auth, params.uploadId, 'editor');
      requireOctetStream(req);
      const part = await assetUploads.putPart(upload, params.partNumber, req, Number(headers['content-length']));
      return { partNumber: part.partNumber, sizeBytes: part.size };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/asset-uploads/:uploadId',
      tag: 'assets',
      summary: "A resumable upload: its status and, while it is open, the parts already stored (what's left to resume)",
      params: idParams('uploadId'),
    },
    async (req, { params }) => assetUploads.status(await loadUpload(req.auth, params.uploadId, 'viewer')),
  );

  api.route(
    {
      method: 'post',
      path: '/v1/asset-uploads/:uploadId/complete',
      creates: { param: 'assetId' },
      tag: 'assets',
      summary:
        'Complete a resumable upload (editor): joins the parts, checks the whole file against the declared checksum (a mismatch is a 400 naming checksum, and the bytes are dropped), and answers the asset. Completing again answers the same asset.',
      params: idParams('uploadId'),
      untimed: true,
      status: 201,
    },
    async (req, { params }) => {
      const upload = await loadUpload(req.auth, params.uploadId, 'editor');
      return toView(await assetUploads.complete(upload, req.auth.userId));
    },
  );

  api.route(
    {
      method: 'delete',
      path: '/v1/asset-uploads/:uploadId',
      tag: 'assets',
      summary: 'Abort a resumable upload and drop its parts (editor)',
      params: idParams('uploadId'),
    },
    async (req, { params }) => assetUploads.abort(await loadUpload(req.auth, params.uploadId, 'editor')),
  );
}
