// Step: make sure the Docker engine has the node's image, as the node's pull policy says — pulling it from its
// registry with the workspace's credential for that registry — and name the exact image the attempt runs.
import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import type { RegistryCredentialRepository } from '../../src/db/catalog';
import { ImagePullError } from '../../src/docker/container-runner';
import type { PullAuth, PullEvent } from '../../src/docker/container-runner';
import type { RegistryCredentialDoc } from '../../src/domain/catalog';
import { DOCKER_HUB, parseImageReference } from '../../src/domain/image-ref';
import type { ImageReference } from '../../src/domain/image-ref';
import type { SecretStore } from '../../src/services/secrets';
import { nodeConfigError } from '../errors';
import type { DockerExecutorDeps, NodeAttempt } from './attempt';
import { TICK_MS } from './container';
import type { ImageInfo } from './port';

/** The image an attempt runs: the reference it was asked for, and what that resolved to on the engine. */
export interface RunImage {
  ref: string;
  /** The image id (the digest of its config): what the container is created from and the cache key holds. */
  id: string;
  /** The registry's manifest digest (`sha256:…`) when the image came from a registry. */
  digest?: string;
}

/** A login a pull uses: who, and where (never logged, never in an activity's arguments or results). */
export interface RegistryLogin {
  credentialId: string;
  auth: PullAuth;
}

/** Finds a workspace's registry login for an image (see RegistryLogins). */
export interface RegistryLoginSource {
  loginFor(workspaceId: string, ref: ImageReference, credentialId?: string): Promise<RegistryLogin | undefined>;
}

/** Docker's name for Docker Hub's login server. */
const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';

/**
 * The credential a pull uses: the one the node names (which must be for the image's registry: a password is never
 * sent to another registry than its own), else the workspace's credential for the image's registry, else none.
 */
export async function selectCredential(
  credentials: Pick<RegistryCredentialRepository, 'findInWorkspace' | 'findForRegistry'>,
  workspaceId: string,
  ref: ImageReference,
  credentialId?: string,
): Promise<RegistryCredentialDoc | undefined> {
  if (!credentialId) return (await credentials.findForRegistry(workspaceId, ref.registry)) ?? undefined;
  const named = await credentials.findInWorkspace(credentialId, workspaceId);
  if (!named) throw nodeConfigError(`registry credential ${credentialId} not found in this workspace`);
  if (named.registry !== ref.registry)
    throw nodeConfigError(
      `registry credential ${credentialId} is for ${named.registry}, but the image is pulled from ${ref.registry}`,
    );
  return named;
}

/** Registry logins from `registry_credentials`, their passwords decrypted from `secrets` only when a pull needs them. */
export class RegistryLogins implements RegistryLoginSource {
  constructor(
    private readonly credentials: Pick<RegistryCredentialRepository, 'findInWorkspace' | 'findForRegistry'>,
    private readonly secrets: Pick<SecretStore, 'reveal'> | undefined,
  ) {}

  async loginFor(workspaceId: string, ref: ImageReference, credentialId?: string) {
    const credential = await selectCredential(this.credentials, workspaceId, ref, credentialId);
    if (!credential) return undefined;
    if (!this.secrets)
      throw nodeConfigError('this worker cannot decrypt registry credentials: set EMBOFLOW_SECRET_KEY');
    const password = await this.secrets.reveal(credential.secretRef, {
      workspaceId,
      ownerType: 'registry_credential',
      ownerId: credential._id,
    });
    return {
      credentialId: credential._id,
      auth: {
        username: credential.username,
        password,
        serveraddress: credential.registry === DOCKER_HUB ? DOCKER_HUB_SERVER : credential.registry,
      },
    };
  }
}

/** Engine messages that say the pull cannot work as configured (login, name, tag): retrying would not help. */
const PERMANENT =
  /unauthori[sz]ed|authentication required|no basic auth|denied|forbidden|not found|manifest unknown|does not exist|invalid reference|repository name must/i;

/**
 * Thrown when a pull fails: never retried when the registry refused it (login, unknown image or tag); otherwise (the
 * registry unreachable) retried only within the node's own retry budget, not Temporal's crash allowance.
 */
export function imagePullFailed(message: string, retryable: boolean): ApplicationFailure {
  return retryable
    ? ApplicationFailure.retryable(message, 'ImagePullError')
    : ApplicationFailure.nonRetryable(message, 'ImagePullError');
}

/** The manifest digest the engine knows the image by in this reference's repository, if it came from a registry. */
export function repoDigestOf(info: ImageInfo, ref: string): string | undefined {
  const name = ref.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
  for (const d of info.repoDigests) {
    const at = d.lastIndexOf('@');
    if (d.slice(0, at) === name) return d.slice(at + 1);
  }
  return undefined;
}

/** The engine's message, with the password cut out should an engine ever echo it. */
function scrub(message: string, login: RegistryLogin | undefined): string {
  const secret = login?.auth.password;
  return secret && secret.length >= 4 ? message.split(secret).join('***') : message;
}

/** The image an earlier attempt's container (re-attached to) was created from. */
export async function reattachedImage(
  deps: Pick<DockerExecutorDeps, 'containers'>,
  image: string,
  imageId: string,
): Promise<RunImage> {
  const info = await deps.containers.inspectImage(imageId).catch(() => undefined);
  const digest = info && repoDigestOf(info, image);
  return { ref: image, id: imageId, ...(digest ? { digest } : {}) };
}

/**
 * Resolves the node's image on the engine per its pull policy — `ifNotPresent` pulls only when the engine lacks
 * it, `always` pulls every attempt (a moved tag is picked up), `never` fails when it is absent — and returns the
 * exact image the attempt runs. Heartbeats while pulling; a cancelled attempt stops its pull.
 */
export async function ensureImage(
  deps: Pick<DockerExecutorDeps, 'containers' | 'registries'>,
  attempt: NodeAttempt,
  image: string,
): Promise<RunImage> {
  const policy = attempt.cfg.pullPolicy ?? 'ifNotPresent';
  let info = policy === 'always' ? undefined : await deps.containers.inspectImage(image);
  if (!info) {
    if (policy === 'never')
      throw nodeConfigError(
        `image ${image} is not on the worker's Docker engine and the node's pullPolicy is never: build or pull it there first, or use pullPolicy ifNotPresent`,
      );
    await pull(deps, attempt, image);
    info = await deps.containers.inspectImage(image);
    if (!info) throw imagePullFailed(`image ${image} was pulled but the Docker engine does not have it`, false);
  }
  const digest = repoDigestOf(info, image);
  return { ref: image, id: info.id, ...(digest ? { digest } : {}) };
}

async function pull(deps: Pick<DockerExecutorDeps, 'containers' | 'registries'>, attempt: NodeAttempt, image: string) {
  const { activity, run, cfg, log } = attempt;
  const ref = parseImageReference(image);
  if (!ref) throw nodeConfigError(`image ${image} is not a valid image reference`);
  const login = await deps.registries.loginFor(run.workspaceId, ref, cfg.registryCredentialId);
  const layers = new Map<string, { current: number; total: number }>();
  const onEvent = (e: PullEvent) => {
    if (e.id && e.progressDetail?.total)
      layers.set(e.id, { current: e.progressDetail.current ?? 0, total: e.progressDetail.total });
  };
  const progress = () => {
    let current = 0;
    let total = 0;
    for (const l of layers.values()) {
      current += l.current;
      total += l.total;
    }
    return { phase: 'pulling', image, layers: layers.size, bytes: current, totalBytes: total };
  };
  // A pull can sit silent for a long while (a big layer, a slow registry): heartbeats go on regardless.
  activity.heartbeat(progress());
  const ticker = setInterval(() => activity.heartbeat(progress()), TICK_MS);
  const started = Date.now();
  log.info({ image, registry: ref.registry, credentialId: login?.credentialId }, 'pulling image');
  try {
    await deps.containers.pullImage(image, login?.auth, onEvent, activity.cancellationSignal);
  } catch (err) {
    if (activity.cancellationSignal.aborted) throw new CancelledFailure('node cancelled while pulling its image');
    if (!(err instanceof ImagePullError)) throw err;
    const who = login
      ? `with registry credential ${login.credentialId} (user ${login.auth.username})`
      : `without credentials (this workspace has no registry credential for ${ref.registry})`;
    const message = scrub(`pulling image ${image} from ${ref.registry} ${who} failed: ${err.message}`, login);
    const budgetLeft = activity.info.attempt < attempt.input.maxAttempts;
    throw imagePullFailed(message, budgetLeft && !PERMANENT.test(err.message));
  } finally {
    clearInterval(ticker);
  }
  log.info({ ms: Date.now() - started, ...progress() }, 'image pulled');
}
