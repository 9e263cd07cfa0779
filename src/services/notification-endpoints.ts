// Where a workspace's run ends are POSTed. Each endpoint gets a signing secret, answered once at creation and
// otherwise only stored encrypted (secrets.ts): the worker reveals it to sign, nothing else reads it.
import type { Db } from 'mongodb';
import { NotificationDeliveryRepository, NotificationEndpointRepository } from '../db/notifications';
import type { PageRequest } from '../db/pagination';
import { MAX_NOTIFICATION_ENDPOINTS } from '../domain/notifications';
import type { CreateNotificationEndpointInput, NotificationEndpointDoc } from '../domain/notifications';
import { newId } from '../ids';
import type { AuditLog } from './audit';
import { pick } from './common';
import { clash, invalidField } from './errors';
import type { SecretStore } from './secrets';
import { newSigningSecret } from './webhook-signature';

const SUMMARY = ['url', 'description', 'status'] as const;

/** What the API answers for an endpoint: never its secret or the secret's reference. */
export function notificationEndpointView(doc: NotificationEndpointDoc) {
  const { _id, secretRef: _secretRef, ...rest } = doc;
  return { id: _id, ...rest };
}

export class NotificationEndpointService {
  private readonly endpoints: NotificationEndpointRepository;
  private readonly deliveries: NotificationDeliveryRepository;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
    private readonly secrets: SecretStore,
  ) {
    this.endpoints = new NotificationEndpointRepository(db);
    this.deliveries = new NotificationDeliveryRepository(db);
  }

  get(endpointId: string): Promise<NotificationEndpointDoc | null> {
    return this.endpoints.get(endpointId);
  }

  list(workspaceId: string, page: PageRequest) {
    return this.endpoints.list(workspaceId, page);
  }

  deliveriesOf(endpoint: NotificationEndpointDoc, page: PageRequest) {
    return this.deliveries.list(endpoint._id, endpoint.workspaceId, page);
  }

  /** Creates an endpoint; the answer holds its signing secret, the only time it is shown. */
  async create(workspaceId: string, input: CreateNotificationEndpointInput, actorId: string) {
    if (!this.secrets.box.available) {
      throw invalidField('url', 'this deployment cannot sign notifications: set EMBOFLOW_SECRET_KEY on the API');
    }
    if ((await this.endpoints.count(workspaceId)) >= MAX_NOTIFICATION_ENDPOINTS) {
      throw clash(`a workspace has at most ${MAX_NOTIFICATION_ENDPOINTS} notification endpoints`);
    }
    const _id = newId('nep');
    const secret = newSigningSecret();
    const secretRef = await this.secrets.put({ workspaceId, ownerType: 'notification_endpoint', ownerId: _id }, secret);
    const now = new Date();
    const doc: NotificationEndpointDoc = {
      _id,
      workspaceId,
      url: input.url,
      ...(input.description !== undefined ? { description: input.description } : {}),
      secretRef,
      status: 'active',
      createdBy: actorId,
      createdAt: now,
      updatedAt: now,
    };
    await this.endpoints.insert(doc);
    await this.audit.record({
      actorId,
      workspaceId,
      resourceType: 'notification_endpoint',
      resourceId: _id,
      action: 'create',
      after: pick(doc, SUMMARY),
    });
    return { ...notificationEndpointView(doc), secret };
  }

  async delete(endpoint: NotificationEndpointDoc, actorId: string): Promise<void> {
    await this.endpoints.delete(endpoint._id);
    await this.audit.record({
      actorId,
      workspaceId: endpoint.workspaceId,
      resourceType: 'notification_endpoint',
      resourceId: endpoint._id,
      action: 'delete',
      before: pick(endpoint, SUMMARY),
    });
  }
}
