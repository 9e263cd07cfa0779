// Pure DAG scheduling: which nodes start, which are skipped, when a run is finished.
// No I/O, no clock, no randomness: the run workflow drives it, and unit tests drive it directly.
import type { RuntimeEdge } from '../domain/runtime-graph';
import type { GraphIndex } from './graph';

export const TASK_STATUSES = ['pending', 'queued', 'running', 'success', 'failed', 'cancelled', 'skipped'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export type TerminalStatus = 'success' | 'failed' | 'cancelled' | 'skipped';
export type SkipReason = 'upstream_failed' | 'condition_false' | 'trigger_rule';

/**
 * When a node runs, decided once every upstream node has ended: `all_success` (the default) needs every upstream to
 * have succeeded (or been skipped by a condition); `all_done` runs whatever they ended with; `one_success` needs one
 * success, `one_failed` one failure, `all_failed` only failures; `always` runs in every case. A node whose rule does
 * not hold is skipped with `trigger_rule` (with the default rule, `upstream_failed` as before).
 */
export const RUN_WHEN = ['all_success', 'all_done', 'one_success', 'one_failed', 'all_failed', 'always'] as const;
export type RunWhen = (typeof RUN_WHEN)[number];
export type RunOutcome = 'success' | 'failed' | 'cancelled';

export function isTerminal(status: TaskStatus): status is TerminalStatus {
  return status === 'success' || status === 'failed' || status === 'cancelled' || status === 'skipped';
}

export interface NodeState {
  status: TaskStatus;
  skipReason?: SkipReason;
}

export interface Step {
  /** Nodes to start now, in a stable order; they are marked running. */
  start: string[];
  /** Nodes skipped by this step, with why. */
  skip: Array<{ nodeId: string; reason: SkipReason }>;
}

/** Decides whether an edge whose source succeeded is taken (its condition holds). */
export type EdgeTaken = (edge: RuntimeEdge) => boolean;
const allEdgesTaken: EdgeTaken = () => true;

export class DagScheduler {
  private readonly states = new Map<string, NodeState>();
  /** Upstream nodes not yet terminal, per node. */
  private readonly waitingOn = new Map<string, number>();
  /** Pending nodes whose upstreams are all terminal: to be started or skipped. */
  private candidates: string[] = [];
  private readonly ready: string[] = [];
  private active = 0;
  /** Exit nodes ready but held until every other node has ended. */
  private deferred: string[] = [];
  /** Nodes other than exit nodes not yet terminal. */
  private mainLeft = 0;

  constructor(
    private readonly index: GraphIndex,
    private readonly maxParallelism: number,
    initial: ReadonlyMap<string, NodeState> = new Map(),
    /** Nodes with a trigger rule other than all_success. */
    private readonly runWhen: ReadonlyMap<string, RunWhen> = new Map(),
    /** Exit nodes: they run once every other node has ended, whatever it ended with. */
    private readonly exitNodes: ReadonlySet<string> = new Set(),
  ) {
    for (const id of index.order) {
      const s = initial.get(id);
      // A node that was in flight when the state was captured is run again: its activity is idempotent.
      const status = s && (isTerminal(s.status) || s.status === 'pending') ? s.status : 'pending';
      this.states.set(id, s && status === s.status ? { ...s } : { status });
    }
    this.recount();
  }

  private recount(): void {
    this.candidates = [];
    this.deferred = [];
    this.ready.length = 0;
    this.active = 0;
    this.mainLeft = 0;
    for (const id of this.index.order) {
      const st = this.states.get(id)!.status;
      if (!this.exitNodes.has(id) && !isTerminal(st)) this.mainLeft++;
    }
    for (const id of this.index.order) {
      const st = this.states.get(id)!.status;
      if (st === 'running' || st === 'queued') this.active++;
      const waiting = (this.index.upstream.get(id) ?? []).filter((u) => !isTerminal(this.states.get(u)!.status));
      this.waitingOn.set(id, waiting.length);
      if (st === 'pending' && waiting.length === 0) this.becomeCandidate(id);
    }
  }

  /** A pending node whose upstream nodes have all ended; an exit node waits for the rest of the run too. */
  private becomeCandidate(id: string): void {
    if (this.exitNodes.has(id) && this.mainLeft > 0) this.deferred.push(id);
    else this.candidates.push(id);
  }

  /** Whether every node but the exit nodes has ended. */
  get mainFinished(): boolean {
    return this.mainLeft === 0;
  }

  state(nodeId: string): NodeState {
    const s = this.states.get(nodeId);
    if (!s) throw new Error(`unknown node ${nodeId}`);
    return s;
  }

  snapshot(): Map<string, NodeState> {
    return new Map([...this.states].map(([id, s]) => [id, { ...s }]));
  }

  get runningCount(): number {
    return this.active;
  }

  /** True when every node is terminal. */
  get finished(): boolean {
    for (const s of this.states.values()) if (!isTerminal(s.status)) return false;
    return true;
  }

  private markTerminal(nodeId: string, state: NodeState): void {
    const was = this.states.get(nodeId)!.status;
    this.states.set(nodeId, state);
    if (!this.exitNodes.has(nodeId) && !isTerminal(was) && --this.mainLeft === 0) {
      this.candidates.push(...this.deferred);
      this.deferred = [];
    }
    for (const next of this.index.downstream.get(nodeId) ?? []) {
      const left = (this.waitingOn.get(next) ?? 0) - 1;
      this.waitingOn.set(next, left);
      if (left === 0 && this.states.get(next)!.status === 'pending') this.becomeCandidate(next);
    }
  }

  /** Records a started node's end. */
  complete(nodeId: string, status: 'success' | 'failed' | 'cancelled'): void {
    const prev = this.state(nodeId).status;
    if (isTerminal(prev)) return;
    if (prev === 'running' || prev === 'queued') this.active--;
    this.markTerminal(nodeId, { status });
  }

  /** Decides skips (cascading) and which ready nodes start, within maxParallelism. */
  next(edgeTaken: EdgeTaken = allEdgesTaken): Step {
    const skip: Step['skip'] = [];
    while (this.candidates.length) {
      const batch = this.candidates;
      this.candidates = [];
      for (const id of batch) {
        if (this.states.get(id)!.status !== 'pending') continue;
        const reason = this.skipReason(id, edgeTaken);
        if (reason) {
          skip.push({ nodeId: id, reason });
          this.markTerminal(id, { status: 'skipped', skipReason: reason });
        } else {
          this.ready.push(id);
        }
      }
    }
    const start: string[] = [];
    while (this.ready.length && this.active < this.maxParallelism) {
      const id = this.ready.shift()!;
      this.states.set(id, { status: 'running' });
      this.active++;
      start.push(id);
    }
    return { start, skip };
  }

  private skipReason(nodeId: string, edgeTaken: EdgeTaken): SkipReason | undefined {
    const edges = this.index.incoming.get(nodeId) ?? [];
    if (!edges.length) return undefined;
    const rule = this.runWhen.get(nodeId) ?? 'all_success';
    if (rule !== 'all_success') return this.ruleHolds(rule, edges, edgeTaken) ? undefined : 'trigger_rule';
    let anyTaken = false;
    for (const edge of edges) {
      const up = this.states.get(edge.source)!;
      if (up.status === 'failed' || up.status === 'cancelled') return 'upstream_failed';
      if (up.status === 'skipped' && up.skipReason === 'upstream_failed') return 'upstream_failed';
      if (up.status === 'success' && edgeTaken(edge)) anyTaken = true;
    }
    // A join runs when at least one incoming branch was taken; with none taken it is an untaken branch itself.
    return anyTaken ? undefined : 'condition_false';
  }

  /** A trigger rule over the upstream nodes' ends: a failure is a failed or cancelled node, or one skipped for it. */
  private ruleHolds(rule: Exclude<RunWhen, 'all_success'>, edges: RuntimeEdge[], edgeTaken: EdgeTaken): boolean {
    let succeeded = 0;
    let failed = 0;
    for (const edge of edges) {
      const up = this.states.get(edge.source)!;
      if (up.status === 'success' && edgeTaken(edge)) succeeded++;
      else if (
        up.status === 'failed' ||
        up.status === 'cancelled' ||
        (up.status === 'skipped' && up.skipReason === 'upstream_failed')
      )
        failed++;
    }
    switch (rule) {
      case 'all_done':
      case 'always':
        return true;
      case 'one_success':
        return succeeded > 0;
      case 'one_failed':
        return failed > 0;
      case 'all_failed':
        return failed === edges.length;
    }
  }

  /**
   * Marks every non-terminal node cancelled (run cancelled or failFast); returns those that were not running. Exit
   * nodes not yet started stay pending: they run next, as the run has now ended.
   */
  cancelRemaining(): { wasRunning: string[]; notStarted: string[] } {
    const wasRunning: string[] = [];
    const notStarted: string[] = [];
    let keptExitNodes = false;
    for (const id of this.index.order) {
      const s = this.states.get(id)!;
      if (isTerminal(s.status)) continue;
      const started = s.status === 'running' || s.status === 'queued';
      if (!started && this.exitNodes.has(id)) {
        keptExitNodes = true;
        continue;
      }
      (started ? wasRunning : notStarted).push(id);
      this.states.set(id, { status: 'cancelled' });
    }
    this.candidates = [];
    this.ready.length = 0;
    this.active = 0;
    if (keptExitNodes) this.recount();
    return { wasRunning, notStarted };
  }

  /** The run's outcome as exit nodes see it: over every node but them. */
  mainOutcome(): RunOutcome {
    return this.outcomeOf([...this.states].filter(([id]) => !this.exitNodes.has(id)).map(([, s]) => s));
  }

  /** Resets nodes (a retried node and its subtree) to pending so they run again. */
  reset(nodeIds: Iterable<string>): void {
    for (const id of nodeIds) this.states.set(id, { status: 'pending' });
    this.recount();
  }

  /** Any failure fails the run; otherwise any cancellation cancels it; skipped branches do not count against it. */
  outcome(): RunOutcome {
    return this.outcomeOf(this.states.values());
  }

  private outcomeOf(states: Iterable<NodeState>): RunOutcome {
    let cancelled = false;
    for (const s of states) {
      if (s.status === 'failed') return 'failed';
      if (s.status === 'cancelled') cancelled = true;
    }
    return cancelled ? 'cancelled' : 'success';
  }
}
