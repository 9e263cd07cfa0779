// Bounded concurrency for many small objects: a tar stream is sequential, but the object storage round trips of
// small files need not be. Memory stays bounded by the window times the small-file size.

/** Files up to this size move as whole buffers, several at a time; larger ones stream alone. */
export const SMALL_FILE_BYTES = 1024 * 1024;
/** Small files in flight at once. */
export const SMALL_FILE_WINDOW = 16;

/**
 * Yields each item of `items` in order with the result of `fetch(item)` (undefined when `fetch` declines it),
 * fetching up to `window` items ahead.
 */
export async function* readAhead<T, R>(
  items: AsyncIterable<T> | Iterable<T>,
  window: number,
  fetch: (item: T) => Promise<R> | undefined,
): AsyncGenerator<[T, R | undefined]> {
  const queue: Array<[T, Promise<R> | undefined]> = [];
  try {
    for await (const item of items) {
      const pending = fetch(item);
      // Observed now, awaited in order below: a failure ahead is not an unhandled rejection.
      pending?.catch(() => undefined);
      queue.push([item, pending]);
      if (queue.length >= window) {
        const [head, result] = queue.shift()!;
        yield [head, await result];
      }
    }
    while (queue.length) {
      const [head, result] = queue.shift()!;
      yield [head, await result];
    }
  } finally {
    queue.length = 0;
  }
}

/** Runs tasks with at most `limit` at once; `drain` waits for all and rethrows the first failure. */
export class TaskPool {
  private readonly running = new Set<Promise<void>>();
  private failure: unknown;

  constructor(private readonly limit: number) {}

  async add(task: () => Promise<void>): Promise<void> {
    if (this.failure) throw this.failure;
    while (this.running.size >= this.limit) await Promise.race(this.running);
    if (this.failure) throw this.failure;
    const p: Promise<void> = task()
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  async drain(): Promise<void> {
    await Promise.all(this.running);
    if (this.failure) throw this.failure;
  }
}
