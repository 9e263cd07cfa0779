// login, logout, whoami.
import { ApiClient } from '../../../client/api-client';
import type { CommandSpec } from '../args';
import { DEFAULT_API_URL, removeCredentials, storeCredentials } from '../config';
import { UsageError, toCliError } from '../errors';
import { renderFields, renderTable } from '../format';

interface Me {
  user: { id: string; email?: string; displayName?: string };
  memberships: Array<{ workspaceId: string; projectId?: string; role: string }>;
}

function apiUrlOption(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--api-url is not a URL: ${value}`, 'login');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--api-url must be http or https: ${value}`, 'login');
  }
  return value.replace(/\/+$/, '');
}

export const login: CommandSpec = {
  name: 'login',
  summary: 'Check an API key with the API and store it',
  options: {
    'api-url': {
      type: 'string',
      value: 'URL',
      description: `the API's address (default: $EMBOFLOW_API_URL or ${DEFAULT_API_URL})`,
    },
    'api-key': {
      type: 'string',
      value: 'KEY',
      description: 'the API key; "-" reads it from stdin (keeps it out of shell history)',
    },
  },
  details: 'Verifies the key with GET /v1/me, then writes the URL and key to the config file (mode 0600).',
  async run(ctx, a) {
    const apiUrl = apiUrlOption(a.string('api-url') ?? (ctx.io.env.EMBOFLOW_API_URL || DEFAULT_API_URL));
    let apiKey = a.string('api-key');
    if (apiKey === '-') apiKey = (await ctx.io.readStdin()).trim();
    if (!apiKey) throw new UsageError('--api-key KEY is required (--api-key - reads it from stdin)', 'login');
    let me: Me;
    try {
      me = await new ApiClient(apiUrl, apiKey).get<Me>('/v1/me');
    } catch (err) {
      throw toCliError(err, apiUrl);
    }
    const file = storeCredentials(ctx.io, { apiUrl, apiKey });
    if (ctx.json) ctx.printJson(me);
    else ctx.out(`logged in to ${apiUrl} as ${me.user.email ?? me.user.id} (${me.user.id}); saved to ${file}`);
    if (ctx.io.env.EMBOFLOW_API_KEY && ctx.io.env.EMBOFLOW_API_KEY !== apiKey) {
      ctx.io.stderr.write('note: EMBOFLOW_API_KEY is set and takes precedence over the stored key\n');
    }
    return 0;
  },
};

export const logout: CommandSpec = {
  name: 'logout',
  summary: 'Forget the stored API URL and key',
  async run(ctx) {
    const file = removeCredentials(ctx.io);
    if (ctx.json) ctx.printJson({ removed: file ?? null });
    else ctx.out(file ? `logged out: removed ${file}` : 'not logged in: nothing to remove');
    if (ctx.io.env.EMBOFLOW_API_KEY) ctx.io.stderr.write('note: EMBOFLOW_API_KEY is still set in this environment\n');
    return 0;
  },
};

export const whoami: CommandSpec = {
  name: 'whoami',
  summary: 'Show the user the API key belongs to, and their memberships',
  async run(ctx) {
    const client = ctx.client();
    const me = await client.get<Me>('/v1/me');
    if (ctx.json) {
      ctx.printJson(me);
      return 0;
    }
    ctx.out(
      renderFields([
        ['user', `${me.user.email ?? ''} (${me.user.id})`.trim()],
        ['name', me.user.displayName],
        ['api', client.baseUrl],
      ]),
    );
    if (me.memberships.length) {
      ctx.out();
      ctx.out(
        renderTable(
          ['WORKSPACE', 'PROJECT', 'ROLE'],
          me.memberships.map((m) => [m.workspaceId, m.projectId ?? '*', m.role]),
        ),
      );
    }
    return 0;
  },
};
