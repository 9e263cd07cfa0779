import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * Sortable, collision-resistant ids: `<prefix>_<10 chars of time><16 chars of randomness>`.
 * Sorting ids sorts by creation time, which keeps cursor pagination on `_id` cheap.
 */
export function newId(prefix: string, now: number = Date.now()): string {
  return formatId(prefix, now, randomBytes(16));
}

/** An id in newId's shape whose 16 characters after the time come from `seed`: the same seed, the same id. */
export function derivedId(prefix: string, now: number, seed: string): string {
  return formatId(prefix, now, createHash('sha256').update(seed).digest().subarray(0, 16));
}

function formatId(prefix: string, now: number, bytes: Uint8Array): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rand = '';
  for (const b of bytes) rand += ALPHABET[b % 32];
  return `${prefix}_${time}${rand}`;
}
