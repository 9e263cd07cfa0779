// Task retries on a running (or finished) run: the retryTask update queues a request; the scheduling loop applies
// it between steps, so a reset never races a node that is still running.
import { ApplicationFailure, condition, setHandler, Trigger } from '@temporalio/workflow';
import { subtree } from '../../src/dag/graph';
import { isTerminal } from '../../src/dag/scheduler';
import { retryTaskUpdate } from '../messages';
import { control } from './activity-options';
import type { RunGraph } from './run-graph';

interface RetryRequest {
  nodeIds: string[];
  done: boolean;
  resetNodeIds?: string[];
  error?: string;
}

export class TaskRetries {
  private readonly requests: RetryRequest[] = [];
  /** Wakes the scheduling loop when a retry arrives while it waits on running nodes. */
  private trigger = new Trigger<void>();

  /** Registers the update handler; construct before the workflow's first await so no early update is lost. */
  constructor() {
    setHandler(retryTaskUpdate, async ({ nodeId, alsoNodeIds }) => {
      const request: RetryRequest = { nodeIds: [nodeId, ...(alsoNodeIds ?? [])], done: false };
      this.requests.push(request);
      this.trigger.resolve();
      await condition(() => request.done);
      if (request.error) throw ApplicationFailure.nonRetryable(request.error, 'RetryRejected');
      return { resetNodeIds: request.resetNodeIds ?? [] };
    });
  }

  get waiting(): boolean {
    return this.requests.length > 0;
  }

  /** Resolves when a retry request arrives; `rearm` after each wait. */
  get wake(): PromiseLike<void> {
    return this.trigger;
  }

  rearm(): void {
    this.trigger = new Trigger<void>();
  }

  /** Wakes the scheduling loop for something else than a retry (the run's time is up). */
  wakeNow(): void {
    this.trigger.resolve();
  }

  /** Applies queued requests: a node whose subtree has entirely finished is reset; any other is refused. */
  async apply(runId: string, graph: RunGraph): Promise<void> {
    while (this.requests.length) {
      const request = this.requests.shift()!;
      const unknown = request.nodeIds.find((id) => !graph.has(id));
      if (unknown) {
        Object.assign(request, { done: true, error: `task ${unknown} not found` });
        continue;
      }
      // Several nodes: one reset of the union of their subtrees, in the graph's order.
      const inSubtrees = new Set(request.nodeIds.flatMap((id) => subtree(graph.index, id)));
      const affected = graph.index.order.filter((id) => inSubtrees.has(id));
      const busy = affected.filter((id) => !isTerminal(graph.scheduler.state(id).status));
      const named = request.nodeIds.join(', ');
      if (busy.length) {
        Object.assign(request, {
          done: true,
          error: `cannot retry ${named} while ${busy.join(', ')} ${busy.length > 1 ? 'are' : 'is'} not finished`,
        });
        continue;
      }
      const nodes = affected.map((id) => ({ nodeId: id, generation: graph.node(id).generation }));
      const [first, ...also] = request.nodeIds as [string, ...string[]];
      const renumbered = also.length
        ? await control.resetTasks(runId, first, nodes, also)
        : await control.resetTasks(runId, first, nodes);
      for (const r of renumbered) graph.renumber(r.nodeId, r.generation, r.attemptBase);
      graph.scheduler.reset(affected);
      Object.assign(request, { done: true, resetNodeIds: affected });
    }
  }

  /** Refuses every queued request (the run is ending without applying them). */
  rejectAll(reason: string): void {
    for (const r of this.requests.splice(0)) Object.assign(r, { done: true, error: reason });
  }
}
