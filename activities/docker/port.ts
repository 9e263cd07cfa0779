// What the docker executor needs from a container engine, by container id. The worker passes Docker's
// (dockerPort); unit tests pass a fake, so heartbeats, cancellation and re-attach are tested without Docker.
import type {
  ArchiveEntry,
  ArchiveFile,
  ContainerRunner,
  ContainerSpec,
  ExitState,
  PullAuth,
  PullEvent,
  ResourceSample,
} from '../../src/docker/container-runner';

/** A container left by an earlier attempt of the same node and generation (same name). */
export interface ExistingContainer {
  id: string;
  running: boolean;
  /** Exited (not running, not being removed) with status 0. */
  exitedCleanly: boolean;
  exitCode: number;
  oomKilled: boolean;
  /** The id of the image it was created from. */
  imageId?: string;
}

export interface LogFrame {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export interface ResourceWatch {
  latest(): ResourceSample | undefined;
  stop(): void;
}

export interface LineFollower {
  ended: Promise<void>;
  stop(): void;
}

/** Thrown by `create` when the engine does not have the image. */
export class ImageMissingError extends Error {
  override readonly name = 'ImageMissingError';
  constructor(
    readonly image: string,
    options?: { cause?: unknown },
  ) {
    super(`image ${image} not found on the Docker engine`, options);
  }
}

/** An image on the engine: its id (content digest) and the registry digests it is known by (`name@sha256:…`). */
export interface ImageInfo {
  id: string;
  repoDigests: string[];
}

export interface ContainerPort {
  /** The image as the engine has it; undefined when it does not. */
  inspectImage(image: string): Promise<ImageInfo | undefined>;
  /** Pulls the image to the end of its progress stream; throws ImagePullError when the engine could not. */
  pullImage(
    image: string,
    auth: PullAuth | undefined,
    onEvent: (e: PullEvent) => void,
    signal: AbortSignal,
  ): Promise<void>;
  findByName(name: string): Promise<ExistingContainer | undefined>;
  create(spec: ContainerSpec): Promise<string>;
  /** Copies entries in as one tar stream, opening each file's bytes only when the archive reaches it. */
  putEntries(id: string, entries: Iterable<ArchiveEntry> | AsyncIterable<ArchiveEntry>): Promise<void>;
  start(id: string): Promise<void>;
  /** Waits for exit, killing the container after timeoutMs; `onTick` runs every tickMs and may throw to stop waiting. */
  waitForExit(id: string, opts: { timeoutMs: number; tickMs: number; onTick: () => Promise<void> }): Promise<ExitState>;
  watchResources(id: string): Promise<ResourceWatch>;
  followLines(id: string, onLine: (stream: 'stdout' | 'stderr', line: string) => void): Promise<LineFollower>;
  logs(id: string): Promise<LogFrame[]>;
  /** Streams the regular files of a stopped container's folder to `onFile`, one at a time. */
  streamDir(id: string, path: string, onFile: (file: ArchiveFile) => Promise<void>): Promise<void>;
  remove(id: string): Promise<void>;
  /** Free bytes on the engine's disk for container volumes; undefined when it cannot be known (a remote engine). */
  freeBytes(): Promise<number | undefined>;
}

export function dockerPort(runner: ContainerRunner): ContainerPort {
  const get = (id: string) => runner.docker.getContainer(id);
  return {
    inspectImage: (image) => runner.inspectImage(image),
    pullImage: (image, auth, onEvent, signal) => runner.pull(image, auth, onEvent, signal),
    async findByName(name) {
      const info = await runner.findByName(name);
      if (!info) return undefined;
      return {
        id: info.Id,
        running: info.State.Running,
        exitedCleanly: info.State.Status === 'exited' && info.State.ExitCode === 0,
        exitCode: info.State.ExitCode,
        oomKilled: info.State.OOMKilled,
        imageId: info.Image,
      };
    },
    async create(spec) {
      try {
        return (await runner.create(spec)).id;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404)
          throw new ImageMissingError(spec.image, { cause: err });
        throw err;
      }
    },
    putEntries: (id, entries) => runner.putEntries(get(id), entries),
    start: async (id) => {
      await get(id).start();
    },
    waitForExit: (id, opts) => runner.waitForExit(get(id), opts),
    watchResources: (id) => runner.watchResources(get(id)),
    followLines: (id, onLine) => runner.followLines(get(id), onLine),
    logs: (id) => runner.logs(get(id)),
    streamDir: (id, path, onFile) => runner.streamDir(get(id), path, onFile),
    remove: (id) => runner.remove(get(id)),
    freeBytes: () => runner.engineFreeBytes(),
  };
}
