import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Db } from 'mongodb';
import { SecretRepository } from '../db/catalog';
import type { SecretDoc } from '../domain/catalog';
import { newId } from '../ids';
import { missing } from './errors';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
// Fixed salt and info: the key must be re-derivable by every API and worker process from the same setting.
const HKDF_SALT = 'emboflow/secrets';
const HKDF_INFO = 'aes-256-gcm v1';

/** Thrown when a secret is offered but EMBOFLOW_SECRET_KEY is unset: nothing could decrypt it later. */
export class SecretKeyMissingError extends Error {
  override name = 'SecretKeyMissingError';
}

/**
 * AES-256-GCM with a key derived (HKDF-SHA256) from EMBOFLOW_SECRET_KEY. The associated data binds a ciphertext to
 * its secret id, workspace and owner, so a ciphertext copied onto another document does not decrypt.
 */
export class SecretBox {
  private readonly key: Buffer | undefined;

  constructor(secretKey: string | undefined) {
    this.key = secretKey ? Buffer.from(hkdfSync('sha256', secretKey, HKDF_SALT, HKDF_INFO, 32)) : undefined;
  }

  get available(): boolean {
    return this.key !== undefined;
  }

  seal(plaintext: string, aad: string): { iv: string; ciphertext: string; authTag: string } {
    const key = this.requireKey();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return {
      iv: iv.toString('base64'),
      ciphertext: ciphertext.toString('base64'),
      authTag: cipher.getAuthTag().toString('base64'),
    };
  }

  /** Throws when the key is wrong or the ciphertext, tag or associated data was tampered with. */
  open(sealed: { iv: string; ciphertext: string; authTag: string }, aad: string): string {
    const decipher = createDecipheriv(ALGORITHM, this.requireKey(), Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(sealed.authTag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]).toString(
      'utf8',
    );
  }

  private requireKey(): Buffer {
    if (!this.key) throw new SecretKeyMissingError('EMBOFLOW_SECRET_KEY is not set');
    return this.key;
  }
}

type Owner = Pick<SecretDoc, 'workspaceId' | 'ownerType' | 'ownerId'>;

function associatedData(id: string, owner: Owner): string {
  return `${id}|${owner.workspaceId}|${owner.ownerType}|${owner.ownerId}`;
}

/** Encrypted secrets in their own collection; other documents hold only `secretRef` (the secret's id). */
export class SecretStore {
  private readonly secrets: SecretRepository;

  constructor(
    db: Db,
    readonly box: SecretBox,
  ) {
    this.secrets = new SecretRepository(db);
  }

  /** Stores a secret and returns its reference, `secret_<id>`. */
  async put(owner: Owner, plaintext: string): Promise<string> {
    const _id = newId('secret');
    const sealed = this.box.seal(plaintext, associatedData(_id, owner));
    await this.secrets.insert({
      _id,
      ...owner,
      algorithm: ALGORITHM,
      keyDerivation: 'hkdf-sha256',
      ...sealed,
      createdAt: new Date(),
    });
    return _id;
  }

  /** Forgets a secret (a rotated or deleted value): its ciphertext is gone, not only unreferenced. */
  remove(secretRef: string, workspaceId: string): Promise<void> {
    return this.secrets.delete(secretRef, workspaceId);
  }

  /** The plaintext behind a reference, for the processes that use the credential (never for API answers). */
  async reveal(secretRef: string, owner: Owner): Promise<string> {
    const doc = await this.secrets.findInWorkspace(secretRef, owner.workspaceId);
    if (!doc) throw missing('secret');
    return this.box.open(doc, associatedData(doc._id, owner));
  }
}
