import type { Db } from 'mongodb';
import { RegistryCredentialRepository } from '../db/catalog';
import type { PageRequest } from '../db/pagination';
import type { CreateRegistryCredentialInput, RegistryCredentialDoc } from '../domain/catalog';
import { normalizeRegistry } from '../domain/image-ref';
import { newId } from '../ids';
import type { AuditLog } from './audit';
import { clash, invalidField, missing } from './errors';
import type { SecretStore } from './secrets';

/** What the API answers: the registry and the username; never the password or its secret reference. */
export function registryCredentialView(doc: RegistryCredentialDoc) {
  const { _id, secretRef: _secret, ...rest } = doc;
  return { id: _id, ...rest };
}

/** Workspaces' logins to container registries: workers pull node images with them (see activities/docker/pull.ts). */
export class RegistryCredentialService {
  private readonly credentials: RegistryCredentialRepository;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
    private readonly secrets: SecretStore,
  ) {
    this.credentials = new RegistryCredentialRepository(db);
  }

  get(credentialId: string): Promise<RegistryCredentialDoc | null> {
    return this.credentials.get(credentialId);
  }

  list(workspaceId: string, page: PageRequest) {
    return this.credentials.list(workspaceId, page);
  }

  /**
   * Stores the password encrypted (only its reference is kept here). One credential per registry and workspace: a
   * second is a 409 (delete the first to replace it). Without EMBOFLOW_SECRET_KEY nothing is stored.
   */
  async create(
    workspaceId: string,
    input: CreateRegistryCredentialInput,
    actorId: string,
  ): Promise<RegistryCredentialDoc> {
    if (!this.secrets.box.available)
      throw invalidField(
        'password',
        'this deployment cannot store secrets: set EMBOFLOW_SECRET_KEY (32+ characters) on the API',
      );
    const registry = normalizeRegistry(input.registry);
    if (await this.credentials.findForRegistry(workspaceId, registry))
      throw clash(`this workspace already has a credential for ${registry}`, 'registry');
    const _id = newId('rgc');
    const secretRef = await this.secrets.put(
      { workspaceId, ownerType: 'registry_credential', ownerId: _id },
      input.password,
    );
    const now = new Date();
    const doc: RegistryCredentialDoc = {
      _id,
      workspaceId,
      registry,
      username: input.username,
      secretRef,
      createdBy: actorId,
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.credentials.insert(doc))) {
      // A concurrent create for the same registry won.
      await this.secrets.remove(secretRef, workspaceId);
      throw clash(`this workspace already has a credential for ${registry}`, 'registry');
    }
    await this.audit.record({
      actorId,
      workspaceId,
      resourceType: 'registry_credential',
      resourceId: _id,
      action: 'create',
      after: { registry, username: input.username },
    });
    return doc;
  }

  async delete(doc: RegistryCredentialDoc, actorId: string): Promise<void> {
    if (!(await this.credentials.delete(doc._id, doc.workspaceId))) throw missing('registry credential');
    await this.secrets.remove(doc.secretRef, doc.workspaceId);
    await this.audit.record({
      actorId,
      workspaceId: doc.workspaceId,
      resourceType: 'registry_credential',
      resourceId: doc._id,
      action: 'delete',
      before: { registry: doc.registry, username: doc.username },
    });
  }
}
