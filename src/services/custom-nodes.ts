import type { Db } from 'mongodb';
import { CustomNodeRepository } from '../db/definitions';
import type { PageRequest } from '../db/pagination';
import type { CreateCustomNodeInput, CustomNodeDoc } from '../domain/definitions';
import { newId } from '../ids';
import type { AuditLog } from './audit';
import { insertWithSlug, pick } from './common';

const SUMMARY = ['name', 'slug', 'status', 'category'] as const;

interface Scope {
  workspaceId: string;
  projectId: string;
}

export class CustomNodeService {
  private readonly nodes: CustomNodeRepository;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
  ) {
    this.nodes = new CustomNodeRepository(db);
  }

  get(customNodeId: string): Promise<CustomNodeDoc | null> {
    return this.nodes.get(customNodeId);
  }

  list(scope: Scope, q: { category?: string; status?: CustomNodeDoc['status'] }, page: PageRequest) {
    return this.nodes.list(scope, q, page);
  }

  /**
   * Registers a node. The source is stored as given: the worker runs source.image, or source.imageTag once a
   * Dockerfile node has been built (until then it is pending_build).
   */
  async create(scope: Scope, input: CreateCustomNodeInput, actorId: string): Promise<CustomNodeDoc> {
    const now = new Date();
    const _id = newId('cnd');
    const node = await insertWithSlug(
      this.nodes,
      (slug): CustomNodeDoc => ({
        _id,
        ...(input.definitionId ? { definitionId: input.definitionId } : {}),
        ...scope,
        name: input.name,
        slug,
        description: input.description,
        category: input.category,
        status: input.source.kind === 'image' ? 'ready' : 'pending_build',
        contract: input.contract,
        source: input.source,
        createdBy: actorId,
        createdAt: now,
        updatedAt: now,
      }),
      { chosen: input.slug, name: input.name, fallback: 'node', what: 'custom node' },
    );
    await this.audit.record({
      actorId,
      ...scope,
      resourceType: 'custom_node',
      resourceId: _id,
      action: 'create',
      after: { ...pick(node, SUMMARY), sourceKind: node.source.kind },
    });
    return node;
  }
}
