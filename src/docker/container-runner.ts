import { createReadStream } from 'node:fs';
import { stat, statfs } from 'node:fs/promises';
import { normalize } from 'node:path';
import { Writable } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Docker from 'dockerode';
import * as tar from 'tar-stream';

export const LABEL_PREFIX = 'io.emboflow.';
export const NODE_USER = '65534:65534';
/** The one writable place a node gets besides /tmp; holds context.json, inputs/ and outputs/. */
export const WORK_DIR = '/emboflow';
/** Where a node's file secrets appear (read-only, from a tmpfs on the engine's host). */
export const SECRETS_DIR = `${WORK_DIR}/secrets`;

export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  env: Record<string, string>;
  cpu: number;
  memoryMb: number;
  pidsLimit: number;
  network: boolean;
  labels: Record<string, string>;
  /** A host folder (on a tmpfs) of file secrets, bind-mounted read-only at /emboflow/secrets. */
  secretsDir?: string;
  /** GPUs through the engine's device requests: a count, or device ids. */
  gpus?: number | string[];
  shmMb?: number;
  workingDir?: string;
  /** uid 0 instead of NODE_USER (capabilities still dropped, no-new-privileges still set). */
  runAsRoot?: boolean;
}

/** Docker's device request for a node's GPUs (the NVIDIA runtime's `gpu` capability). */
export function gpuDeviceRequests(gpus: number | string[] | undefined) {
  if (gpus === undefined) return undefined;
  return [
    {
      Driver: '',
      ...(typeof gpus === 'number' ? { Count: gpus } : { DeviceIDs: gpus, Count: 0 }),
      Capabilities: [['gpu']],
    },
  ];
}

/** A file or folder to place under WORK_DIR before the container starts. */
export type ArchiveEntry =
  | { type: 'directory'; path: string; mode: number; uid?: number }
  | { type: 'file'; path: string; mode: number; uid?: number; content: Buffer }
  | { type: 'file'; path: string; mode: number; uid?: number; localPath: string }
  /** Bytes opened only when the archive reaches them (object storage streams): exactly `size` of them. */
  | { type: 'file'; path: string; mode: number; uid?: number; size: number; open: () => Promise<Readable> };

/** A regular file found in a container's folder, as the archive streams it out. */
export interface ArchiveFile {
  /** Relative to the folder. */
  path: string;
  size: number;
  body: Readable;
}

export interface ExitState {
  exitCode: number;
  oomKilled: boolean;
  timedOut: boolean;
}

export interface ResourceSample {
  memoryBytes: number;
  peakMemoryBytes: number;
  cpuTimeMs: number;
}

/** Registry credentials as the Docker engine takes them for one pull (sent in a header, never logged). */
export interface PullAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/** One line of a pull's progress stream. */
export interface PullEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
}

/** A pull the engine refused or could not finish; its message is the engine's (it never holds credentials). */
export class ImagePullError extends Error {
  override readonly name = 'ImagePullError';
}

export function dockerFromHost(host: string | undefined): Docker {
  if (!host || host.startsWith('unix://'))
    return new Docker({ socketPath: host ? host.slice(7) : '/var/run/docker.sock' });
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http' });
}

/**
 * Runs node containers hardened by default: no network unless asked, every capability dropped,
 * no-new-privileges, read-only root, non-root user, memory = memory+swap, CPU quota, pids limit, bounded logs.
 */
export class ContainerRunner {
  private rootDir?: Promise<string | undefined>;

  constructor(readonly docker: Docker) {}

  async create(spec: ContainerSpec): Promise<Docker.Container> {
    const memory = spec.memoryMb * 1024 * 1024;
    return this.docker.createContainer({
      name: spec.name,
      Image: spec.image,
      Cmd: spec.command,
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      User: spec.runAsRoot ? '0:0' : NODE_USER,
      WorkingDir: spec.workingDir ?? WORK_DIR,
      Labels: spec.labels,
      NetworkDisabled: !spec.network,
      // A volume, not the image's filesystem: the root is read-only, and archive copies may only land in volumes.
      Volumes: { [WORK_DIR]: {} },
      HostConfig: {
        NetworkMode: spec.network ? 'bridge' : 'none',
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Memory: memory,
        MemorySwap: memory,
        NanoCpus: Math.round(spec.cpu * 1e9),
        PidsLimit: spec.pidsLimit,
        ...(spec.shmMb ? { ShmSize: spec.shmMb * 1024 * 1024 } : {}),
        ...(spec.gpus !== undefined ? { DeviceRequests: gpuDeviceRequests(spec.gpus) } : {}),
        Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m,mode=1777' },
        // The one bind mount: secrets never go through the archive API (they would land on the volume's disk).
        ...(spec.secretsDir ? { Binds: [`${spec.secretsDir}:${SECRETS_DIR}:ro`] } : {}),
        LogConfig: { Type: 'json-file', Config: { 'max-size': '20m', 'max-file': '1' } },
        AutoRemove: false,
      },
    });
  }

  /** The image's id (its content digest) and the registry digests it is known by; undefined when it is absent. */
  async inspectImage(image: string): Promise<{ id: string; repoDigests: string[] } | undefined> {
    try {
      const info = await this.docker.getImage(image).inspect();
      return { id: info.Id, repoDigests: info.RepoDigests ?? [] };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  /**
   * Pulls the image, following its progress stream to the end: the engine reports most failures (a refused login,
   * an unknown tag) inside the stream, not as the request's status. Aborting the signal cuts the pull short.
   */
  async pull(image: string, auth: PullAuth | undefined, onEvent: (e: PullEvent) => void, signal: AbortSignal) {
    let stream: Readable;
    try {
      stream = (await this.docker.pull(image, {
        ...(auth ? { authconfig: auth } : {}),
        abortSignal: signal,
      })) as unknown as Readable;
    } catch (err) {
      const e = err as { json?: { message?: string }; message?: string };
      throw new ImagePullError(e.json?.message ?? e.message ?? String(err), { cause: err });
    }
    await new Promise<void>((resolve, reject) => {
      let failed: string | undefined;
      const abort = () => stream.destroy(signal.reason instanceof Error ? signal.reason : new Error('pull aborted'));
      signal.addEventListener('abort', abort, { once: true });
      this.docker.modem.followProgress(
        stream,
        (err: Error | null) => {
          signal.removeEventListener('abort', abort);
          if (err) reject(signal.aborted ? err : new ImagePullError(err.message, { cause: err }));
          else if (failed) reject(new ImagePullError(failed));
          else resolve();
        },
        (e: PullEvent) => {
          if (e.error) failed ??= e.error;
          onEvent(e);
        },
      );
    });
  }

  /**
   * Copies files into the container through the Docker archive API (no host bind mounts), as one tar stream: each
   * file is read only when the archive reaches it, so nothing is held whole in memory or staged on local disk.
   */
  async putEntries(
    container: Docker.Container,
    entries: Iterable<ArchiveEntry> | AsyncIterable<ArchiveEntry>,
  ): Promise<void> {
    const pack = tar.pack();
    const done = container.putArchive(pack as unknown as NodeJS.ReadableStream, { path: WORK_DIR });
    // Whichever side fails first is the reason: Docker refusing the archive (then feeding it fails with a pipe
    // error), or a file that cannot be read (then Docker sees the archive cut short).
    let refused: unknown;
    let feedFailed = false;
    done.catch((err: unknown) => {
      if (!feedFailed) refused = err;
      pack.destroy();
    });
    try {
      for await (const e of entries) {
        const header = { name: e.path, mode: e.mode, uid: e.uid ?? 0, gid: e.uid ?? 0 };
        if (e.type === 'directory') pack.entry({ ...header, type: 'directory' });
        else if ('content' in e) pack.entry({ ...header, type: 'file' }, e.content);
        else {
          const size = 'size' in e ? e.size : (await stat(e.localPath)).size;
          const source = 'open' in e ? await e.open() : createReadStream(e.localPath);
          await pipeline(source, pack.entry({ ...header, type: 'file', size }));
        }
      }
      pack.finalize();
    } catch (err) {
      feedFailed = refused === undefined;
      pack.destroy();
      await done.catch(() => undefined);
      throw refused ?? err;
    }
    await done;
  }

  /**
   * Waits for the container to exit, killing it after timeoutMs. `onTick` runs every tickMs while it runs
   * (heartbeats, resource samples); its errors stop the wait (cancellation).
   */
  async waitForExit(
    container: Docker.Container,
    opts: { timeoutMs: number; tickMs: number; onTick: () => Promise<void> },
  ): Promise<ExitState> {
    const exited = container.wait() as Promise<{ StatusCode: number }>;
    let timedOut = false;
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      const remaining = deadline - Date.now();
      const tick = new Promise<'tick'>((r) =>
        setTimeout(() => r('tick'), Math.max(0, Math.min(opts.tickMs, remaining))),
      );
      const winner = await Promise.race([exited.then(() => 'exit' as const), tick]);
      if (winner === 'exit') break;
      if (Date.now() >= deadline) {
        timedOut = true;
        await container.kill().catch(() => undefined);
        break;
      }
      await opts.onTick();
    }
    const { StatusCode } = await exited;
    const info = await container.inspect();
    return { exitCode: StatusCode, oomKilled: info.State.OOMKilled, timedOut };
  }

  /**
   * Follows a running container's stats stream (about one sample a second) and keeps the peak memory and the CPU
   * time seen. cgroup v1 reports the cgroup's own high-water mark, so one late sample already gives the true peak.
   */
  async watchResources(container: Docker.Container): Promise<{ latest(): ResourceSample | undefined; stop(): void }> {
    let latest: ResourceSample | undefined;
    const stream = (await container.stats({ stream: true })) as unknown as Readable;
    let buffer = '';
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const s = JSON.parse(line) as {
            memory_stats?: { usage?: number; max_usage?: number };
            cpu_stats?: { cpu_usage?: { total_usage?: number } };
          };
          const usage = s.memory_stats?.usage;
          if (!usage) continue;
          latest = {
            memoryBytes: usage,
            peakMemoryBytes: Math.max(latest?.peakMemoryBytes ?? 0, s.memory_stats?.max_usage ?? usage),
            cpuTimeMs: Math.max(latest?.cpuTimeMs ?? 0, Math.round((s.cpu_stats?.cpu_usage?.total_usage ?? 0) / 1e6)),
          };
        } catch {
          // A partial or non-JSON line: the next sample replaces it.
        }
      }
    });
    stream.on('error', () => undefined);
    return { latest: () => latest, stop: () => stream.destroy() };
  }

  /** Follows a running container's output line by line until it exits or stop() is called. */
  async followLines(
    container: Docker.Container,
    onLine: (stream: 'stdout' | 'stderr', line: string) => void,
  ): Promise<{ ended: Promise<void>; stop(): void }> {
    const raw = (await container.logs({ follow: true, stdout: true, stderr: true })) as unknown as Readable;
    const partial = { stdout: '', stderr: '' };
    const sink = (stream: 'stdout' | 'stderr') =>
      new Writable({
        write(chunk: Buffer, _enc, done) {
          const parts = (partial[stream] + chunk.toString('utf8')).split('\n');
          partial[stream] = parts.pop() ?? '';
          for (const line of parts) onLine(stream, line);
          done();
        },
      });
    this.docker.modem.demuxStream(raw, sink('stdout'), sink('stderr'));
    raw.on('error', () => undefined);
    const ended = new Promise<void>((resolve) => {
      raw.once('end', () => resolve());
      raw.once('close', () => resolve());
    });
    return { ended, stop: () => raw.destroy() };
  }

  /** stdout and stderr, demultiplexed, in the order the container wrote them. */
  async logs(container: Docker.Container): Promise<Array<{ stream: 'stdout' | 'stderr'; data: Buffer }>> {
    const raw = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    const frames: Array<{ stream: 'stdout' | 'stderr'; data: Buffer }> = [];
    let offset = 0;
    while (offset + 8 <= raw.length) {
      const kind = raw[offset];
      const size = raw.readUInt32BE(offset + 4);
      frames.push({ stream: kind === 2 ? 'stderr' : 'stdout', data: raw.subarray(offset + 8, offset + 8 + size) });
      offset += 8 + size;
    }
    return frames;
  }

  /**
   * Streams the regular files of a (stopped) container's folder to `onFile`, one at a time, in archive order; each
   * file's body must be consumed before the next is read. Paths that climb out of the folder are skipped.
   */
  async streamDir(
    container: Docker.Container,
    path: string,
    onFile: (file: ArchiveFile) => Promise<void>,
  ): Promise<void> {
    const archive = (await container.getArchive({ path })) as unknown as Readable;
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      // The archive's first segment is the folder's own name; strip it and refuse paths that climb out.
      const rel = normalize(header.name).split('/').slice(1).join('/');
      if (header.type !== 'file' || !rel || rel.startsWith('..')) {
        stream.on('end', () => next());
        stream.resume();
        return;
      }
      // Whatever the handler leaves unread is drained, so the archive moves on once the entry has ended.
      const ended = new Promise<void>((resolve) => stream.once('end', () => resolve()));
      // When the archive is torn down, its open entry errors too: that is the archive's error, reported once.
      stream.on('error', () => undefined);
      onFile({ path: rel, size: header.size ?? 0, body: stream as unknown as Readable }).then(
        () => {
          stream.resume();
          ended.then(() => next(), next);
        },
        // A handler that gives up ends the whole archive (the entry it left unread would hold the stream).
        (err: unknown) => extract.destroy(err as Error),
      );
    });
    await pipeline(archive, extract);
  }

  /**
   * Free bytes where this engine keeps containers' volumes, when the engine runs on this host (a unix socket);
   * undefined for a remote engine, whose disk this process cannot see.
   */
  async engineFreeBytes(): Promise<number | undefined> {
    if (!(this.docker.modem as { socketPath?: string }).socketPath) return undefined;
    // The engine's root does not move while it runs: asked once (docker info is one of its slower calls).
    this.rootDir ??= this.docker.info().then((i: { DockerRootDir?: string }) => i.DockerRootDir);
    const DockerRootDir = await this.rootDir.catch(() => (this.rootDir = undefined));
    if (!DockerRootDir) return undefined;
    const fs = await statfs(DockerRootDir).catch(() => undefined);
    return fs ? fs.bavail * fs.bsize : undefined;
  }

  async findByName(name: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await this.docker.getContainer(name).inspect();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  async listManaged(filters: Record<string, string> = {}): Promise<Docker.ContainerInfo[]> {
    const label = [
      `${LABEL_PREFIX}managed=true`,
      ...Object.entries(filters).map(([k, v]) => `${LABEL_PREFIX}${k}=${v}`),
    ];
    return this.docker.listContainers({ all: true, filters: { label } });
  }

  async remove(container: Docker.Container): Promise<void> {
    try {
      await container.remove({ force: true, v: true });
    } catch (err) {
      const code = (err as { statusCode?: number }).statusCode;
      if (code !== 404 && code !== 409) throw err;
    }
  }
}
