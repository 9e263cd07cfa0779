import { z } from 'zod';
import { IdSchema } from '../../src/domain/common';
import {
  CreateWorkspaceSecretBody,
  RotateWorkspaceSecretBody,
  SecretNameSchema,
} from '../../src/domain/workspace-secrets';
import type { PlatformServices } from '../../src/services/platform';
import { workspaceSecretView } from '../../src/services/workspace-secrets';
import { gate, idParams } from './platform-registry';
import type { PlatformRoutes } from './platform-registry';

const SecretParams = z.object({ workspaceId: IdSchema, name: SecretNameSchema }).strict();

export function registerWorkspaceSecretRoutes(api: PlatformRoutes, { workspaceSecrets }: PlatformServices): void {
  api.route(
    {
      method: 'post',
      path: '/v1/workspaces/:workspaceId/secrets',
      creates: { param: 'name', field: 'name' },
      tag: 'secrets',
      summary: 'Create a secret (admin): its value is stored encrypted and never answered; nodes name it',
      params: idParams('workspaceId'),
      body: CreateWorkspaceSecretBody,
      status: 201,
    },
    async (req, { params, body }) => {
      gate(req.auth, { workspaceId: params.workspaceId }, 'admin', 'workspace');
      return workspaceSecretView(
        await workspaceSecrets.create(params.workspaceId, body.name, body.value, req.auth.userId),
      );
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/workspaces/:workspaceId/secrets',
      tag: 'secrets',
      summary: "A workspace's secrets: names and versions, never values (editor)",
      params: idParams('workspaceId'),
    },
    async (req, { params }) => {
      gate(req.auth, { workspaceId: params.workspaceId }, 'editor', 'workspace');
      return { items: (await workspaceSecrets.list(params.workspaceId)).map(workspaceSecretView) };
    },
  );

  api.route(
    {
      method: 'put',
      path: '/v1/workspaces/:workspaceId/secrets/:name',
      tag: 'secrets',
      summary: 'Rotate a secret (admin): a new value, the version goes up; runs started later get it',
      params: SecretParams,
      body: RotateWorkspaceSecretBody,
    },
    async (req, { params, body }) => {
      gate(req.auth, { workspaceId: params.workspaceId }, 'admin', 'workspace');
      return workspaceSecretView(
        await workspaceSecrets.rotate(params.workspaceId, params.name, body.value, req.auth.userId),
      );
    },
  );

  api.route(
    {
      method: 'delete',
      path: '/v1/workspaces/:workspaceId/secrets/:name',
      tag: 'secrets',
      summary: 'Delete a secret and its encrypted value (admin); nodes naming it fail until it exists again',
      params: SecretParams,
      status: 204,
    },
    async (req, { params }) => {
      gate(req.auth, { workspaceId: params.workspaceId }, 'admin', 'workspace');
      await workspaceSecrets.delete(params.workspaceId, params.name, req.auth.userId);
      return undefined;
    },
  );
}
