// An upstream node's result.json, read from object storage (through its manifest when it had too many outputs to
// list): what a list map iterates over and what `{{inputs.<node>.<path>}}` templates read.
import type { ArtifactRef } from '../src/domain/run';
import type { UpstreamOutput } from '../src/engine/contract';
import type { ObjectStore } from '../src/storage/object-store';
import { manifestRefs } from './docker/staging';

/** Why an upstream result could not be read; the caller words it for its own field. */
export class UpstreamResultError extends Error {
  override name = 'UpstreamResultError';
}

async function resultRef(
  store: Pick<ObjectStore, 'getVerified'>,
  upstream: UpstreamOutput | undefined,
): Promise<ArtifactRef | undefined> {
  const listed = upstream?.artifacts.find((a) => a.path === 'result.json');
  if (listed || !upstream?.manifest) return listed;
  for await (const ref of manifestRefs(store, upstream.manifest)) if (ref.path === 'result.json') return ref;
  return undefined;
}

/** The parsed result.json of upstream node `nodeId`, at most `maxBytes` of it. */
export async function readUpstreamResult(
  store: Pick<ObjectStore, 'getVerified' | 'getStream'>,
  upstream: UpstreamOutput[],
  nodeId: string,
  maxBytes: number,
): Promise<unknown> {
  const ref = await resultRef(
    store,
    upstream.find((u) => u.nodeId === nodeId),
  );
  if (!ref) throw new UpstreamResultError(`${nodeId} produced no result.json`);
  if (ref.size > maxBytes)
    throw new UpstreamResultError(`${nodeId}'s result.json is ${ref.size} bytes, more than ${maxBytes}`);
  const chunks: Buffer[] = [];
  for await (const chunk of (await store.getStream(ref.key)).body) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (err) {
    throw new UpstreamResultError(`${nodeId}'s result.json is not JSON (${(err as Error).message})`);
  }
}
