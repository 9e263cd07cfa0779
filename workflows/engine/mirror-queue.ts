// The workflow's side of the run mirror: task updates queued by the scheduling loop and written to MongoDB by the
// markTasks control activity, in order.
import { patched } from '@temporalio/workflow';
import type { TaskUpdate } from '../../src/engine/contract';
import { control } from './activity-options';
import type { RunNode } from './run-graph';

/**
 * Mirror writes go out without holding up the scheduling loop, but strictly one after another: MongoDB-compatible
 * servers without per-document atomicity (FerretDB) could otherwise interleave two writes to one task. A node's
 * activity is scheduled only after the writes queued before it have landed.
 */
export class MirrorQueue {
  private pending: TaskUpdate[] = [];
  private writes: Promise<void> = Promise.resolve();
  private writeError: unknown;
  /** Executions that started before this change awaited every write; they replay the way they ran. */
  readonly background: boolean;
  /**
   * Builtin nodes run in-process in milliseconds: their task is written once, by the activity, when it ends (with
   * queuedAt, startedAt and finishedAt), not queued first by the workflow. With no write of the workflow's pending
   * for their task, their activity need not wait for the write queue either.
   */
  private readonly builtinWritesOnce: boolean;

  /** Constructed right after the run plan loads: the patch markers sit there in every recorded history. */
  constructor(private readonly runId: string) {
    this.background = patched('mirror-writes-in-background');
    this.builtinWritesOnce = patched('builtin-nodes-write-once');
  }

  push(update: TaskUpdate): void {
    this.pending.push(update);
  }

  /** Whether the node's activity writes its task itself, once, with nothing queued for it by the workflow. */
  writtenOnce(node: Pick<RunNode, 'executorType'>): boolean {
    return this.builtinWritesOnce && node.executorType === 'builtin';
  }

  /** Resolves once every write queued so far has landed (or failed: flush reports that). */
  landed(): Promise<void> {
    return this.writes;
  }

  /** Sends what is queued; waits for it to land unless `wait` is false and writes go in the background. */
  async flush(wait = true): Promise<void> {
    if (this.pending.length) {
      const batch = this.pending;
      this.pending = [];
      this.writes = this.writes
        .then(
          () => control.markTasks(this.runId, batch),
          () => undefined,
        )
        .catch((err: unknown) => {
          this.writeError ??= err;
        });
    }
    if (wait || !this.background) await this.writes;
    if (this.writeError) throw this.writeError;
  }
}
