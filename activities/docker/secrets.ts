// Step: the workspace secrets a node names, decrypted for this attempt only: env vars merged into the container's
// environment (never into cfg, so never into the cache key or the task), files on a host tmpfs bind-mounted read-only
// at /emboflow/secrets. Every value is masked as *** in what the attempt stores: live lines, the tail, the full log,
// the failure message and the result preview.
import { chown, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { WorkspaceSecretRepository } from '../../src/db/workspace-secrets';
import type { SecretStore } from '../../src/services/secrets';
import { nodeConfigError } from '../errors';
import type { NodeAttempt } from './attempt';

export interface ResolvedSecret {
  name: string;
  version: number;
  value: string;
  env?: string;
  file?: string;
}

export interface SecretDeps {
  /** Absent in a process that reads no workspace secrets: a node naming one then fails, saying so. */
  workspaceSecrets?: Pick<WorkspaceSecretRepository, 'named'>;
  /** Absent when the worker has no EMBOFLOW_SECRET_KEY: a node naming a secret then fails, saying so. */
  secretStore?: Pick<SecretStore, 'reveal'>;
  /** A tmpfs folder on the Docker engine's host (absent for a remote engine: file secrets are refused there). */
  secretFilesDir?: string;
}

export const MASK = '***';

/** Replaces every occurrence of every secret value (longest first, so one inside another is masked whole). */
export class SecretMasker {
  private readonly values: string[];

  constructor(values: string[]) {
    this.values = [...new Set(values.filter((v) => v.length > 0))].sort((a, b) => b.length - a.length);
  }

  get active(): boolean {
    return this.values.length > 0;
  }

  mask(text: string): string {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(MASK);
    return out;
  }

  /** A JSON value with every string masked (keys too). */
  maskJson<T>(value: T): T {
    if (!this.active || value === undefined) return value;
    return JSON.parse(this.mask(JSON.stringify(value))) as T;
  }
}

/** The secrets a node names, decrypted; a missing one (deleted since the version was created) fails the node. */
export async function resolveSecrets(
  deps: SecretDeps,
  { cfg, run }: Pick<NodeAttempt, 'cfg' | 'run'>,
): Promise<ResolvedSecret[]> {
  const refs = cfg.secrets ?? [];
  if (!refs.length) return [];
  if (!deps.secretStore || !deps.workspaceSecrets) {
    throw nodeConfigError('this worker cannot decrypt secrets: set EMBOFLOW_SECRET_KEY on the worker');
  }
  const docs = new Map(
    (await deps.workspaceSecrets.named(run.workspaceId, [...new Set(refs.map((r) => r.name))])).map((d) => [d.name, d]),
  );
  const resolved: ResolvedSecret[] = [];
  for (const ref of refs) {
    const doc = docs.get(ref.name);
    if (!doc)
      throw nodeConfigError(`secret ${ref.name} does not exist in the workspace (deleted after the version was made?)`);
    const value = await deps.secretStore.reveal(doc.secretRef, {
      workspaceId: doc.workspaceId,
      ownerType: 'workspace_secret',
      ownerId: doc._id,
    });
    resolved.push({
      name: ref.name,
      version: doc.version,
      value,
      ...(ref.env ? { env: ref.env } : {}),
      ...(ref.file ? { file: ref.file } : {}),
    });
  }
  return resolved;
}

/** The env vars the secrets become. */
export function secretEnv(secrets: ResolvedSecret[]): Record<string, string> {
  return Object.fromEntries(secrets.filter((s) => s.env).map((s) => [s.env!, s.value]));
}

/** What the cache key holds of the secrets: names, versions and where they go, never values. */
export function secretKeyMaterial(secrets: ResolvedSecret[]): string[] {
  return secrets.map((s) => `${s.name}@${s.version}>${s.env ?? ''}/${s.file ?? ''}`).sort();
}

/**
 * Writes the file secrets into a folder of their own on the host tmpfs; answers the folder (to bind-mount read-only),
 * or undefined when the node has none. The caller removes it when the attempt ends.
 */
export async function writeSecretFiles(
  deps: Pick<SecretDeps, 'secretFilesDir'>,
  secrets: ResolvedSecret[],
  container: string,
  /** The node's user, who alone may read them (root keeps no capability to read others' files). */
  uid: number,
): Promise<string | undefined> {
  const files = secrets.filter((s) => s.file);
  if (!files.length) return undefined;
  if (!deps.secretFilesDir) {
    throw nodeConfigError('secrets as files need a local Docker engine (a tmpfs on its host): use env instead');
  }
  const dir = path.join(deps.secretFilesDir, container);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const s of files) await writeFile(path.join(dir, s.file!), s.value, { mode: 0o400 });
  // As root (the usual worker) the node's user gets the files; otherwise they stay the worker's and the node must
  // run as that user to read them.
  await Promise.all(
    [dir, ...files.map((s) => path.join(dir, s.file!))].map((p) => chown(p, uid, uid).catch(() => undefined)),
  );
  return dir;
}

export async function removeSecretFiles(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}
