import type { Db } from 'mongodb';

/** How long a lease lives without renewal: a worker that died frees its slot this long after its last heartbeat. */
export const LEASE_TTL_MS = 30_000;

interface LeaseDoc {
  _id: string;
  workspaceId: string;
  holder: string;
  expiresAt: Date;
}

/**
 * Slots for a workspace's running containers: slot i is the document `<workspaceId>:<i>`. Taking a slot is an
 * insert (the unique _id decides between racers) or the take-over of an expired one; holders renew while their
 * container runs and delete on the way out.
 */
export class ContainerSlots {
  constructor(private readonly db: Db) {}

  private get leases() {
    return this.db.collection<LeaseDoc>('container_leases');
  }

  /**
   * Takes a free slot for `holder` (or finds the one it already holds); undefined when all `limit` slots are held.
   * One read of the workspace's slots, then usually one write: only slots that read as free or expired are tried.
   */
  async tryAcquire(workspaceId: string, holder: string, limit: number, now = Date.now()): Promise<string | undefined> {
    const held = await this.leases.find({ workspaceId }, { projection: { holder: 1, expiresAt: 1 } }).toArray();
    const mine = held.find((l) => l.holder === holder);
    if (mine) {
      await this.renew(mine._id, holder, now);
      return mine._id;
    }
    const byId = new Map(held.map((l) => [l._id, l]));
    const expiresAt = new Date(now + LEASE_TTL_MS);
    for (let slot = 0; slot < limit; slot++) {
      const _id = `${workspaceId}:${slot}`;
      const lease = byId.get(_id);
      if (lease && lease.expiresAt.getTime() >= now) continue;
      if (!lease) {
        try {
          await this.leases.insertOne({ _id, workspaceId, holder, expiresAt });
          return _id;
        } catch (err) {
          // Another holder took it since the read: try the next one.
          if ((err as { code?: number }).code !== 11000) throw err;
          continue;
        }
      }
      const taken = await this.leases.updateOne(
        { _id, expiresAt: { $lt: new Date(now) } },
        { $set: { holder, expiresAt } },
      );
      if (taken.modifiedCount === 1 && (await this.leases.findOne({ _id }))?.holder === holder) return _id;
    }
    return undefined;
  }

  async renew(slotId: string, holder: string, now = Date.now()): Promise<void> {
    await this.leases.updateOne({ _id: slotId, holder }, { $set: { expiresAt: new Date(now + LEASE_TTL_MS) } });
  }

  async release(slotId: string, holder: string): Promise<void> {
    await this.leases.deleteOne({ _id: slotId, holder });
  }
}
