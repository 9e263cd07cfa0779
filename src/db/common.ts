// What every repository shares: collections typed by the schema their documents follow, and unique-index outcomes
// returned as values (services decide what a clash means to their caller).
import { randomBytes } from 'node:crypto';
import type { Collection, Db, Document, OptionalUnlessRequiredId } from 'mongodb';
import type { z } from 'zod';
import type { DOCUMENT_SCHEMAS } from '../domain/collections';
import type { CollectionName } from './indexes';

export type PlatformCollectionName = keyof typeof DOCUMENT_SCHEMAS;

/** The document a platform collection holds: what its zod schema (src/domain/collections.ts) infers. */
export type DocumentOf<N extends PlatformCollectionName> = z.infer<(typeof DOCUMENT_SCHEMAS)[N]>;

/** A platform collection typed by its schema, so a name can never be paired with another collection's type. */
export function platformCollection<N extends PlatformCollectionName>(db: Db, name: N): Collection<DocumentOf<N>> {
  return db.collection<DocumentOf<N>>(name);
}

/** MongoDB's duplicate-key error: a unique index refused the write. */
export function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: number } | null)?.code === 11000;
}

/** Inserts `doc`; false when a unique index already holds one of its keys. */
export async function insertUnique<T extends Document>(collection: Collection<T>, doc: T): Promise<boolean> {
  try {
    await collection.insertOne(doc as OptionalUnlessRequiredId<T>);
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

const SLUG_ATTEMPTS = 4;

/**
 * Inserts `build(slug)` where a unique index guards the slug: `base` first and, when `suffixed`, a few random
 * suffixes of it after that. The document inserted, or undefined when every slug tried was taken.
 */
export async function insertWithSlug<T extends Document>(
  collection: Collection<T>,
  build: (slug: string) => T,
  base: string,
  suffixed: boolean,
): Promise<T | undefined> {
  for (let attempt = 0; attempt < (suffixed ? SLUG_ATTEMPTS : 1); attempt++) {
    const doc = build(attempt === 0 ? base : `${base}-${randomBytes(4).toString('hex')}`);
    if (await insertUnique(collection, doc)) return doc;
  }
  return undefined;
}

type Fits<T extends U, U> = T;
/** Fails to compile when the domain maps a schema to a name that is not one of the collections (src/db/indexes). */
export type SchemasNameCollections = Fits<PlatformCollectionName, CollectionName>;
