// Step: a workspace's container slot (its cap on running containers), held while the container runs.
import { CancelledFailure } from '@temporalio/activity';
import { LEASE_TTL_MS } from '../../src/db/leases';
import type { DockerExecutorDeps, NodeAttempt } from './attempt';

const SLOT_POLL_MS = 500;
/** A held slot is renewed a third of its lifetime after the last renewal, not on every tick. */
const LEASE_RENEW_EVERY_MS = LEASE_TTL_MS / 3;

export class SlotLease {
  private renewedAt = Date.now();

  constructor(
    private readonly slots: DockerExecutorDeps['slots'],
    readonly id: string,
    readonly holder: string,
  ) {}

  async renewIfDue(now = Date.now()): Promise<void> {
    if (now - this.renewedAt < LEASE_RENEW_EVERY_MS) return;
    await this.slots.renew(this.id, this.holder);
    this.renewedAt = now;
  }

  release(): Promise<void> {
    return this.slots.release(this.id, this.holder);
  }
}

/** The workspace's limit: its own setting, capped by the worker's; 0 means none. */
export async function containerLimit(
  deps: Pick<DockerExecutorDeps, 'workspaces' | 'workspaceContainerLimit'>,
  workspaceId: string,
): Promise<number> {
  const own = (await deps.workspaces.executionLimits(workspaceId)).maxRunningContainers;
  const worker = deps.workspaceContainerLimit;
  if (own) return worker ? Math.min(own, worker) : own;
  return worker;
}

/** Waits (heartbeating, cancellable) for one of the workspace's container slots; undefined when there is no limit. */
export async function acquireSlot(
  deps: Pick<DockerExecutorDeps, 'workspaces' | 'workspaceContainerLimit' | 'slots'>,
  { run, input, activity }: NodeAttempt,
): Promise<SlotLease | undefined> {
  const limit = await containerLimit(deps, run.workspaceId);
  if (!limit) return undefined;
  const holder = `${input.runId}.${input.nodeId}.g${input.generation}`;
  for (;;) {
    const id = await deps.slots.tryAcquire(run.workspaceId, holder, limit);
    if (id) return new SlotLease(deps.slots, id, holder);
    activity.heartbeat({ waitingForSlot: true });
    if (activity.cancellationSignal.aborted)
      throw new CancelledFailure('node cancelled while waiting for a container slot');
    await new Promise((r) => setTimeout(r, SLOT_POLL_MS));
  }
}
