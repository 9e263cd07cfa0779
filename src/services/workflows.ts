import type { Db } from 'mongodb';
import type { z } from 'zod';
import { checkExpression } from '../dag/expr';
import { exitNodeProblems, validateContracts, validateGraphStructure } from '../dag/graph';
import type { GraphProblem } from '../dag/graph';
import { mapProblems } from '../dag/map';
import { declarationProblems } from '../dag/params';
import { subWorkflowProblems } from '../dag/sub-workflows';
import type { LoadVersion } from '../dag/sub-workflows';
import { templateProblems } from '../dag/template';
import { RegistryCredentialRepository } from '../db/catalog';
import { CustomNodeRepository, WorkflowDefinitionRepository, WorkflowVersionRepository } from '../db/definitions';
import { WorkspaceRepository } from '../db/identity';
import type { PageRequest } from '../db/pagination';
import { WorkspaceSecretRepository } from '../db/workspace-secrets';
import type {
  CreateWorkflowInput,
  CreateWorkflowVersionInput,
  WorkflowDefinitionDocument,
  WorkflowVersionDocument,
} from '../domain/definitions';
import { parseImageReference } from '../domain/image-ref';
import { RuntimeGraphSchema } from '../domain/runtime-graph';
import type { NodeContract, RuntimeGraph, RuntimeNode } from '../domain/runtime-graph';
import { newId } from '../ids';
import type { AuditLog } from './audit';
import { insertWithSlug, pick } from './common';
import { clash, missing, ServiceError } from './errors';
import type { WorkflowDefinitionDoc, WorkflowVersionDoc } from './runs';

export { workflowListFilter } from '../db/definitions';

// The run service reads what this service writes: a compile error here means the two shapes drifted apart.
type Fits<T extends U, U> = T;
export type DefinitionFitsRunService = Fits<WorkflowDefinitionDocument, WorkflowDefinitionDoc>;
export type VersionFitsRunService = Fits<WorkflowVersionDocument, WorkflowVersionDoc>;

const SUMMARY = ['name', 'slug', 'status', 'latestVersionNumber', 'publishedVersionNumber'] as const;
const VERSION_ALLOCATION_ATTEMPTS = 20;

/** A version's id: derived from its workflow and number, zero-padded so ids sort in version order. */
export function versionId(workflowDefinitionId: string, versionNumber: number): string {
  return `${workflowDefinitionId}_v${String(versionNumber).padStart(9, '0')}`;
}

interface Scope {
  workspaceId: string;
  projectId: string;
}

/** The least a graph needs for the checks that only look at ids, kinds and edges. */
interface GraphShape {
  nodes: ReadonlyArray<{ id: string; executorType: string }>;
  edges: ReadonlyArray<{ source: string; target: string; condition?: string }>;
}

/** Decision expressions and edge conditions that do not parse: one problem each, at its path. */
export function expressionProblems(graph: GraphShape): GraphProblem[] {
  // Every node kind and edge conditions run; what remains to check is that each expression parses.
  const problems: GraphProblem[] = [];
  graph.nodes.forEach((n, i) => {
    const expression = (n as { executorConfig?: { expression?: unknown } }).executorConfig?.expression;
    if (n.executorType === 'decision' && typeof expression === 'string') {
      const problem = checkExpression(expression);
      if (problem)
        problems.push({
          nodeId: n.id,
          path: `nodes.${i}.executorConfig.expression`,
          message: `expression: ${problem}`,
        });
    }
  });
  graph.edges.forEach((e, i) => {
    if (typeof e.condition === 'string') {
      const problem = checkExpression(e.condition);
      if (problem) problems.push({ nodeId: e.target, path: `edges.${i}.condition`, message: `condition: ${problem}` });
    }
  });
  return problems;
}

/**
 * The ids, kinds and edges of a graph that failed its schema, when every node and edge is readable enough for them
 * (so reported paths keep the caller's indexes); otherwise the schema problems alone describe the graph.
 */
function readableShape(raw: Record<string, unknown>): GraphShape | undefined {
  const { nodes, edges = [] } = raw;
  if (!Array.isArray(nodes) || !Array.isArray(edges)) return undefined;
  const record = (v: unknown): Record<string, unknown> | undefined =>
    v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const shape = { nodes: [] as Array<GraphShape['nodes'][number]>, edges: [] as Array<GraphShape['edges'][number]> };
  for (const n of nodes.map(record)) {
    if (typeof n?.id !== 'string') return undefined;
    shape.nodes.push({ id: n.id, executorType: typeof n.executorType === 'string' ? n.executorType : '' });
  }
  for (const e of edges.map(record)) {
    if (typeof e?.source !== 'string' || typeof e.target !== 'string') return undefined;
    shape.edges.push({
      source: e.source,
      target: e.target,
      condition: e.condition === undefined ? undefined : String(e.condition),
    });
  }
  return shape;
}

function schemaProblems(error: z.ZodError, raw: Record<string, unknown>): GraphProblem[] {
  const nodes = Array.isArray(raw.nodes) ? raw.nodes : [];
  return error.issues.map((issue) => {
    const [head, index] = issue.path;
    const node =
      head === 'nodes' && typeof index === 'number' ? (nodes[index] as { id?: unknown } | undefined) : undefined;
    return {
      nodeId: typeof node?.id === 'string' ? node.id : undefined,
      path: issue.path.map(String).join('.') || '(graph)',
      message: issue.message,
    };
  });
}

/** Every problem of a runtime graph in one 400 invalid_graph, each at its path. */
function invalidGraph(problems: GraphProblem[]): ServiceError {
  const listed = problems
    .slice(0, 5)
    .map((p) => `${p.path}: ${p.message}`)
    .join('; ');
  return new ServiceError(
    400,
    'invalid_graph',
    `runtimeGraph has ${problems.length} problem(s): ${listed}${problems.length > 5 ? '; ...' : ''}`,
    problems,
  );
}

export class WorkflowService {
  private readonly definitions: WorkflowDefinitionRepository;
  private readonly versions: WorkflowVersionRepository;
  private readonly customNodes: CustomNodeRepository;
  private readonly workspaceSecrets: WorkspaceSecretRepository;
  private readonly workspaces: WorkspaceRepository;
  private readonly registryCredentials: RegistryCredentialRepository;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
  ) {
    this.definitions = new WorkflowDefinitionRepository(db);
    this.versions = new WorkflowVersionRepository(db);
    this.customNodes = new CustomNodeRepository(db);
    this.workspaceSecrets = new WorkspaceSecretRepository(db);
    this.workspaces = new WorkspaceRepository(db);
    this.registryCredentials = new RegistryCredentialRepository(db);
  }

  get(workflowId: string): Promise<WorkflowDefinitionDocument | null> {
    return this.definitions.get(workflowId);
  }

  list(scope: Scope, q: { status?: 'active' | 'archived' }, page: PageRequest) {
    return this.definitions.list(scope, q, page);
  }

  async create(scope: Scope, input: CreateWorkflowInput, actorId: string): Promise<WorkflowDefinitionDocument> {
    const now = new Date();
    const _id = newId('wfd');
    const def = await insertWithSlug(
      this.definitions,
      (slug): WorkflowDefinitionDocument => ({
        _id,
        ...scope,
        name: input.name,
        slug,
        description: input.description,
        status: 'active',
        latestVersionNumber: 0,
        publishedVersionNumber: null,
        createdBy: actorId,
        createdAt: now,
        updatedAt: now,
      }),
      { chosen: input.slug, name: input.name, fallback: 'workflow', what: 'workflow' },
    );
    await this.audit.record({
      actorId,
      ...scope,
      resourceType: 'workflow_definition',
      resourceId: _id,
      action: 'create',
      after: pick(def, SUMMARY),
    });
    return def;
  }

  /**
   * Checks a runtime graph completely: its schema, its structure, its contracts (custom nodes resolved inside the
   * project) and what this engine supports. Every problem is reported in one 400 invalid_graph.
   */
  async validateRuntimeGraph(scope: Scope, raw: Record<string, unknown>): Promise<RuntimeGraph> {
    const parsed = RuntimeGraphSchema.safeParse(raw);
    const problems: GraphProblem[] = [];
    if (parsed.success) {
      problems.push(
        ...validateGraphStructure(parsed.data),
        ...expressionProblems(parsed.data),
        ...mapProblems(parsed.data),
        ...exitNodeProblems(parsed.data),
        ...declarationProblems(parsed.data.params),
        ...templateProblems(parsed.data),
      );
      problems.push(...(await this.contractProblems(scope, parsed.data)));
      problems.push(...(await this.secretProblems(scope, parsed.data)));
      problems.push(...(await this.rootProblems(scope, parsed.data)));
      problems.push(...(await this.registryCredentialProblems(scope, parsed.data)));
      problems.push(...(await subWorkflowProblems(parsed.data.nodes, this.versionLoader(scope))));
    } else {
      problems.push(...schemaProblems(parsed.error, raw));
      const shape = readableShape(raw);
      if (shape) {
        // The structural checks read only ids and edge ends, which the readable shape has.
        problems.push(
          ...expressionProblems(shape),
          ...validateGraphStructure(shape as unknown as Pick<RuntimeGraph, 'nodes' | 'edges'>),
        );
      }
    }
    if (problems.length || !parsed.success) throw invalidGraph(problems);
    return parsed.data;
  }

  /** Reads a sub-workflow's version inside the project; another project's workflow reads as missing. */
  private versionLoader(scope: Scope): LoadVersion {
    return async ({ workflowId, versionNumber }) => {
      const def = await this.definitions.get(workflowId);
      if (!def || def.workspaceId !== scope.workspaceId || def.projectId !== scope.projectId) return 'no-workflow';
      const version = await this.versions.getByNumber(workflowId, versionNumber);
      return version ? { workflowDefinitionId: def._id, nodes: version.runtimeGraph.nodes } : 'no-version';
    };
  }

  /** Custom nodes must exist in the same project; contracts come from the node, else from its custom node. */
  /** A node may run as root only where the workspace allows it (settings.allowRootContainers). */
  private async rootProblems(scope: Scope, graph: RuntimeGraph): Promise<GraphProblem[]> {
    const root = graph.nodes.flatMap((n, i) =>
      n.executorType === 'docker' && n.executorConfig.runAsRoot ? [{ nodeId: n.id, i }] : [],
    );
    if (!root.length || (await this.workspaces.executionLimits(scope.workspaceId)).allowRootContainers) return [];
    return root.map(({ nodeId, i }) => ({
      nodeId,
      path: `nodes.${i}.executorConfig.runAsRoot`,
      message: 'the workspace does not allow root containers (an admin sets settings.allowRootContainers: true)',
    }));
  }

  /** Every secret a node names must exist in the workspace (its value is only read when the node runs). */
  private async secretProblems(scope: Scope, graph: RuntimeGraph): Promise<GraphProblem[]> {
    const named = graph.nodes.flatMap((n, i) =>
      n.executorType === 'docker'
        ? (n.executorConfig.secrets ?? []).map((s, j) => ({
            nodeId: n.id,
            name: s.name,
            path: `nodes.${i}.executorConfig.secrets.${j}.name`,
          }))
        : [],
    );
    if (!named.length) return [];
    const found = new Set(
      (await this.workspaceSecrets.named(scope.workspaceId, [...new Set(named.map((s) => s.name))])).map((s) => s.name),
    );
    return named
      .filter((s) => !found.has(s.name))
      .map((s) => ({ nodeId: s.nodeId, path: s.path, message: `the workspace has no secret ${s.name}` }));
  }

  private async contractProblems(scope: Scope, graph: RuntimeGraph): Promise<GraphProblem[]> {
    const problems: GraphProblem[] = [];
    const referenced = [
      ...new Set(
        graph.nodes.flatMap((n) =>
          n.executorType === 'docker' && n.executorConfig.customNodeId ? [n.executorConfig.customNodeId] : [],
        ),
      ),
    ];
    const contracts = referenced.length
      ? await this.customNodes.contractsInProject(referenced, scope)
      : new Map<string, NodeContract>();
    graph.nodes.forEach((n, i) => {
      if (
        n.executorType === 'docker' &&
        n.executorConfig.customNodeId &&
        !contracts.has(n.executorConfig.customNodeId)
      ) {
        problems.push({
          nodeId: n.id,
          path: `nodes.${i}.executorConfig.customNodeId`,
          message: `custom node ${n.executorConfig.customNodeId} not found in this project`,
        });
      }
    });
    const contractOf = (n: RuntimeNode): NodeContract | undefined =>
      n.contract ??
      (n.executorType === 'docker' && n.executorConfig.customNodeId
        ? contracts.get(n.executorConfig.customNodeId)
        : undefined);
    problems.push(...validateContracts(graph, contractOf));
    return problems;
  }

  /**
   * A registry credential a node names must be the workspace's, and for the registry its image is pulled from (a
   * password is never sent to another registry). Deleted later, the pull fails the task instead.
   */
  private async registryCredentialProblems(scope: Scope, graph: RuntimeGraph): Promise<GraphProblem[]> {
    const problems: GraphProblem[] = [];
    for (const [i, n] of graph.nodes.entries()) {
      if (n.executorType !== 'docker' || !n.executorConfig.registryCredentialId) continue;
      const id = n.executorConfig.registryCredentialId;
      const path = `nodes.${i}.executorConfig.registryCredentialId`;
      const credential = await this.registryCredentials.findInWorkspace(id, scope.workspaceId);
      const registry = n.executorConfig.image && parseImageReference(n.executorConfig.image)?.registry;
      if (!credential)
        problems.push({ nodeId: n.id, path, message: `registry credential ${id} not found in this workspace` });
      else if (registry && credential.registry !== registry)
        problems.push({
          nodeId: n.id,
          path,
          message: `registry credential ${id} is for ${credential.registry}, but the image is pulled from ${registry}`,
        });
    }
    return problems;
  }

  /** A new immutable version: validated first, then numbered latest+1 by an atomic $inc on the definition. */
  async createVersion(
    def: WorkflowDefinitionDocument,
    input: CreateWorkflowVersionInput,
    actorId: string,
  ): Promise<WorkflowVersionDocument> {
    const scope = { workspaceId: def.workspaceId, projectId: def.projectId };
    const runtimeGraph = await this.validateRuntimeGraph(scope, input.runtimeGraph);
    const version = await this.insertNextVersion(def, (versionNumber, createdAt) => ({
      _id: versionId(def._id, versionNumber),
      workflowDefinitionId: def._id,
      ...scope,
      versionNumber,
      visualGraph: input.visualGraph ?? null,
      logicGraph: input.logicGraph ?? null,
      runtimeGraph,
      pluginRefs: input.pluginRefs,
      summary: input.summary,
      createdBy: actorId,
      createdAt,
    }));
    await this.audit.record({
      actorId,
      ...scope,
      resourceType: 'workflow_version',
      resourceId: version._id,
      action: 'create',
      after: {
        workflowDefinitionId: def._id,
        versionNumber: version.versionNumber,
        nodeCount: runtimeGraph.nodes.length,
        edgeCount: runtimeGraph.edges.length,
      },
    });
    return version;
  }

  /**
   * Allocates latest+1 with $inc on the definition and inserts the version; the unique index on
   * (workflowDefinitionId, versionNumber) is the arbiter. FerretDB v1 applies concurrent updates of one document
   * without isolation (two $inc can return the same number, and the counter can even fall back), so a duplicate
   * number is retried after moving the counter past the highest stored version. On MongoDB the first try wins.
   */
  private async insertNextVersion(
    def: WorkflowDefinitionDocument,
    build: (versionNumber: number, createdAt: Date) => WorkflowVersionDocument,
  ): Promise<WorkflowVersionDocument> {
    for (let attempt = 0; attempt < VERSION_ALLOCATION_ATTEMPTS; attempt++) {
      const head = await this.definitions.allocateVersionNumber(def._id);
      if (!head) throw missing('workflow');
      // Stamped after allocation, so creation order follows version order (ties sort by the number in the id).
      const version = build(head.latestVersionNumber, new Date());
      if (await this.versions.insertUnique(version)) {
        await this.definitions.raiseLatestVersionNumber(def._id, version.versionNumber);
        return version;
      }
      await this.definitions.raiseLatestVersionNumber(def._id, await this.versions.highestNumber(def._id));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * (attempt + 1)));
    }
    throw clash('too many versions of this workflow are being created at once; retry');
  }

  /** Versions newest first, without their graphs (GET one version for those). */
  listVersions(def: WorkflowDefinitionDocument, page: PageRequest) {
    return this.versions.list(def, page);
  }

  getVersion(def: WorkflowDefinitionDocument, versionNumber: number): Promise<WorkflowVersionDocument | null> {
    return this.versions.getByNumber(def._id, versionNumber);
  }

  async publish(
    def: WorkflowDefinitionDocument,
    versionNumber: number,
    actorId: string,
  ): Promise<WorkflowDefinitionDocument> {
    const version = await this.versions.getByNumber(def._id, versionNumber);
    if (!version) throw missing(`version ${versionNumber}`);
    const publishedId = version._id;
    // Sub-workflows: what it runs must still be there, never run this workflow again, and nest a bounded depth.
    const scope = { workspaceId: def.workspaceId, projectId: def.projectId };
    const problems = await subWorkflowProblems(version.runtimeGraph.nodes, this.versionLoader(scope), def._id);
    if (problems.length) throw invalidGraph(problems);
    const updated = await this.definitions.publish(def._id, versionNumber);
    if (!updated) throw missing('workflow');
    await this.audit.record({
      actorId,
      workspaceId: def.workspaceId,
      projectId: def.projectId,
      resourceType: 'workflow_definition',
      resourceId: def._id,
      action: 'publish',
      before: { publishedVersionNumber: def.publishedVersionNumber },
      after: { publishedVersionNumber: versionNumber },
      metadata: { versionId: publishedId },
    });
    return updated;
  }
}
