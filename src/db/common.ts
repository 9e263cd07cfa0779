// What every repository shares: collections typed by the schema their documents follow.
import type { Collection, Db } from 'mongodb';
import type { z } from 'zod';
import type { DOCUMENT_SCHEMAS } from '../domain/collections';

export type PlatformCollectionName = keyof typeof DOCUMENT_SCHEMAS;

/** The document a platform collection holds: what its zod schema (src/domain/collections.ts) infers. */
export type DocumentOf<N extends PlatformCollectionName> = z.infer<(typeof DOCUMENT_SCHEMAS)[N]>;

/** A platform collection typed by its schema, so a name can never be paired with another collection's type. */
export function platformCollection<N extends PlatformCollectionName>(db: Db, name: N): Collection<DocumentOf<N>> {
  return db.collection<DocumentOf<N>>(name);
}
