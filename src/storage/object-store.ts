import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Config } from '../config';
import type { StorageRef } from '../domain/run';

type S3Config = Pick<Config, 'S3_ENDPOINT' | 'S3_REGION' | 'S3_ACCESS_KEY_ID' | 'S3_SECRET_ACCESS_KEY' | 'S3_BUCKET'>;

/** S3-compatible object storage: every byte a node produces, full logs and manifests. */
export class ObjectStore {
  readonly bucket: string;
  private readonly s3: S3Client;

  constructor(config: S3Config) {
    this.bucket = config.S3_BUCKET;
    this.s3 = new S3Client({
      endpoint: config.S3_ENDPOINT,
      region: config.S3_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY },
    });
  }

  async ping(): Promise<void> {
    await this.s3.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  private ref(key: string, checksum: string, contentType: string, size: number): StorageRef {
    return { bucket: this.bucket, key, uri: `s3://${this.bucket}/${key}`, checksum, contentType, size };
  }

  async putBuffer(key: string, body: Buffer, contentType = 'application/octet-stream'): Promise<StorageRef> {
    const checksum = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType, Metadata: { checksum } }),
    );
    return this.ref(key, checksum, contentType, body.length);
  }

  /** Uploads a local file, hashing it first so the stored checksum is the one of the bytes sent. */
  async putFile(key: string, path: string, contentType: string): Promise<StorageRef> {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    const checksum = `sha256:${hash.digest('hex')}`;
    const { size } = await stat(path);
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: createReadStream(path),
        ContentLength: size,
        ContentType: contentType,
        Metadata: { checksum },
      }),
    );
    return this.ref(key, checksum, contentType, size);
  }

  async getStream(key: string): Promise<{ body: Readable; contentType?: string; size?: number }> {
    const out: GetObjectCommandOutput = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return { body: out.Body as Readable, contentType: out.ContentType, size: out.ContentLength };
  }

  async getBuffer(key: string): Promise<Buffer> {
    const { body } = await this.getStream(key);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  presignGet(key: string, expiresInSeconds = 900): Promise<string> {
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }

  destroy(): void {
    this.s3.destroy();
  }
}
