import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import * as tar from 'tar-stream';
import { LABEL_PREFIX } from './container-runner';

export const DOCKERFILE_HASH_LABEL = `${LABEL_PREFIX}dockerfile-sha256`;

export function dockerfileHash(dockerfile: string): string {
  return createHash('sha256').update(dockerfile).digest('hex');
}

/** Thrown when `docker build` reports an error; its message carries the build's last output lines. */
export class ImageBuildError extends Error {
  override name = 'ImageBuildError';
}

/**
 * Builds a Dockerfile body into `tag` unless an image with that tag was already built from the same body
 * (its hash is a label on the image). Returns whether it built. `onProgress` runs per output line (heartbeats).
 */
export async function ensureImage(
  docker: Docker,
  dockerfile: string,
  tag: string,
  onProgress: () => void = () => undefined,
): Promise<{ built: boolean; hash: string }> {
  const hash = dockerfileHash(dockerfile);
  try {
    const info = await docker.getImage(tag).inspect();
    if (info.Config?.Labels?.[DOCKERFILE_HASH_LABEL] === hash) return { built: false, hash };
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
  const context = tar.pack();
  context.entry({ name: 'Dockerfile', mode: 0o644 }, dockerfile);
  context.finalize();
  const stream = (await docker.buildImage(context as unknown as NodeJS.ReadableStream, {
    t: tag,
    labels: { [DOCKERFILE_HASH_LABEL]: hash },
    forcerm: true,
    networkmode: 'none',
  })) as unknown as Readable;
  const tail: string[] = [];
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, output: Array<{ error?: string }>) => {
        const failed = err?.message ?? output.find((o) => o.error)?.error;
        if (failed)
          reject(new ImageBuildError(`docker build of ${tag} failed: ${failed}; ${tail.slice(-5).join(' | ')}`));
        else resolve();
      },
      (event: { stream?: string }) => {
        if (event.stream?.trim()) tail.push(event.stream.trim());
        if (tail.length > 50) tail.shift();
        onProgress();
      },
    );
  });
  return { built: true, hash };
}
