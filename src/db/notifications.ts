// Notification endpoints and the record of each delivery to them.
import type { Collection, Db } from 'mongodb';
import type { DeliveryStatus, NotificationDeliveryDoc, NotificationEndpointDoc } from '../domain/notifications';
import { platformCollection } from './common';
import { paginate } from './pagination';
import type { Page, PageRequest } from './pagination';

export class NotificationEndpointRepository {
  private readonly endpoints: Collection<NotificationEndpointDoc>;

  constructor(db: Db) {
    this.endpoints = platformCollection(db, 'notification_endpoints');
  }

  get(endpointId: string): Promise<NotificationEndpointDoc | null> {
    return this.endpoints.findOne({ _id: endpointId });
  }

  list(workspaceId: string, page: PageRequest): Promise<Page<NotificationEndpointDoc>> {
    return paginate(this.endpoints, { workspaceId }, page);
  }

  count(workspaceId: string): Promise<number> {
    return this.endpoints.countDocuments({ workspaceId });
  }

  /** The ids of the workspace's active endpoints: where a run end of the workspace goes. */
  async activeIds(workspaceId: string): Promise<string[]> {
    const found = await this.endpoints.find({ workspaceId, status: 'active' }, { projection: { _id: 1 } }).toArray();
    return found.map((e) => e._id);
  }

  async insert(doc: NotificationEndpointDoc): Promise<void> {
    await this.endpoints.insertOne(doc);
  }

  async delete(endpointId: string): Promise<void> {
    await this.endpoints.deleteOne({ _id: endpointId });
  }
}

export class NotificationDeliveryRepository {
  private readonly deliveries: Collection<NotificationDeliveryDoc>;

  constructor(db: Db) {
    // Worker-written, like the run mirror: typed here rather than through the platform's schema map.
    this.deliveries = db.collection<NotificationDeliveryDoc>('notification_deliveries');
  }

  /** One attempt's outcome; an attempt retried after a crash writes the same record again. */
  async recordAttempt(
    d: Pick<NotificationDeliveryDoc, '_id' | 'workspaceId' | 'endpointId' | 'runId' | 'runStatus' | 'attempts'> & {
      status: DeliveryStatus;
      statusCode?: number;
      error?: string;
    },
  ): Promise<void> {
    const now = new Date();
    await this.deliveries.updateOne(
      { _id: d._id },
      {
        $set: {
          runStatus: d.runStatus,
          status: d.status,
          attempts: d.attempts,
          updatedAt: now,
          ...(d.statusCode !== undefined ? { lastStatusCode: d.statusCode } : {}),
          ...(d.error !== undefined ? { lastError: d.error } : {}),
          ...(d.status === 'delivered' ? { deliveredAt: now } : {}),
        },
        $setOnInsert: { workspaceId: d.workspaceId, endpointId: d.endpointId, runId: d.runId, createdAt: now },
      },
      { upsert: true },
    );
  }

  list(endpointId: string, workspaceId: string, page: PageRequest): Promise<Page<NotificationDeliveryDoc>> {
    return paginate(this.deliveries, { endpointId, workspaceId }, page);
  }
}
