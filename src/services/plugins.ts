import type { Collection, Db, Filter } from 'mongodb';
import { paginate } from '../db/pagination';
import type { CreatePluginInput, PluginDoc } from '../domain/definitions';
import { newId } from '../ids';
import type { AuditLog } from './audit';
import { pick } from './common';
import { clash } from './errors';

const SUMMARY = ['name', 'scope', 'status', 'currentVersion'] as const;

export interface PluginQuery {
  scope?: PluginDoc['scope'];
  status?: PluginDoc['status'];
  name?: string;
}

export class PluginService {
  readonly plugins: Collection<PluginDoc>;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
  ) {
    this.plugins = db.collection<PluginDoc>('plugins');
  }

  /** Platform plugins and those of the given workspaces (the caller's). */
  list(workspaceIds: string[], q: PluginQuery, page: { limit: number; cursor?: string }) {
    const filter: Filter<PluginDoc> = {
      $or: [{ scope: 'platform' }, { scope: 'workspace', workspaceId: { $in: workspaceIds } }],
    };
    if (q.scope) filter.scope = q.scope;
    if (q.status) filter.status = q.status;
    if (q.name) filter.name = q.name;
    return paginate(this.plugins, filter, page);
  }

  /** Installs a plugin in a workspace; names are unique per workspace (checked, not indexed). */
  async create(workspaceId: string, input: CreatePluginInput, actorId: string): Promise<PluginDoc> {
    if (await this.plugins.findOne({ workspaceId, name: input.name }, { projection: { _id: 1 } })) {
      throw clash(`a plugin named ${input.name} is already installed in this workspace`, 'name');
    }
    const now = new Date();
    const plugin: PluginDoc = {
      _id: newId('plg'),
      workspaceId,
      scope: 'workspace',
      name: input.name,
      status: 'enabled',
      currentVersion: input.version,
      versions: [
        {
          version: input.version,
          ...(input.image ? { image: input.image } : {}),
          manifest: input.manifest,
          createdAt: now,
        },
      ],
      permissions: input.permissions,
      metadata: input.metadata,
      createdBy: actorId,
      createdAt: now,
      updatedAt: now,
    };
    await this.plugins.insertOne(plugin);
    await this.audit.record({
      actorId,
      workspaceId,
      resourceType: 'plugin',
      resourceId: plugin._id,
      action: 'create',
      after: pick(plugin, SUMMARY),
    });
    return plugin;
  }
}
