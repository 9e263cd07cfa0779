import type { Collection, Document, Filter, WithId } from 'mongodb';
import { z } from 'zod';
import { CursorError } from '../errors';

/**
 * `<createdAt ms>.<id>`: a shape a pattern states whole, so every cursor the OpenAPI document allows decodes (one
 * that names no item still pages from that point).
 */
const CURSOR = /^([0-9]{1,15})\.([A-Za-z0-9][A-Za-z0-9_-]{0,63})$/;

export const PageQuery = {
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().regex(CURSOR, 'not a cursor this API issued').optional(),
};

/** Which page of a list: at most `limit` items, after the one `cursor` (from the previous page) points at. */
export interface PageRequest {
  limit: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

function encodeCursor(createdAt: Date, id: string): string {
  return `${createdAt.getTime()}.${id}`;
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const m = CURSOR.exec(cursor);
  if (!m) throw new CursorError('cursor is not one this API issued');
  return { createdAt: new Date(Number(m[1])), id: m[2]! };
}

/**
 * Newest first, keyed by (createdAt, _id): stable under inserts, served by the {scope, createdAt} indexes on MongoDB.
 * FerretDB v1 scans the collection for these filters: it searches an index only for `_id`.
 */
export async function paginate<T extends Document & { _id: string; createdAt: Date }>(
  collection: Collection<T>,
  filter: Filter<T>,
  opts: { limit: number; cursor?: string; projection?: Document },
): Promise<Page<WithId<T>>> {
  let query: Filter<T> = filter;
  if (opts.cursor) {
    const c = decodeCursor(opts.cursor);
    query = {
      $and: [filter, { $or: [{ createdAt: { $lt: c.createdAt } }, { createdAt: c.createdAt, _id: { $lt: c.id } }] }],
    } as Filter<T>;
  }
  const items = await collection
    .find(query, { projection: opts.projection })
    .sort({ createdAt: -1, _id: -1 })
    .limit(opts.limit + 1)
    .toArray();
  const more = items.length > opts.limit;
  if (more) items.pop();
  const last = items[items.length - 1];
  return { items, nextCursor: more && last ? encodeCursor(last.createdAt, last._id) : null };
}
