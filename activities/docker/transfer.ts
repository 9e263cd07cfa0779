// Bytes moving between object storage and a container: heartbeats carry the bytes moved (so a slow transfer never
// looks like a dead worker) and a cancellation stops the transfer where it is.
import { CancelledFailure } from '@temporalio/activity';
import type { ActivityHandle } from './attempt';

export type TransferPhase = 'staging' | 'uploading';

/** Heartbeats while bytes move go out at most this often (the SDK throttles further). */
const BEAT_EVERY_MS = 1000;

export class TransferProgress {
  private bytes = 0;
  private files = 0;
  private beatAt = 0;

  constructor(
    private readonly activity: ActivityHandle,
    readonly phase: TransferPhase,
  ) {}

  /** Reports `delta` more bytes moved; throws CancelledFailure once the attempt is cancelled. */
  add(delta: number): void {
    this.bytes += delta;
    const now = Date.now();
    if (now - this.beatAt >= BEAT_EVERY_MS) {
      this.beatAt = now;
      this.activity.heartbeat({ phase: this.phase, bytes: this.bytes, files: this.files });
    }
    if (this.activity.cancellationSignal.aborted) throw new CancelledFailure(`node cancelled while ${this.phase}`);
  }

  fileDone(): void {
    this.files++;
  }

  get totals(): { bytes: number; files: number } {
    return { bytes: this.bytes, files: this.files };
  }

  /** A progress callback for a stream reporting running totals: turns them into deltas. */
  counter(): (total: number) => void {
    let seen = 0;
    return (total) => {
      const delta = total - seen;
      seen = total;
      this.add(delta);
    };
  }
}
