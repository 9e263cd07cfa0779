// Where an asset's bytes are read from: the platform bucket, or a workspace's own bucket through its storage
// connection, with that connection's credentials decrypted in the worker only (never passed to a container, a log,
// Temporal history or MongoDB in plain).
import type { StorageConnectionRepository } from '../../src/db/catalog';
import type { AssetStorageRef } from '../../src/domain/common';
import type { SecretStore } from '../../src/services/secrets';
import { ObjectStore } from '../../src/storage/object-store';
import { nodeConfigError } from '../errors';

export type ObjectReader = Pick<ObjectStore, 'bucket' | 'getStream' | 'getVerified' | 'listObjects'>;

export interface AssetSources {
  /** The reader for an asset's storage reference, in the run's workspace. */
  readerFor(workspaceId: string, ref: Pick<AssetStorageRef, 'bucket' | 'storageConnectionId'>): Promise<ObjectReader>;
}

/** An object storage connection's secret: S3 credentials as JSON. */
interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

function parseCredentials(plaintext: string, connectionId: string): S3Credentials {
  try {
    const c = JSON.parse(plaintext) as Partial<S3Credentials>;
    if (typeof c.accessKeyId === 'string' && typeof c.secretAccessKey === 'string')
      return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey };
  } catch {
    // falls through: the message below never echoes the secret
  }
  throw nodeConfigError(
    `storage connection ${connectionId}: its secret is not S3 credentials ({"accessKeyId","secretAccessKey"})`,
  );
}

export class StorageSources implements AssetSources {
  /** One client per connection and secret, for the life of the worker. */
  private readonly clients = new Map<string, Promise<ObjectReader>>();

  constructor(
    private readonly platform: ObjectReader,
    private readonly connections: Pick<StorageConnectionRepository, 'findObjectStorage'>,
    private readonly secrets: Pick<SecretStore, 'reveal'> | undefined,
    private readonly defaults: { endpoint?: string; region: string },
  ) {}

  readerFor(workspaceId: string, ref: Pick<AssetStorageRef, 'bucket' | 'storageConnectionId'>): Promise<ObjectReader> {
    if (!ref.storageConnectionId) {
      if (ref.bucket !== this.platform.bucket)
        throw nodeConfigError(`asset bucket ${ref.bucket} is not the platform's and names no storage connection`);
      return Promise.resolve(this.platform);
    }
    const cacheKey = `${workspaceId}/${ref.storageConnectionId}`;
    let client = this.clients.get(cacheKey);
    if (!client) {
      client = this.connect(workspaceId, ref.storageConnectionId, ref.bucket);
      this.clients.set(cacheKey, client);
      client.catch(() => this.clients.delete(cacheKey));
    }
    return client;
  }

  private async connect(workspaceId: string, connectionId: string, bucket: string): Promise<ObjectReader> {
    const connection = await this.connections.findObjectStorage(connectionId, workspaceId);
    if (!connection || connection.status !== 'active')
      throw nodeConfigError(`storage connection ${connectionId} not found or disabled`);
    if (!connection.secretRef) throw nodeConfigError(`storage connection ${connectionId} has no credentials`);
    if (!this.secrets)
      throw nodeConfigError('this worker cannot decrypt storage connection credentials: set EMBOFLOW_SECRET_KEY');
    const plaintext = await this.secrets.reveal(connection.secretRef, {
      workspaceId,
      ownerType: 'storage_connection',
      ownerId: connectionId,
    });
    const credentials = parseCredentials(plaintext, connectionId);
    const endpoint =
      typeof connection.config.endpoint === 'string' ? connection.config.endpoint : this.defaults.endpoint;
    const region = typeof connection.config.region === 'string' ? connection.config.region : this.defaults.region;
    return new ObjectStore({
      S3_ENDPOINT: endpoint,
      S3_REGION: region,
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    });
  }
}
