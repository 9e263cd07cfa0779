// Pausing a run: the pause update sets a flag the scheduling loop reads before it starts nodes (running ones go on).
// The flag is workflow state, so it survives worker and server restarts, and continue-as-new carries it.
import { ApplicationFailure, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { RunControlContract } from '../../src/engine/contract';
import { pauseUpdate } from '../messages';
import { CONTROL_OPTIONS } from './activity-options';
import type { TaskRetries } from './task-retries';

const runControl = proxyLocalActivities<RunControlContract>(CONTROL_OPTIONS);

export class RunPause {
  private finishing = false;

  constructor(
    private readonly runId: string,
    private readonly retries: TaskRetries,
    public paused = false,
  ) {
    setHandler(pauseUpdate, async ({ paused, by }) => {
      if (this.finishing) throw ApplicationFailure.nonRetryable('the run is finishing', 'RunFinishing');
      const changed = paused !== this.paused;
      this.paused = paused;
      if (changed) await runControl.markRunPaused(this.runId, paused, by);
      // A resumed loop has nodes to start.
      if (!paused) this.retries.wakeNow();
      return { paused, changed };
    });
  }

  /** The run is ending: later requests are refused, and a pause no longer holds anything back. */
  finish(): void {
    this.finishing = true;
    this.paused = false;
  }
}
