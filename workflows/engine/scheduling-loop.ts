// The scheduling loop: starts ready nodes (up to maxParallelism), records what they end with, applies task
// retries between steps, and drains before a continue-as-new. Decisions come from the pure DagScheduler.
import { ApplicationFailure, CancellationScope, isCancellation, workflowInfo } from '@temporalio/workflow';
import { failureMessage } from './activity-options';
import type { Approvals } from './approvals';
import type { MirrorQueue } from './mirror-queue';
import { executeNode } from './node-steps';
import type { RunPause } from './pause';
import type { RunGraph } from './run-graph';
import type { TaskRetries } from './task-retries';

/**
 * A run's history is kept well under Temporal's limits (51,200 events, 50 MB): past this many events, or when the
 * server suggests it, the run stops starting nodes, lets the running ones finish, and continues as a new execution
 * that resumes from what finished (the mirror holds every finished node's result).
 */
export const HISTORY_EVENTS_BEFORE_CONTINUE = 10_000;

export type DriveOutcome = 'done' | 'continue-as-new';

export class SchedulingLoop {
  private readonly running = new Map<string, { scope: CancellationScope; done: Promise<void> }>();
  /** Set when the run's time is up: running nodes are stopped, no other starts, exit nodes still run. */
  private halted = false;

  constructor(
    private readonly runId: string,
    private readonly graph: RunGraph,
    private readonly mirror: MirrorQueue,
    private readonly approvals: Approvals,
    private readonly retries: TaskRetries,
    private readonly pause: Pick<RunPause, 'paused'> = { paused: false },
  ) {}

  /**
   * Runs ready nodes until every node is finished (or, with failFast, until a failure has drained).
   * Returns 'continue-as-new' when the history grew long and the running nodes have drained.
   */
  async drive(): Promise<DriveOutcome> {
    const { graph, mirror } = this;
    for (;;) {
      await this.retries.apply(this.runId, graph);
      // failFast stops the run's nodes; its exit nodes still run once the rest has ended.
      const stopping = ((graph.plan.failFast && graph.anyFailed) || this.halted) && !graph.scheduler.mainFinished;
      const draining = !stopping && this.historyIsLong();
      let progressed = false;
      if (!stopping && !draining && !this.pause.paused) {
        const step = graph.scheduler.next(graph.edgeTaken);
        progressed = step.start.length > 0 || step.skip.length > 0;
        for (const s of step.skip) {
          mirror.push({
            nodeId: s.nodeId,
            generation: graph.node(s.nodeId).generation,
            status: 'skipped',
            skipReason: s.reason,
          });
        }
        for (const id of step.start) {
          const node = graph.node(id);
          if (!mirror.writtenOnce(node)) mirror.push({ nodeId: id, generation: node.generation, status: 'queued' });
        }
        await mirror.flush(false);
        for (const id of step.start) this.launch(id);
        // Nodes decided inside the workflow (approvals waiting, decisions) may have queued mirror writes.
        await mirror.flush(false);
      }
      if (!this.running.size) {
        if (stopping) {
          this.cancelNotStarted();
          // Exit nodes left pending run now.
          if (graph.scheduler.finished) return 'done';
          continue;
        }
        if (graph.scheduler.finished) return 'done';
        if (draining) return 'continue-as-new';
        // Paused with nothing running: wait for a resume (or a retry, a timeout, a cancel).
        if (this.pause.paused) {
          await this.retries.wake;
          this.retries.rearm();
          continue;
        }
        // Nodes decided inside the workflow (decisions) finish at once: schedule what they unblocked.
        if (progressed) continue;
        throw ApplicationFailure.nonRetryable(
          'no node is running or ready, yet the run is unfinished',
          'SchedulerStuck',
        );
      }
      await Promise.race([...[...this.running.values()].map((r) => r.done), this.retries.wake]);
      this.retries.rearm();
    }
  }

  /** The run's time is up: running nodes are cancelled; the loop then cancels the rest and runs the exit nodes. */
  halt(): void {
    this.halted = true;
    this.graph.timedOut = true;
    for (const [id, r] of this.running) if (!this.graph.exitNodes.has(id)) r.scope.cancel();
    this.retries.wakeNow();
  }

  /** After a cancellation: waits for running nodes to stop, then marks every unfinished node cancelled. */
  async cancelAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.done));
    const { notStarted, wasRunning } = this.graph.scheduler.cancelRemaining();
    for (const id of [...wasRunning, ...notStarted]) {
      this.mirror.push({ nodeId: id, generation: this.graph.node(id).generation, status: 'cancelled' });
    }
  }

  private cancelNotStarted(): void {
    const { notStarted } = this.graph.scheduler.cancelRemaining();
    for (const id of notStarted)
      this.mirror.push({ nodeId: id, generation: this.graph.node(id).generation, status: 'cancelled' });
  }

  private launch(nodeId: string): void {
    const { graph, mirror } = this;
    const node = graph.node(nodeId);
    const scope = new CancellationScope();
    const done = scope
      .run(() => executeNode(node, { graph, mirror, approvals: this.approvals }))
      .then(
        (result) => graph.succeeded(nodeId, result),
        (err: unknown) => {
          if (isCancellation(err)) {
            graph.cancelled(nodeId);
            mirror.push({ nodeId, generation: node.generation, status: 'cancelled' });
            return;
          }
          graph.nodeFailed(nodeId);
          mirror.push({ nodeId, generation: node.generation, status: 'failed', errorMessage: failureMessage(err) });
          if (graph.plan.failFast) for (const r of this.running.values()) r.scope.cancel();
        },
      )
      .finally(() => this.running.delete(nodeId));
    this.running.set(nodeId, { scope, done });
  }

  private historyIsLong(): boolean {
    const info = workflowInfo();
    return (
      info.continueAsNewSuggested ||
      info.historyLength > (this.graph.plan.continueAfterEvents ?? HISTORY_EVENTS_BEFORE_CONTINUE)
    );
  }
}
