import type { Db } from 'mongodb';
import { PluginRepository } from '../db/definitions';
import type { PluginQuery } from '../db/definitions';
import type { PageRequest } from '../db/pagination';
import type { CreatePluginInput, PluginDoc } from '../domain/definitions';
import { newId } from '../ids';
import type { AuditLog } from './audit';
import { pick } from './common';
import { clash } from './errors';

const SUMMARY = ['name', 'scope', 'status', 'currentVersion'] as const;

export type { PluginQuery } from '../db/definitions';

export class PluginService {
  private readonly plugins: PluginRepository;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
  ) {
    this.plugins = new PluginRepository(db);
  }

  /** Platform plugins and those of the given workspaces (the caller's). */
  list(workspaceIds: string[], q: PluginQuery, page: PageRequest) {
    return this.plugins.list(workspaceIds, q, page);
  }

  /** Installs a plugin in a workspace; names are unique per workspace (checked, not indexed). */
  async create(workspaceId: string, input: CreatePluginInput, actorId: string): Promise<PluginDoc> {
    if (await this.plugins.nameTaken(workspaceId, input.name)) {
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
    await this.plugins.insert(plugin);
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
