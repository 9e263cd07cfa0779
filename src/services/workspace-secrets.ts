// Workspace secrets: admins create, rotate and delete them; editors' nodes use them. A value is answered never: it
// goes encrypted into `secrets` and only a worker running a node that names it decrypts it.
import type { Db } from 'mongodb';
import { WorkspaceSecretRepository } from '../db/workspace-secrets';
import type { WorkspaceSecretDoc } from '../domain/workspace-secrets';
import { newId } from '../ids';
import type { AuditLog } from './audit';
import { clash, invalidField, missing } from './errors';
import type { SecretStore } from './secrets';

/** What the API shows of a secret: its name and version, never the value or its reference. */
export function workspaceSecretView(doc: WorkspaceSecretDoc) {
  const { _id, secretRef: _ref, ...rest } = doc;
  return { id: _id, ...rest };
}

export class WorkspaceSecretService {
  readonly secrets: WorkspaceSecretRepository;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
    private readonly store: SecretStore,
  ) {
    this.secrets = new WorkspaceSecretRepository(db);
  }

  list(workspaceId: string): Promise<WorkspaceSecretDoc[]> {
    return this.secrets.list(workspaceId);
  }

  async get(workspaceId: string, name: string): Promise<WorkspaceSecretDoc> {
    const doc = await this.secrets.get(workspaceId, name);
    if (!doc) throw missing(`secret ${name}`);
    return doc;
  }

  private requireKey(): void {
    if (!this.store.box.available) {
      throw invalidField(
        'value',
        'this deployment cannot store secrets: set EMBOFLOW_SECRET_KEY (32+ characters) on the API',
      );
    }
  }

  async create(workspaceId: string, name: string, value: string, actorId: string): Promise<WorkspaceSecretDoc> {
    this.requireKey();
    if (await this.secrets.get(workspaceId, name)) throw clash(`the workspace already has a secret ${name}`, 'name');
    const _id = newId('wsec');
    const secretRef = await this.store.put({ workspaceId, ownerType: 'workspace_secret', ownerId: _id }, value);
    const now = new Date();
    const doc: WorkspaceSecretDoc = {
      _id,
      workspaceId,
      name,
      version: 1,
      secretRef,
      createdBy: actorId,
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.secrets.insert(doc))) {
      await this.store.remove(secretRef, workspaceId);
      throw clash(`the workspace already has a secret ${name}`, 'name');
    }
    await this.record(actorId, doc, 'create');
    return doc;
  }

  /** A new value under the same name; the version goes up (and with it the cache keys of nodes that use it). */
  async rotate(workspaceId: string, name: string, value: string, actorId: string): Promise<WorkspaceSecretDoc> {
    this.requireKey();
    const doc = await this.get(workspaceId, name);
    const secretRef = await this.store.put({ workspaceId, ownerType: 'workspace_secret', ownerId: doc._id }, value);
    const rotated = await this.secrets.rotate(doc, secretRef, actorId);
    if (!rotated) {
      await this.store.remove(secretRef, workspaceId);
      throw clash(`secret ${name} was rotated meanwhile: try again`);
    }
    await this.store.remove(doc.secretRef, workspaceId);
    await this.record(actorId, rotated, 'rotate');
    return rotated;
  }

  async delete(workspaceId: string, name: string, actorId: string): Promise<void> {
    const doc = await this.get(workspaceId, name);
    await this.secrets.delete(doc._id);
    await this.store.remove(doc.secretRef, workspaceId);
    await this.record(actorId, doc, 'delete');
  }

  private record(actorId: string, doc: WorkspaceSecretDoc, action: 'create' | 'rotate' | 'delete') {
    return this.audit.record({
      actorId,
      workspaceId: doc.workspaceId,
      resourceType: 'workspace_secret',
      resourceId: doc._id,
      action,
      metadata: { name: doc.name, version: doc.version },
    });
  }
}
