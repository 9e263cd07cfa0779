// What the docker executor needs from a container engine, by container id. The worker passes Docker's
// (dockerPort); unit tests pass a fake, so heartbeats, cancellation and re-attach are tested without Docker.
import type {
  ArchiveEntry,
  ArchiveFile,
  ContainerRunner,
  ContainerSpec,
  ExitState,
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

export interface ContainerPort {
  /** The image's content digest (what the cache key uses, not its tag). */
  imageDigest(image: string): Promise<string>;
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
    imageDigest: async (image) => (await runner.docker.getImage(image).inspect()).Id,
    async findByName(name) {
      const info = await runner.findByName(name);
      if (!info) return undefined;
      return {
        id: info.Id,
        running: info.State.Running,
        exitedCleanly: info.State.Status === 'exited' && info.State.ExitCode === 0,
        exitCode: info.State.ExitCode,
        oomKilled: info.State.OOMKilled,
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
