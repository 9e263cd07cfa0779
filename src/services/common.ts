// Small helpers every platform service shares.
import type { Page } from '../db/pagination';
import { clash } from './errors';

/** The API's shape of a document: `id` instead of `_id`. */
export type View<T extends { _id: string }> = Omit<T, '_id'> & { id: string };

export function toView<T extends { _id: string }>(doc: T): View<T> {
  const { _id, ...rest } = doc;
  return { id: _id, ...rest };
}

export function pageView<T extends { _id: string }, V = View<T>>(
  page: Page<T>,
  map: (doc: T) => V = toView as (doc: T) => V,
) {
  return { items: page.items.map(map), nextCursor: page.nextCursor };
}

/** A URL-safe slug from a display name; empty names (all punctuation) fall back to `fallback`. */
export function slugify(name: string, fallback: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents come apart under NFKD; drop the marks, keep the letters
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  return slug || fallback;
}

/** A repository whose documents carry a slug a unique index guards (src/db). */
export interface SlugInserter<T> {
  /** `base` first, then (when `suffixed`) random suffixes of it; undefined when every slug tried was taken. */
  insertWithSlug(build: (slug: string) => T, base: string, suffixed: boolean): Promise<T | undefined>;
}

/**
 * Inserts a document whose slug a unique index guards. A slug the caller chose is theirs or a 409; a slug derived
 * from the name gets a random suffix when taken, so two "Untitled" workflows can coexist.
 */
export async function insertWithSlug<T>(
  repository: SlugInserter<T>,
  build: (slug: string) => T,
  opts: { chosen?: string; name: string; fallback: string; what: string },
): Promise<T> {
  const doc = await repository.insertWithSlug(build, opts.chosen ?? slugify(opts.name, opts.fallback), !opts.chosen);
  if (doc) return doc;
  if (opts.chosen) throw clash(`a ${opts.what} with slug "${opts.chosen}" already exists`, 'slug');
  throw clash(`could not find a free slug for this ${opts.what}; pass one explicitly`, 'slug');
}

/** The listed fields of a document, for audit summaries: never the whole document, so nothing sensitive leaks in. */
export function pick<T extends object, K extends keyof T>(doc: T, fields: readonly K[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (doc[f] !== undefined) out[String(f)] = doc[f];
  return out;
}
