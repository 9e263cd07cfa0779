// Bulk cancel and bulk retry: one filter over a project's runs, a dry run that counts, and a real call that acts on
// each matched run through the single-run action (same checks, same audit record), then audits the bulk call itself.
import type { RunStore } from '../db/runs';
import { BULK_DRY_RUN_IDS, BULK_RUN_ACTIONS } from '../domain/bulk-runs';
import type { BulkRunAction, BulkRunBody, BulkRunFilter, BulkRunResult } from '../domain/bulk-runs';
import type { WorkflowRunDoc } from '../domain/run';
import { EmboflowError } from '../errors';
import type { AuditLog } from './audit';
import { missing } from './errors';
import type { RunActions } from './run-actions';
import type { WorkflowDefinitionDoc } from './runs';

/** Runs acted on at once: Temporal and the mirror see a bounded burst, and 1,000 runs fit the API's deadline. */
const CONCURRENCY = 8;

type Scope = { workspaceId: string; projectId: string };
interface Outcome {
  runId: string;
  acted: boolean;
  newRunId?: string;
  error?: string;
}

export class BulkRunActions {
  constructor(
    private readonly store: Pick<RunStore, 'countBulkMatches' | 'bulkMatches' | 'retriedAmong'>,
    private readonly definitions: { getDefinition(id: string): Promise<WorkflowDefinitionDoc | null> },
    private readonly actions: Pick<RunActions, 'cancel' | 'retryRun'>,
    private readonly audit: Pick<AuditLog, 'record'>,
  ) {}

  async run(actorId: string, scope: Scope, action: BulkRunAction, body: BulkRunBody): Promise<BulkRunResult> {
    const filter = await this.filter(scope, action, body);
    const matched = await this.store.countBulkMatches(scope, filter);
    if (body.dryRun) {
      const runs = await this.store.bulkMatches(scope, filter, Math.min(body.limit, BULK_DRY_RUN_IDS));
      return { dryRun: true, matched, runIds: runs.map((r) => r._id) };
    }
    const runs = await this.store.bulkMatches(scope, filter, body.limit);
    const retried = action === 'retry' ? await this.store.retriedAmong(runs.map((r) => r._id)) : new Set<string>();
    const outcomes = await inBatches(runs, CONCURRENCY, async (run): Promise<Outcome> =>
      retried.has(run._id) ? { runId: run._id, acted: false } : this.act(actorId, action, run),
    );
    const acted = outcomes.filter((o) => o.acted);
    const errors = outcomes.flatMap((o) => (o.error ? [{ runId: o.runId, message: o.error }] : []));
    const result: BulkRunResult = {
      dryRun: false,
      matched,
      runIds: runs.map((r) => r._id),
      [action === 'cancel' ? 'cancelled' : 'retried']: acted.length,
      ...(action === 'retry' ? { retries: acted.map((o) => ({ runId: o.runId, newRunId: o.newRunId! })) } : {}),
      skipped: outcomes.length - acted.length - errors.length,
      errors,
      remaining: Math.max(0, matched - runs.length),
    };
    await this.audit.record({
      actorId,
      ...scope,
      resourceType: 'project',
      resourceId: scope.projectId,
      action,
      metadata: {
        bulk: true,
        filter: { ...body, status: [...filter.statuses] },
        matched,
        acted: acted.length,
        skipped: result.skipped,
        errors: errors.length,
      },
    });
    return result;
  }

  /** The filter the body states; a workflow outside the project (another tenant's included) is a 404. */
  private async filter(scope: Scope, action: BulkRunAction, body: BulkRunBody): Promise<BulkRunFilter> {
    if (body.workflowId) {
      const def = await this.definitions.getDefinition(body.workflowId);
      if (!def || def.workspaceId !== scope.workspaceId || def.projectId !== scope.projectId) throw missing('workflow');
    }
    return {
      workflowId: body.workflowId,
      statuses: body.status ?? BULK_RUN_ACTIONS[action],
      createdAfter: body.createdAfter ? new Date(body.createdAfter) : undefined,
      createdBefore: body.createdBefore ? new Date(body.createdBefore) : undefined,
    };
  }

  /**
   * One run, through the single-run action. A refusal with a 4xx (the run finished or was retried meanwhile) skips
   * it; anything else is that run's error, and the call goes on with the others.
   */
  private async act(actorId: string, action: BulkRunAction, run: WorkflowRunDoc): Promise<Outcome> {
    try {
      if (action === 'cancel') {
        await this.actions.cancel(actorId, run);
        return { runId: run._id, acted: true };
      }
      const retry = await this.actions.retryRun(actorId, run);
      return { runId: run._id, acted: true, newRunId: retry.id };
    } catch (err) {
      if (err instanceof EmboflowError && err.status < 500) return { runId: run._id, acted: false };
      return { runId: run._id, acted: false, error: err instanceof Error ? err.message : String(err) };
    }
  }
}

/** `fn` over `items`, at most `width` at a time, answers in order. */
async function inBatches<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) out.push(...(await Promise.all(items.slice(i, i + width).map(fn))));
  return out;
}
