// Triggers and the outbox of catalog events they start runs for.
import type { Collection, Db, Filter } from 'mongodb';
import type { TriggerDoc, TriggerEventDoc, TriggerEventName } from '../domain/triggers';
import { insertUnique, platformCollection } from './common';
import { paginate } from './pagination';
import type { Page, PageRequest } from './pagination';

export class TriggerRepository {
  private readonly triggers: Collection<TriggerDoc>;

  constructor(db: Db) {
    this.triggers = platformCollection(db, 'triggers');
  }

  get(triggerId: string): Promise<TriggerDoc | null> {
    return this.triggers.findOne({ _id: triggerId });
  }

  list(
    workflowDefinitionId: string,
    kind: TriggerDoc['kind'] | undefined,
    page: PageRequest,
  ): Promise<Page<TriggerDoc>> {
    const filter: Filter<TriggerDoc> = { workflowDefinitionId };
    if (kind) filter.kind = kind;
    return paginate(this.triggers, filter, page);
  }

  /** The active event triggers of a project listening for this event. */
  listening(projectId: string, event: TriggerEventName): Promise<TriggerDoc[]> {
    return this.triggers.find({ projectId, kind: 'event', status: 'active', 'event.on': event }).limit(1000).toArray();
  }

  async insert(trigger: TriggerDoc): Promise<void> {
    await this.triggers.insertOne(trigger);
  }

  async update(
    triggerId: string,
    set: Partial<TriggerDoc>,
    unset: Array<keyof TriggerDoc> = [],
  ): Promise<TriggerDoc | null> {
    return this.triggers.findOneAndUpdate(
      { _id: triggerId },
      {
        $set: { ...set, updatedAt: new Date() },
        ...(unset.length ? { $unset: Object.fromEntries(unset.map((k) => [k, ''])) } : {}),
      },
      { returnDocument: 'after' },
    );
  }

  async delete(triggerId: string): Promise<void> {
    await this.triggers.deleteOne({ _id: triggerId });
  }
}

export class TriggerEventRepository {
  private readonly events: Collection<TriggerEventDoc>;

  constructor(db: Db) {
    this.events = platformCollection(db, 'trigger_events');
  }

  /** Records an event once; false when it was already recorded. */
  record(event: TriggerEventDoc): Promise<boolean> {
    return insertUnique(this.events, event);
  }

  get(eventId: string): Promise<TriggerEventDoc | null> {
    return this.events.findOne({ _id: eventId });
  }

  /** Events recorded before `before` and not dispatched yet, oldest first. */
  undispatched(before: Date, limit: number): Promise<TriggerEventDoc[]> {
    return this.events
      .find({ dispatchedAt: { $exists: false }, createdAt: { $lt: before } })
      .sort({ createdAt: 1 })
      .limit(limit)
      .toArray();
  }

  async markDispatched(eventId: string, triggerIds: string[]): Promise<void> {
    await this.events.updateOne({ _id: eventId }, { $set: { dispatchedAt: new Date(), triggerIds } });
  }
}
