// What the run workflow knows about its graph: the plan's nodes with their current numbering, each finished
// node's result, the scheduler's state and which nodes failed. Explicit state, no I/O.
import { evaluate, truthy } from '../../src/dag/expr';
import { indexGraph } from '../../src/dag/graph';
import type { GraphIndex } from '../../src/dag/graph';
import { DagScheduler } from '../../src/dag/scheduler';
import type { NodeState, TaskStatus } from '../../src/dag/scheduler';
import type { RuntimeEdge } from '../../src/domain/runtime-graph';
import type { NodeInput, NodeResult, PlanNode, RunPlan } from '../../src/engine/contract';
import type { RunProgress } from '../messages';

/** A plan node with its defaults filled in (the plan leaves them out to stay small). */
export type RunNode = PlanNode & { taskQueue: string; generation: number; attemptBase: number; timeoutSeconds: number };

const NO_RESULT: NodeResult = { artifacts: [], assetIds: [], cacheHit: false };

export class RunGraph {
  readonly index: GraphIndex;
  readonly scheduler: DagScheduler;
  private readonly nodes: Map<string, RunNode>;
  private readonly results = new Map<string, NodeResult>();
  private readonly failed: Set<string>;
  /** Nodes that run once every other node has ended. */
  readonly exitNodes: ReadonlySet<string>;
  /** Set when the run's time ran out: what its exit nodes are told. */
  timedOut = false;

  constructor(readonly plan: RunPlan) {
    this.index = indexGraph({ nodes: plan.nodes as never, edges: plan.edges });
    this.nodes = new Map(
      plan.nodes.map((n) => [
        n.id,
        {
          ...n,
          taskQueue: n.taskQueue ?? plan.defaultTaskQueue,
          generation: n.generation ?? 0,
          attemptBase: n.attemptBase ?? 0,
          timeoutSeconds: n.timeoutSeconds ?? 60,
        },
      ]),
    );
    const initial = new Map<string, NodeState>();
    for (const c of plan.carryOver ?? []) {
      initial.set(c.nodeId, { status: c.status, skipReason: c.skipReason });
      if (c.result) this.results.set(c.nodeId, c.result);
    }
    const runWhen = new Map(plan.nodes.flatMap((n) => (n.runWhen ? [[n.id, n.runWhen] as const] : [])));
    this.exitNodes = new Set(plan.nodes.filter((n) => n.onExit).map((n) => n.id));
    this.scheduler = new DagScheduler(this.index, plan.maxParallelism, initial, runWhen, this.exitNodes);
    this.failed = new Set((plan.carryOver ?? []).filter((c) => c.status === 'failed').map((c) => c.nodeId));
  }

  has(nodeId: string): boolean {
    return this.nodes.has(nodeId);
  }

  node(nodeId: string): RunNode {
    return this.nodes.get(nodeId)!;
  }

  get anyFailed(): boolean {
    return this.failed.size > 0;
  }

  failedNodeIds(): string[] {
    return [...this.failed].sort();
  }

  /** What a node's activity receives: its upstream nodes' artifacts, and the asset set they passed on. */
  inputFor(node: RunNode): NodeInput {
    const ups = this.index.upstream.get(node.id) ?? [];
    // A sub-workflow's root nodes receive what flowed into the workflow node that started it.
    const upstream = ups.length
      ? ups.map((id) => ({ nodeId: id, ...(this.results.get(id) ?? NO_RESULT) }))
      : (this.plan.upstreamInputs ?? []);
    const assetIds = ups.length ? [...new Set(upstream.flatMap((u) => u.assetIds))] : this.plan.assetIds;
    return {
      runId: this.plan.runId,
      nodeId: node.id,
      generation: node.generation,
      attemptBase: node.attemptBase,
      maxAttempts: node.retry?.maxAttempts ?? 1,
      assetIds,
      ...(this.exitNodes.has(node.id)
        ? { runOutcome: this.timedOut ? ('timed_out' as const) : this.scheduler.mainOutcome() }
        : {}),
      upstream: upstream.map(({ nodeId, artifacts, manifest, assetIds: a }) => ({
        nodeId,
        artifacts,
        assetIds: a,
        ...(manifest ? { manifest } : {}),
      })),
    };
  }

  /** What decision expressions and edge conditions read: each upstream node's result (and `result` for one). */
  upstreamResults(nodeId: string): { inputs: Record<string, unknown>; result: unknown } {
    const ups = this.index.upstream.get(nodeId) ?? [];
    const inputs = Object.fromEntries(ups.map((u) => [u, this.results.get(u)?.result ?? null]));
    return { inputs, result: ups.length === 1 ? inputs[ups[0]!] : null };
  }

  /** An edge is taken when it has no condition, or its condition holds over its source's result. */
  readonly edgeTaken = (edge: RuntimeEdge): boolean => {
    if (!edge.condition) return true;
    try {
      return truthy(
        evaluate(edge.condition, {
          ...this.upstreamResults(edge.source),
          result: this.results.get(edge.source)?.result ?? null,
        }),
      );
    } catch {
      // Conditions are checked when a version is created; one that cannot evaluate is not taken.
      return false;
    }
  };

  succeeded(nodeId: string, result: NodeResult): void {
    this.results.set(nodeId, result);
    this.scheduler.complete(nodeId, 'success');
  }

  nodeFailed(nodeId: string): void {
    this.scheduler.complete(nodeId, 'failed');
    this.failed.add(nodeId);
  }

  cancelled(nodeId: string): void {
    this.scheduler.complete(nodeId, 'cancelled');
  }

  /** A retried node starts over in its new generation: its old result and failure are forgotten. */
  renumber(nodeId: string, generation: number, attemptBase: number): void {
    this.nodes.set(nodeId, { ...this.node(nodeId), generation, attemptBase });
    this.results.delete(nodeId);
    this.failed.delete(nodeId);
  }

  progress(): RunProgress {
    const counts: Record<TaskStatus, number> = {
      pending: 0,
      queued: 0,
      running: 0,
      success: 0,
      failed: 0,
      cancelled: 0,
      skipped: 0,
    };
    const nodes: Record<string, TaskStatus> = {};
    for (const [id, s] of this.scheduler.snapshot()) {
      counts[s.status]++;
      nodes[id] = s.status;
    }
    return { counts, nodes };
  }
}
