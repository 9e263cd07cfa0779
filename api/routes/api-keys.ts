import { IdSchema } from '../../src/domain/common';
import { CreateApiKeyBody } from '../../src/domain/identity';
import { apiKeyView } from '../../src/services/api-keys';
import type { AuthContext } from '../../src/services/auth';
import { pageView } from '../../src/services/common';
import type { Authority } from '../../src/services/memberships';
import type { PlatformServices } from '../../src/services/platform';
import { forbidden, notFound } from '../errors';
import { idParams, listQuery, page } from './platform-registry';
import type { PlatformRoutes } from './platform-registry';

/** Another user's keys are an admin's business only inside a workspace both belong to. */
function requireAuthority(authority: Authority, what: string): string | null {
  if (authority.kind === 'unrelated') throw notFound(what);
  if (authority.kind === 'forbidden')
    throw forbidden("managing another member's API keys needs the admin role (owner for an owner's)");
  return authority.kind === 'admin' ? authority.workspaceId : null;
}

export function registerApiKeyRoutes(api: PlatformRoutes, { apiKeys, memberships }: PlatformServices): void {
  const authorityOver = (auth: AuthContext, userId: string) => memberships.authorityOver(auth, userId);

  api.route(
    {
      method: 'post',
      path: '/v1/api-keys',
      creates: { param: 'keyId' },
      tag: 'api-keys',
      summary: 'Create an API key for the caller; the plaintext key is in this answer only',
      body: CreateApiKeyBody,
      status: 201,
    },
    async (req, { body }) => {
      const { doc, key } = await apiKeys.create(req.auth.userId, body.name, req.auth.userId);
      return { ...apiKeyView(doc), key };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/api-keys',
      tag: 'api-keys',
      summary: "The caller's API keys (or, for an admin, a member's with ?userId=); never hashes or plaintexts",
      query: listQuery({ userId: IdSchema.optional() }),
    },
    async (req, { query }) => {
      const userId = query.userId ?? req.auth.userId;
      requireAuthority(await authorityOver(req.auth, userId), 'user');
      return pageView(await apiKeys.list(userId, page(query)), apiKeyView);
    },
  );

  api.route(
    {
      method: 'post',
      path: '/v1/api-keys/:keyId/revoke',
      tag: 'api-keys',
      summary: 'Revoke an API key: your own, or (admin) a member of your workspace',
      params: idParams('keyId'),
    },
    async (req, { params }) => {
      const key = await apiKeys.get(params.keyId);
      if (!key) throw notFound('api key');
      const via = requireAuthority(await authorityOver(req.auth, key.userId), 'api key');
      return apiKeyView(await apiKeys.revoke(key, req.auth.userId, via));
    },
  );
}
