// Definitions (seed 000): workflow definitions and their immutable versions, custom container nodes, plugins.
import type { Collection, Db, Filter } from 'mongodb';
import type {
  CustomNodeDoc,
  PluginDoc,
  WorkflowDefinitionDocument,
  WorkflowVersionDocument,
} from '../domain/definitions';
import type { NodeContract } from '../domain/runtime-graph';
import { insertUnique, insertWithSlug, platformCollection } from './common';
import { paginate } from './pagination';
import type { Page, PageRequest } from './pagination';

interface Scope {
  workspaceId: string;
  projectId: string;
}

/** The filter the workflow list route runs, served by the projectId index. */
export function workflowListFilter(
  scope: Scope,
  q: { status?: 'active' | 'archived' },
): Filter<WorkflowDefinitionDocument> {
  const filter: Filter<WorkflowDefinitionDocument> = { projectId: scope.projectId, workspaceId: scope.workspaceId };
  if (q.status) filter.status = q.status;
  return filter;
}

export class WorkflowDefinitionRepository {
  private readonly definitions: Collection<WorkflowDefinitionDocument>;

  constructor(db: Db) {
    this.definitions = platformCollection(db, 'workflow_definitions');
  }

  get(workflowId: string): Promise<WorkflowDefinitionDocument | null> {
    return this.definitions.findOne({ _id: workflowId });
  }

  list(
    scope: Scope,
    q: { status?: 'active' | 'archived' },
    page: PageRequest,
  ): Promise<Page<WorkflowDefinitionDocument>> {
    return paginate(this.definitions, workflowListFilter(scope, q), page);
  }

  /** Slugs are unique within a project (a unique index). */
  insertWithSlug(
    build: (slug: string) => WorkflowDefinitionDocument,
    base: string,
    suffixed: boolean,
  ): Promise<WorkflowDefinitionDocument | undefined> {
    return insertWithSlug(this.definitions, build, base, suffixed);
  }

  /**
   * Bumps latestVersionNumber and returns the definition after it; null when it is gone. FerretDB v1 applies
   * concurrent updates of one document without isolation: two callers can get the same number (the versions'
   * unique index decides) and the counter can even fall back (raiseLatestVersionNumber moves it on again).
   */
  allocateVersionNumber(workflowId: string): Promise<WorkflowDefinitionDocument | null> {
    return this.definitions.findOneAndUpdate(
      { _id: workflowId },
      { $inc: { latestVersionNumber: 1 }, $set: { updatedAt: new Date() } },
      // No projection: FerretDB's findAndModify does not implement one.
      { returnDocument: 'after' },
    );
  }

  /** Moves latestVersionNumber up to `versionNumber`, never down. */
  async raiseLatestVersionNumber(workflowId: string, versionNumber: number): Promise<void> {
    await this.definitions.updateOne({ _id: workflowId }, { $max: { latestVersionNumber: versionNumber } });
  }

  /** The definition after publishing; null when it is gone. */
  publish(workflowId: string, versionNumber: number): Promise<WorkflowDefinitionDocument | null> {
    return this.definitions.findOneAndUpdate(
      { _id: workflowId },
      { $set: { publishedVersionNumber: versionNumber, updatedAt: new Date() } },
      { returnDocument: 'after' },
    );
  }
}

export class WorkflowVersionRepository {
  private readonly versions: Collection<WorkflowVersionDocument>;

  constructor(db: Db) {
    this.versions = platformCollection(db, 'workflow_definition_versions');
  }

  get(versionId: string): Promise<WorkflowVersionDocument | null> {
    return this.versions.findOne({ _id: versionId });
  }

  getByNumber(workflowId: string, versionNumber: number): Promise<WorkflowVersionDocument | null> {
    return this.versions.findOne({ workflowDefinitionId: workflowId, versionNumber });
  }

  /** The highest version number stored for the workflow, 0 when it has none. */
  async highestNumber(workflowId: string): Promise<number> {
    const top = await this.versions
      .find({ workflowDefinitionId: workflowId }, { projection: { versionNumber: 1 } })
      .sort({ versionNumber: -1 })
      .limit(1)
      .next();
    return top?.versionNumber ?? 0;
  }

  /** False when the workflow already has a version of this number (the unique index is the arbiter). */
  insertUnique(version: WorkflowVersionDocument): Promise<boolean> {
    return insertUnique(this.versions, version);
  }

  /** A workflow's versions, newest first, without their graphs. */
  list(
    def: Pick<WorkflowDefinitionDocument, '_id' | 'workspaceId'>,
    page: PageRequest,
  ): Promise<Page<WorkflowVersionDocument>> {
    return paginate(
      this.versions,
      { workflowDefinitionId: def._id, workspaceId: def.workspaceId },
      { ...page, projection: { visualGraph: 0, logicGraph: 0, runtimeGraph: 0 } },
    );
  }
}

/** The executor's and the plan's lookups lead with `_id`: FerretDB v1 searches an index only for `_id`. */
export class CustomNodeRepository {
  private readonly nodes: Collection<CustomNodeDoc>;

  constructor(db: Db) {
    this.nodes = platformCollection(db, 'custom_nodes');
  }

  get(customNodeId: string): Promise<CustomNodeDoc | null> {
    return this.nodes.findOne({ _id: customNodeId });
  }

  /** A custom node of the workspace: a run only ever uses its own workspace's nodes. */
  findInWorkspace(customNodeId: string, workspaceId: string): Promise<CustomNodeDoc | null> {
    return this.nodes.findOne({ _id: customNodeId, workspaceId });
  }

  list(
    scope: Scope,
    q: { category?: string; status?: CustomNodeDoc['status'] },
    page: PageRequest,
  ): Promise<Page<CustomNodeDoc>> {
    return paginate(
      this.nodes,
      { ...scope, ...(q.category ? { category: q.category } : {}), ...(q.status ? { status: q.status } : {}) },
      page,
    );
  }

  /** Slugs are unique within a project (a unique index). */
  insertWithSlug(
    build: (slug: string) => CustomNodeDoc,
    base: string,
    suffixed: boolean,
  ): Promise<CustomNodeDoc | undefined> {
    return insertWithSlug(this.nodes, build, base, suffixed);
  }

  /** The contracts of the project's custom nodes among `customNodeIds`, by id. */
  async contractsInProject(customNodeIds: string[], scope: Scope): Promise<Map<string, NodeContract>> {
    const found = await this.nodes
      .find({ _id: { $in: customNodeIds }, ...scope }, { projection: { contract: 1 } })
      .toArray();
    return new Map(found.map((c) => [c._id, c.contract]));
  }

  /** Those of `customNodeIds` that are the workspace's and built from a Dockerfile (a worker builds their image). */
  async dockerfileSourcedIds(customNodeIds: string[], workspaceId: string): Promise<string[]> {
    const found = await this.nodes
      .find({ _id: { $in: customNodeIds }, workspaceId, 'source.kind': 'dockerfile' }, { projection: { _id: 1 } })
      .toArray();
    return found.map((c) => c._id);
  }

  /** The node's image is built: ready, any earlier build error cleared. */
  async markBuilt(customNodeId: string): Promise<void> {
    await this.nodes.updateOne(
      { _id: customNodeId },
      { $set: { status: 'ready', updatedAt: new Date() }, $unset: { buildError: '' } },
    );
  }

  async markBuildFailed(customNodeId: string, buildError: string): Promise<void> {
    await this.nodes.updateOne(
      { _id: customNodeId },
      { $set: { status: 'build_failed', buildError, updatedAt: new Date() } },
    );
  }
}

export interface PluginQuery {
  scope?: PluginDoc['scope'];
  status?: PluginDoc['status'];
  name?: string;
}

export class PluginRepository {
  private readonly plugins: Collection<PluginDoc>;

  constructor(db: Db) {
    this.plugins = platformCollection(db, 'plugins');
  }

  /** Platform plugins and those of the given workspaces, newest first. */
  list(workspaceIds: string[], q: PluginQuery, page: PageRequest): Promise<Page<PluginDoc>> {
    const filter: Filter<PluginDoc> = {
      $or: [{ scope: 'platform' }, { scope: 'workspace', workspaceId: { $in: workspaceIds } }],
    };
    if (q.scope) filter.scope = q.scope;
    if (q.status) filter.status = q.status;
    if (q.name) filter.name = q.name;
    return paginate(this.plugins, filter, page);
  }

  /** Whether the workspace has a plugin of this name (no unique index: a check). */
  async nameTaken(workspaceId: string, name: string): Promise<boolean> {
    return (await this.plugins.findOne({ workspaceId, name }, { projection: { _id: 1 } })) !== null;
  }

  async insert(plugin: PluginDoc): Promise<void> {
    await this.plugins.insertOne(plugin);
  }
}
