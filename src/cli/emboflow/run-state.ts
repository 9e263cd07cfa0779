// What the CLI knows about a run while it watches it: built from the API's run and tasks, then moved on by events.
// Pure: no I/O and no clock of its own (times come in as arguments).

export const TERMINAL_RUN = ['success', 'failed', 'cancelled', 'timed_out'] as const;
export const TERMINAL_TASK = ['success', 'failed', 'cancelled', 'skipped'] as const;

export interface RunView {
  id: string;
  status: string;
  workflowDefinitionId?: string;
  versionNumber?: number;
  temporalUiUrl?: string;
  runtimeSnapshot?: { nodes?: Array<{ id: string; executorType?: string }> };
  summary?: { taskCounts?: Record<string, number>; failedTaskIds?: string[]; artifactCount?: number };
  errorMessage?: string;
  retryOfRunId?: string;
  /** A sub-workflow's run: the run and node that started it. */
  parentRunId?: string;
  parentNodeId?: string;
  childRunIds?: string[];
  createdAt?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface TaskView {
  nodeId: string;
  status: string;
  attempt: number;
  durationMs?: number;
  startedAt?: string;
  finishedAt?: string;
  errorMessage?: string;
  skipReason?: string;
  cacheHit?: boolean;
  summary?: { items?: ItemProgress };
}

/** A map node's items: how many there are, and how many have ended. */
export interface ItemProgress {
  total: number;
  succeeded: number;
  failed: number;
  done: number;
}

/** The events endpoint's payloads. */
export interface TaskEvent {
  nodeId: string;
  status: string;
  attempt: number;
  items?: ItemProgress;
  errorMessage?: string;
  at?: string;
}
export interface LogEvent {
  nodeId: string;
  stream: 'stdout' | 'stderr';
  line: string;
  at?: string;
}

export interface NodeState {
  nodeId: string;
  /** docker, builtin, approval, timer or decision. */
  executorType?: string;
  status: string;
  attempt: number;
  startedAtMs?: number;
  finishedAtMs?: number;
  /** From the API once the task is finished; otherwise derived from the start and finish times. */
  durationMs?: number;
  errorMessage?: string;
  lastLog?: string;
  /** Map nodes: item progress. */
  items?: ItemProgress;
}

export function isTerminalRun(status: string): boolean {
  return (TERMINAL_RUN as readonly string[]).includes(status);
}

export function isTerminalTask(status: string): boolean {
  return (TERMINAL_TASK as readonly string[]).includes(status);
}

const time = (iso: string | undefined): number | undefined => {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? undefined : t;
};

export class RunTracker {
  readonly nodes = new Map<string, NodeState>();
  status = 'pending';
  errorMessage?: string;
  startedAtMs?: number;
  finishedAtMs?: number;

  constructor(readonly runId: string) {}

  get finished(): boolean {
    return isTerminalRun(this.status);
  }

  /** The API's view, which wins over anything events said. Nodes keep the graph's order. */
  snapshot(run: RunView, tasks: TaskView[]): void {
    this.status = run.status;
    this.errorMessage = run.errorMessage;
    this.startedAtMs = time(run.startedAt ?? run.createdAt);
    this.finishedAtMs = time(run.finishedAt);
    for (const node of run.runtimeSnapshot?.nodes ?? []) this.node(node.id).executorType = node.executorType;
    for (const t of tasks) {
      const n = this.node(t.nodeId);
      n.status = t.status;
      n.attempt = t.attempt;
      this.details(n, t);
    }
  }

  /**
   * Times and errors from the API for the nodes it agrees with on status and attempt: events carry neither a
   * duration nor, when a node finished within one of the server's polls, its start. Never moves a node back.
   */
  fill(tasks: TaskView[]): void {
    for (const t of tasks) {
      const n = this.nodes.get(t.nodeId);
      if (n && n.status === t.status && n.attempt === t.attempt) this.details(n, t);
    }
  }

  private details(n: NodeState, t: TaskView): void {
    n.startedAtMs = time(t.startedAt);
    n.finishedAtMs = time(t.finishedAt);
    n.durationMs = t.durationMs;
    n.errorMessage = t.errorMessage ?? (t.skipReason ? `skipped: ${t.skipReason}` : undefined);
    if (t.summary?.items) n.items = t.summary.items;
  }

  /** Applies a task event; an event of an earlier attempt than the one known is stale and ignored. */
  task(e: TaskEvent): boolean {
    const n = this.node(e.nodeId);
    if (e.attempt < n.attempt) return false;
    const itemsMoved = !!e.items && e.items.done !== n.items?.done;
    if (e.items) n.items = e.items;
    if (e.attempt === n.attempt && e.status === n.status) return itemsMoved;
    const at = time(e.at);
    if (e.status === 'running') {
      n.startedAtMs = at ?? n.startedAtMs;
      n.finishedAtMs = undefined;
      n.durationMs = undefined;
      n.errorMessage = undefined;
    } else if (isTerminalTask(e.status)) {
      n.finishedAtMs = at;
      if (n.startedAtMs !== undefined && at !== undefined) n.durationMs = at - n.startedAtMs;
      n.errorMessage = e.errorMessage;
    } else {
      n.startedAtMs = n.finishedAtMs = n.durationMs = undefined;
      n.errorMessage = undefined;
    }
    n.status = e.status;
    n.attempt = e.attempt;
    return true;
  }

  log(e: LogEvent): void {
    const text = e.line.trim();
    if (text) this.node(e.nodeId).lastLog = text;
  }

  run(e: { status: string; errorMessage?: string }, atMs?: number): void {
    this.status = e.status;
    if (e.errorMessage) this.errorMessage = e.errorMessage;
    if (isTerminalRun(e.status)) this.finishedAtMs ??= atMs;
  }

  /** A map node's items as one line: done of total, and how many failed. */
  itemsNote(n: NodeState): string | undefined {
    if (!n.items) return undefined;
    const { done, total, failed } = n.items;
    return `items ${done}/${total}${failed ? `, ${failed} failed` : ''}`;
  }

  /** A running approval node is waiting for someone to decide it. */
  waitingForApproval(n: NodeState): boolean {
    return n.executorType === 'approval' && n.status === 'running';
  }

  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const n of this.nodes.values()) counts[n.status] = (counts[n.status] ?? 0) + 1;
    return counts;
  }

  /** How long a node has run: its recorded duration, or the time since it started while it runs. */
  elapsed(n: NodeState, now: number): number | undefined {
    if (n.durationMs !== undefined) return n.durationMs;
    if (n.startedAtMs === undefined) return undefined;
    return (n.finishedAtMs ?? now) - n.startedAtMs;
  }

  runElapsed(now: number): number | undefined {
    return this.startedAtMs === undefined ? undefined : (this.finishedAtMs ?? now) - this.startedAtMs;
  }

  private node(nodeId: string): NodeState {
    let n = this.nodes.get(nodeId);
    if (!n) {
      n = { nodeId, status: 'pending', attempt: 0 };
      this.nodes.set(nodeId, n);
    }
    return n;
  }
}

/** The exit code a watched run ends with: 0 success, 1 failed, 3 cancelled. */
export function runExitCode(status: string): number {
  if (status === 'success') return 0;
  if (status === 'cancelled') return 3;
  if (status === 'timed_out') return 4;
  return 1;
}
