// The raw-dockerode floor for S4: create + start + wait + remove of the same image and command, with the same
// hardened options EmboFlow's ContainerRunner uses (written out here on purpose: the floor must not share the
// engine's code). No staging, no log capture, no object storage, no mirror.
import type Docker from 'dockerode';
import * as tar from 'tar-stream';
import { mapLimit } from '../lib/stats';

const MEMORY_MB = 64;

function writableDirArchive(dir: string): NodeJS.ReadableStream {
  const pack = tar.pack();
  pack.entry({ name: dir, type: 'directory', mode: 0o755, uid: 65534, gid: 65534 });
  pack.finalize();
  return pack as unknown as NodeJS.ReadableStream;
}

/** One hardened container of `cmd` (default `true`): create, start, wait for exit 0, remove; its wall time. */
export async function runOne(
  docker: Docker,
  image: string,
  name: string,
  nonce: string,
  opts: { cmd?: string[]; memoryMb?: number; writableDir?: string } = {},
): Promise<number> {
  const started = performance.now();
  const memory = (opts.memoryMb ?? MEMORY_MB) * 1024 * 1024;
  const container = await docker.createContainer({
    name,
    Image: image,
    Cmd: opts.cmd ?? ['true'],
    Env: [`BENCH_NONCE=${nonce}`],
    User: '65534:65534',
    WorkingDir: '/emboflow',
    Labels: { 'io.emboflow.bench': 'raw' },
    NetworkDisabled: true,
    Volumes: { '/emboflow': {} },
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: 1e9,
      PidsLimit: 128,
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m,mode=1777' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '20m', 'max-file': '1' } },
      AutoRemove: false,
    },
  });
  try {
    // The volume's root belongs to root: a folder the node user may write, as EmboFlow's staging creates one.
    if (opts.writableDir) await container.putArchive(writableDirArchive(opts.writableDir), { path: '/emboflow' });
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    if (StatusCode !== 0) throw new Error(`raw container ${name} exited with ${StatusCode}`);
  } finally {
    await container.remove({ force: true, v: true });
  }
  return performance.now() - started;
}

export interface RawDockerResult {
  makespanMs: number;
  perContainerMs: number[];
}

/** `count` containers, at most `parallelism` at a time (1 = a chain). */
export async function runRawContainers(
  docker: Docker,
  image: string,
  count: number,
  parallelism: number,
  nonce: string,
): Promise<RawDockerResult> {
  const started = performance.now();
  const perContainerMs = await mapLimit(
    Array.from({ length: count }, (_, i) => i),
    parallelism,
    (i) => runOne(docker, image, `emboflow-bench-raw-${nonce}-${i}`, `${nonce}-${i}`),
  );
  return { makespanMs: performance.now() - started, perContainerMs };
}
