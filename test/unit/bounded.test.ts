// Read-ahead and the task pool that let many small objects overlap their round trips while a tar stays in order.
import { readAhead, TaskPool } from '../../activities/docker/bounded';

const tick = () => new Promise((r) => setTimeout(r, 1));

test('read-ahead yields in order, fetching at most the window ahead, and passes declined items through', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const fetch = (n: number) =>
    n % 5 === 0
      ? undefined
      : (async () => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise((r) => setTimeout(r, 10 - (n % 10)));
          inFlight--;
          return n * 10;
        })();
  const out: Array<[number, number | undefined]> = [];
  for await (const pair of readAhead(
    Array.from({ length: 40 }, (_, i) => i),
    4,
    fetch,
  ))
    out.push(pair);
  expect(out).toEqual(Array.from({ length: 40 }, (_, i) => [i, i % 5 === 0 ? undefined : i * 10]));
  expect(maxInFlight).toBeGreaterThan(1);
  expect(maxInFlight).toBeLessThanOrEqual(4);
});

test('read-ahead surfaces a failed fetch at its turn', async () => {
  const fetch = (n: number) => (n === 3 ? Promise.reject(new Error('boom 3')) : Promise.resolve(n));
  const seen: number[] = [];
  await expect(
    (async () => {
      for await (const [n] of readAhead([1, 2, 3, 4, 5], 2, fetch)) seen.push(n);
    })(),
  ).rejects.toThrow('boom 3');
  expect(seen).toEqual([1, 2]);
});

test('the task pool never runs more than its limit, and drain rethrows the first failure', async () => {
  const pool = new TaskPool(3);
  let running = 0;
  let peak = 0;
  for (let i = 0; i < 12; i++) {
    await pool.add(async () => {
      running++;
      peak = Math.max(peak, running);
      await tick();
      running--;
    });
  }
  await pool.drain();
  expect(peak).toBe(3);

  const failing = new TaskPool(2);
  await failing.add(async () => {
    throw new Error('first');
  });
  await tick();
  await expect(failing.add(async () => undefined)).rejects.toThrow('first');
  await expect(failing.drain()).rejects.toThrow('first');
});
