// Data catalog (seed 000): assets, their probe reports, datasets and immutable dataset versions, storage connections
// and container registry credentials, and the encrypted secrets they reference.
import { z } from 'zod';
import {
  DescriptionSchema,
  IdSchema,
  jsonObjectDocument,
  JsonObjectSchema,
  NameSchema,
  PrintableSchema,
  StorageRefSchema,
  TimestampFields,
} from './common';
import { REGISTRY_HOST_PATTERN } from './image-ref';

export const ASSET_TYPES = [
  'raw_file',
  'archive',
  'folder',
  'video_collection',
  'standard_dataset',
  'rosbag',
  'hdf5_dataset',
  'object_storage_prefix',
] as const;
export const ASSET_SOURCE_TYPES = ['upload', 'object_storage', 'path_registration', 'import'] as const;
export const ASSET_STATUSES = ['pending', 'ready', 'failed', 'archived'] as const;
/** The types an uploaded file can be (the others describe folders and prefixes, which are registered). */
const UploadAssetType = z.enum(ASSET_TYPES).exclude(['folder', 'object_storage_prefix', 'video_collection']);

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** S3's multipart rules: parts of 5 MiB to 5 GiB (the last may be smaller), at most 10,000 of them, 5 TiB in all. */
export const MIN_PART_BYTES = 5 * MiB;
export const MAX_PART_BYTES = 5 * GiB;
export const DEFAULT_PART_BYTES = 64 * MiB;
export const MAX_PARTS = 10_000;
export const MAX_OBJECT_BYTES = 5 * 1024 * GiB;
/** How long a resumable upload stays open; the worker then aborts it and drops its parts. */
export const UPLOAD_LIFETIME_MS = 7 * 24 * 3600 * 1000;
export const UPLOAD_STATUSES = ['uploading', 'completed', 'failed', 'aborted', 'expired'] as const;

export const ChecksumSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'sha256:<64 lowercase hex digits>');

/** A lowercase identifier: formats, dataset types, providers. */
const Token = z
  .string()
  .regex(/^[a-z][a-z0-9_.+-]{0,63}$/, 'lowercase letters, digits and _ . + -, starting with a letter');
const PathList = z.array(z.string().min(1).max(1024)).max(1000);

/** The platform's own storage references (src/domain/run StorageRef), as stored on dataset versions. */
const ManifestRefSchema = z
  .object({
    bucket: z.string(),
    key: z.string(),
    uri: z.string(),
    checksum: z.string(),
    contentType: z.string(),
    size: z.number(),
  })
  .strict();

// ---- documents -------------------------------------------------------------------------------------------------

export const AssetDocSchema = z
  .object({
    _id: z.string(),
    workspaceId: z.string(),
    projectId: z.string(),
    type: z.enum(ASSET_TYPES),
    sourceType: z.enum(ASSET_SOURCE_TYPES),
    displayName: z.string(),
    status: z.enum(ASSET_STATUSES),
    storageRef: StorageRefSchema.optional(),
    sizeBytes: z.number().optional(),
    fileCount: z.number().optional(),
    topLevelPaths: z.array(z.string()),
    detectedFormats: z.array(z.string()),
    summary: z.record(z.string(), z.unknown()),
    createdBy: z.string(),
    ...TimestampFields,
  })
  .strict();
export type AssetDoc = z.infer<typeof AssetDocSchema>;

export const ProbeReportDocSchema = z
  .object({
    _id: z.string(),
    assetId: z.string(),
    workspaceId: z.string(),
    projectId: z.string(),
    reportVersion: z.string(),
    detectedFormatCandidates: z.array(z.object({ format: z.string(), confidence: z.number().optional() }).strict()),
    structureSummary: z.record(z.string(), z.unknown()),
    warnings: z.array(z.string()),
    recommendedNextNodes: z.array(z.string()),
    rawReport: z.record(z.string(), z.unknown()),
    createdBy: z.string(),
    createdAt: z.date(),
  })
  .strict();
export type ProbeReportDoc = z.infer<typeof ProbeReportDocSchema>;

export const DatasetDocSchema = z
  .object({
    _id: z.string(),
    workspaceId: z.string(),
    projectId: z.string(),
    name: z.string(),
    type: z.string(),
    description: z.string(),
    status: z.enum(['active', 'archived']),
    latestVersionId: z.string().nullable(),
    summary: z.record(z.string(), z.unknown()),
    createdBy: z.string(),
    ...TimestampFields,
  })
  .strict();
export type DatasetDoc = z.infer<typeof DatasetDocSchema>;

/** Immutable. The full asset list lives in the manifest object; assetIds stays here for run input expansion. */
export const DatasetVersionDocSchema = z
  .object({
    _id: z.string(),
    datasetId: z.string(),
    workspaceId: z.string(),
    projectId: z.string(),
    sourceAssetId: z.string().optional(),
    parentVersionId: z.string().nullable(),
    versionTag: z.string(),
    canonicalSchemaVersion: z.string().optional(),
    manifestRef: ManifestRefSchema,
    assetIds: z.array(z.string()),
    assetCount: z.number(),
    stats: z.record(z.string(), z.unknown()),
    summary: z.record(z.string(), z.unknown()),
    status: z.enum(['ready']),
    createdBy: z.string(),
    createdAt: z.date(),
  })
  .strict();
export type DatasetVersionDoc = z.infer<typeof DatasetVersionDocSchema>;

export const STORAGE_CONNECTION_TYPES = ['object_storage', 'path_registration'] as const;

/** Credentials never sit here: only secretRef, the id of an encrypted document in `secrets`. */
export const StorageConnectionDocSchema = z
  .object({
    _id: z.string(),
    workspaceId: z.string(),
    type: z.enum(STORAGE_CONNECTION_TYPES),
    provider: z.string(),
    name: z.string(),
    status: z.enum(['active', 'disabled']),
    config: z.record(z.string(), z.unknown()),
    secretRef: z.string().optional(),
    createdBy: z.string(),
    ...TimestampFields,
  })
  .strict();
export type StorageConnectionDoc = z.infer<typeof StorageConnectionDocSchema>;

/**
 * A workspace's login to a container registry: workers pull node images from `registry` with it. The password is
 * never here: only secretRef, the id of its encrypted document in `secrets`.
 */
export const RegistryCredentialDocSchema = z
  .object({
    _id: z.string(),
    workspaceId: z.string(),
    /** The registry host as image references name it (normalized: lower case, Docker Hub as docker.io). */
    registry: z.string(),
    username: z.string(),
    secretRef: z.string(),
    createdBy: z.string(),
    ...TimestampFields,
  })
  .strict();
export type RegistryCredentialDoc = z.infer<typeof RegistryCredentialDocSchema>;

export const CreateRegistryCredentialBody = z
  .object({
    /** The registry's host and port, as image references name it: `127.0.0.1:5000`, `ghcr.io`, `docker.io`. */
    registry: z
      .string()
      .max(255)
      .regex(new RegExp(REGISTRY_HOST_PATTERN), 'a registry host such as ghcr.io or 127.0.0.1:5000'),
    username: PrintableSchema(255, 1),
    password: z.string().min(1).max(16_384),
  })
  .strict();
export type CreateRegistryCredentialInput = z.infer<typeof CreateRegistryCredentialBody>;

/** AES-256-GCM ciphertext of one secret, bound (as associated data) to its id, workspace and owner. */
export const SecretDocSchema = z
  .object({
    _id: z.string().regex(/^secret_/),
    workspaceId: z.string(),
    ownerType: z.enum([
      'storage_connection',
      'trigger',
      'notification_endpoint',
      'workspace_secret',
      'registry_credential',
    ]),
    ownerId: z.string(),
    algorithm: z.literal('aes-256-gcm'),
    keyDerivation: z.literal('hkdf-sha256'),
    iv: z.string(),
    ciphertext: z.string(),
    authTag: z.string(),
    createdAt: z.date(),
  })
  .strict();
export type SecretDoc = z.infer<typeof SecretDocSchema>;

/**
 * A resumable upload: an S3 multipart upload the caller fills part by part, which becomes asset `assetId` (chosen
 * up front, since it names the storage key) once its bytes hash to `checksum`.
 */
export const AssetUploadDocSchema = z
  .object({
    _id: z.string(),
    workspaceId: z.string(),
    projectId: z.string(),
    assetId: z.string(),
    displayName: z.string(),
    type: z.enum(ASSET_TYPES),
    sizeBytes: z.number(),
    checksum: z.string(),
    partSizeBytes: z.number(),
    partCount: z.number(),
    bucket: z.string(),
    key: z.string(),
    /** The store's multipart upload id: never shown to callers. */
    s3UploadId: z.string(),
    status: z.enum(UPLOAD_STATUSES),
    /** Why a failed upload failed. */
    error: z.string().optional(),
    createdBy: z.string(),
    ...TimestampFields,
    expiresAt: z.date(),
  })
  .strict();
export type AssetUploadDoc = z.infer<typeof AssetUploadDocSchema>;

/** The size part `partNumber` (1-based) of an upload must have: the part size, except for a shorter last part. */
export function expectedPartBytes(u: Pick<AssetUploadDoc, 'sizeBytes' | 'partSizeBytes'>, partNumber: number): number {
  return Math.min(u.partSizeBytes, u.sizeBytes - (partNumber - 1) * u.partSizeBytes);
}

// ---- request bodies ----------------------------------------------------------------------------------------------

const StorageRefBody = StorageRefSchema.pick({
  bucket: true,
  key: true,
  checksum: true,
  contentType: true,
  size: true,
}).strict();

export const CreateAssetBody = z
  .object({
    type: z.enum(ASSET_TYPES),
    sourceType: z.enum(ASSET_SOURCE_TYPES).exclude(['upload']).default('object_storage'),
    displayName: NameSchema,
    /** One object in storage... */
    storageRef: StorageRefBody.optional(),
    /** ...or every object under a key prefix (in the platform bucket unless storageConnectionId names another). */
    prefix: PrintableSchema(1024, 1).optional(),
    storageConnectionId: IdSchema.optional(),
    sizeBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    fileCount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    topLevelPaths: PathList.default([]),
    detectedFormats: z.array(Token).max(100).default([]),
    summary: JsonObjectSchema.default({}),
  })
  .strict()
  .refine((b) => !(b.storageRef && b.prefix), { message: 'pass storageRef or prefix, not both', path: ['prefix'] })
  .refine((b) => b.type !== 'object_storage_prefix' || b.prefix !== undefined, {
    message: 'an object_storage_prefix asset registers a prefix',
    path: ['prefix'],
  })
  .meta({
    not: { required: ['storageRef', 'prefix'] },
    if: { properties: { type: { const: 'object_storage_prefix' } } },
    then: { required: ['prefix'] },
  });
export type CreateAssetInput = z.infer<typeof CreateAssetBody>;

export const UploadAssetQuery = z
  .object({
    displayName: NameSchema,
    type: UploadAssetType.default('raw_file'),
  })
  .strict();

/**
 * The at-most-MAX_PARTS rule in JSON Schema, which cannot divide: one branch per part size doubling from the
 * minimum, each allowing MAX_PARTS parts of its smallest size (stricter than the rule, never looser).
 */
function partCountDocument(): Record<string, unknown> {
  const tiers: Array<Record<string, unknown>> = [
    { not: { required: ['partSizeBytes'] }, properties: { sizeBytes: { maximum: MAX_PARTS * DEFAULT_PART_BYTES } } },
  ];
  for (let part = MIN_PART_BYTES; part <= MAX_PART_BYTES; part *= 2) {
    tiers.push({
      required: ['partSizeBytes'],
      properties: { partSizeBytes: { minimum: part }, sizeBytes: { maximum: MAX_PARTS * part } },
    });
  }
  return { anyOf: tiers };
}

export const CreateAssetUploadBody = z
  .object({
    displayName: NameSchema,
    type: UploadAssetType.default('raw_file'),
    sizeBytes: z.number().int().min(1).max(MAX_OBJECT_BYTES),
    checksum: ChecksumSchema.describe('sha256 of the whole file, checked when the upload is completed'),
    partSizeBytes: z
      .number()
      .int()
      .min(MIN_PART_BYTES)
      .max(MAX_PART_BYTES)
      .default(DEFAULT_PART_BYTES)
      .describe(`Bytes per part; every part but the last has exactly this size, and there are at most ${MAX_PARTS}`),
  })
  .strict()
  .refine((b) => Math.ceil(b.sizeBytes / b.partSizeBytes) <= MAX_PARTS, {
    message: `sizeBytes / partSizeBytes makes more than ${MAX_PARTS} parts: use larger parts`,
    path: ['partSizeBytes'],
  })
  .meta(partCountDocument());
export type CreateAssetUploadInput = z.infer<typeof CreateAssetUploadBody>;

export const UploadPartParams = z
  .object({
    uploadId: IdSchema,
    partNumber: z
      .string()
      .regex(/^(?:[1-9][0-9]{0,3}|10000)$/, `a part number, 1 to ${MAX_PARTS}`)
      .transform(Number),
  })
  .strict();

export const CreateProbeReportBody = z
  .object({
    reportVersion: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,32}$/)
      .default('1'),
    detectedFormatCandidates: z
      .array(z.object({ format: Token, confidence: z.number().min(0).max(1).optional() }).strict())
      .max(100)
      .default([]),
    structureSummary: JsonObjectSchema.default({}),
    warnings: z.array(z.string().max(2000)).max(1000).default([]),
    recommendedNextNodes: z.array(z.string().max(200)).max(100).default([]),
    rawReport: JsonObjectSchema.default({}),
  })
  .strict();
export type CreateProbeReportInput = z.infer<typeof CreateProbeReportBody>;

export const CreateDatasetBody = z
  .object({
    name: NameSchema,
    type: Token.default('standard'),
    description: DescriptionSchema.default(''),
    summary: JsonObjectSchema.default({}),
  })
  .strict();
export type CreateDatasetInput = z.infer<typeof CreateDatasetBody>;

export const MAX_DATASET_VERSION_ASSETS = 10_000;

export const CreateDatasetVersionBody = z
  .object({
    sourceAssetId: IdSchema.optional(),
    assetIds: z.array(IdSchema).max(MAX_DATASET_VERSION_ASSETS).default([]),
    versionTag: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, '1-64 letters, digits and . _ -, starting alphanumeric'),
    canonicalSchemaVersion: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/)
      .optional(),
    summary: JsonObjectSchema.default({}),
    stats: JsonObjectSchema.default({}),
  })
  .strict()
  .refine((b) => b.sourceAssetId !== undefined || b.assetIds.length > 0, {
    message: 'a version needs a sourceAssetId or at least one asset id',
    path: ['assetIds'],
  })
  .superRefine((b, ctx) => {
    const seen = new Set<string>();
    b.assetIds.forEach((id, i) => {
      if (seen.has(id)) ctx.addIssue({ code: 'custom', message: `duplicate asset id ${id}`, path: ['assetIds', i] });
      seen.add(id);
    });
  })
  .meta({
    anyOf: [
      { required: ['sourceAssetId'], properties: { assetIds: { uniqueItems: true } } },
      { required: ['assetIds'], properties: { assetIds: { minItems: 1, uniqueItems: true } } },
    ],
  });
export type CreateDatasetVersionInput = z.infer<typeof CreateDatasetVersionBody>;

/** Config keys that look like credentials: those belong in `secret`, which is encrypted, never in `config`. */
export const CREDENTIAL_KEY = /secret|password|passwd|token|credential|private|access_?key/i;

function findCredentialKey(value: unknown, path: Array<string | number> = []): Array<string | number> | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findCredentialKey(value[i], [...path, i]);
      if (found) return found;
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (CREDENTIAL_KEY.test(k)) return [...path, k];
      const found = findCredentialKey(v, [...path, k]);
      if (found) return found;
    }
  }
  return undefined;
}

export const CreateStorageConnectionBody = z
  .object({
    type: z.enum(STORAGE_CONNECTION_TYPES),
    provider: Token,
    name: NameSchema,
    config: JsonObjectSchema.default({})
      .superRefine((config, ctx) => {
        const path = findCredentialKey(config);
        if (path)
          ctx.addIssue({
            code: 'custom',
            path,
            message: 'credentials go in `secret` (stored encrypted), not in config',
          });
      })
      .meta(
        jsonObjectDocument(
          'StorageConnectionConfig',
          CREDENTIAL_KEY.source.replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`),
        ),
      ),
    secret: z.string().min(1).max(16_384).optional(),
  })
  .strict();
export type CreateStorageConnectionInput = z.infer<typeof CreateStorageConnectionBody>;
