// Bulk run actions: which runs a bulk cancel or retry selects, and what it answers.
import { z } from 'zod';
import type { RunStatus } from './run';

/** The most runs one bulk call acts on: a larger selection is narrowed (time window) or taken in several calls. */
export const BULK_RUN_MAX = 1000;
/** Run ids a dry run lists (its `matched` counts them all). */
export const BULK_DRY_RUN_IDS = 100;

export const BULK_RUN_ACTIONS = {
  /** Only runs that have not finished can be cancelled. */
  cancel: ['pending', 'running'],
  /** Only runs that ended without success are retried. */
  retry: ['failed', 'cancelled', 'timed_out'],
} as const satisfies Record<string, readonly RunStatus[]>;
export type BulkRunAction = keyof typeof BULK_RUN_ACTIONS;

const Instant = (what: string) =>
  z.iso
    .datetime({ offset: true, message: 'an ISO 8601 date-time such as 2026-01-31T12:00:00Z' })
    .optional()
    .describe(`Only runs created ${what} this instant (ISO 8601)`);

/** The body of a bulk cancel or retry: a filter over one project's runs, every field optional. */
export function bulkRunBody(action: BulkRunAction) {
  const eligible = BULK_RUN_ACTIONS[action];
  return z
    .object({
      workflowId: z.string().min(1).max(64).optional().describe('Only runs of this workflow (of this project)'),
      status: z
        .array(z.enum(eligible))
        .min(1)
        .max(eligible.length)
        .optional()
        .describe(`Only runs in these statuses (default: all of ${eligible.join(', ')})`),
      createdAfter: Instant('at or after'),
      createdBefore: Instant('before'),
      dryRun: z
        .boolean()
        .default(false)
        .describe(`Count the matching runs and list the first ${BULK_DRY_RUN_IDS} ids; change nothing`),
      limit: z
        .number()
        .int()
        .min(1)
        .max(BULK_RUN_MAX)
        .default(BULK_RUN_MAX)
        .describe(`Act on at most this many matching runs, oldest first (at most ${BULK_RUN_MAX} per call)`),
    })
    .strict()
    .refine((b) => !b.createdAfter || !b.createdBefore || Date.parse(b.createdAfter) < Date.parse(b.createdBefore), {
      message: 'createdAfter must be before createdBefore',
      path: ['createdAfter'],
    })
    .meta({
      description: `A filter over the project's runs (all fields optional; createdAfter, when both are given, must be before createdBefore)`,
    });
}
export type BulkRunBody = z.output<ReturnType<typeof bulkRunBody>>;

/** The runs a bulk call selects, in a project. */
export interface BulkRunFilter {
  workflowId?: string;
  statuses: readonly RunStatus[];
  createdAfter?: Date;
  createdBefore?: Date;
}

/** What a bulk call answers; `cancelled` or `retried` by action. */
export interface BulkRunResult {
  dryRun: boolean;
  /** Runs the filter selects: all of them, also beyond `limit`. */
  matched: number;
  /** Dry run: the first matching ids; otherwise the runs this call looked at. */
  runIds: string[];
  cancelled?: number;
  retried?: number;
  /** Retry only: each retried run and the new run retrying it. */
  retries?: Array<{ runId: string; newRunId: string }>;
  /** Runs left as they were: they finished (cancel) or were retried (retry) meanwhile or before. */
  skipped?: number;
  errors?: Array<{ runId: string; message: string }>;
  /** Matching runs beyond `limit`, left for another call. */
  remaining?: number;
}
