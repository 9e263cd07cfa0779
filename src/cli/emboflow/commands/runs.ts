// run start | watch | get | list | cancel | retry | retry-task | approve.
import { parseParams } from '../args';
import type { CommandSpec, Context, ParamsSchema } from '../args';
import { UsageError } from '../errors';
import { elapsedMs, formatDuration, formatTime, renderFields, renderTable } from '../format';
import type { RunView, TaskView } from '../run-state';
import { loadRun, watchRun } from '../watch';

const id = encodeURIComponent;

const WATCH = {
  type: 'boolean',
  description: 'then show its progress until it ends (exit 0 success, 1 failed, 3 cancelled)',
} as const;

/** The lines shown after a run is started or retried. */
function printStarted(ctx: Context, run: RunView, what: string): void {
  ctx.out(
    renderFields([
      ['run', `${run.id} ${what}`],
      ['workflow', run.workflowDefinitionId && `${run.workflowDefinitionId} v${run.versionNumber}`],
      ['temporal', run.temporalUiUrl],
    ]),
  );
}

function taskTotals(run: RunView): string {
  const counts = run.summary?.taskCounts ?? {};
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return total ? `${counts.success ?? 0}/${total}` : '';
}

/** The params schema of the version a run will start from (the published one unless given), if it has one. */
async function paramsSchema(
  ctx: Context,
  workflowId: string,
  versionNumber?: number,
): Promise<ParamsSchema | undefined> {
  const version =
    versionNumber ??
    (await ctx.client().get<{ publishedVersionNumber: number | null }>(`/v1/workflows/${id(workflowId)}`))
      .publishedVersionNumber;
  if (!version) return undefined;
  const schema = await ctx
    .client()
    .get<ParamsSchema>(`/v1/workflows/${id(workflowId)}/versions/${version}/params-schema`);
  return schema.properties ? schema : undefined;
}

export const runStart: CommandSpec = {
  name: 'run start',
  summary: 'Start a run of a workflow (its published version unless --version)',
  args: ['WORKFLOW_ID'],
  options: {
    version: { type: 'string', value: 'N', description: 'the version to run (default: the published one)' },
    asset: { type: 'string', multiple: true, value: 'ID', description: 'an input asset (repeatable)' },
    dataset: { type: 'string', multiple: true, value: 'ID', description: 'an input dataset (repeatable)' },
    param: {
      type: 'string',
      multiple: true,
      value: 'K=V',
      description: 'a string parameter; K:=JSON for a typed one (repeatable)',
    },
    'idempotency-key': {
      type: 'string',
      value: 'KEY',
      description: 'starting again with the same key answers the same run',
    },
    watch: WATCH,
  },
  async run(ctx, a) {
    const versionNumber = a.int('version');
    const workflowId = a.arg('WORKFLOW_ID');
    const schema = a.list('param').length ? await paramsSchema(ctx, workflowId, versionNumber) : undefined;
    const body = {
      ...(versionNumber !== undefined ? { versionNumber } : {}),
      inputBindings: [
        ...a.list('asset').map((assetId) => ({ kind: 'asset', id: assetId })),
        ...a.list('dataset').map((datasetId) => ({ kind: 'dataset', id: datasetId })),
      ],
      params: parseParams(a.list('param'), 'run start', schema),
    };
    const key = a.string('idempotency-key');
    const run = await ctx
      .client()
      .post<RunView>(
        `/v1/workflows/${id(a.arg('WORKFLOW_ID'))}/runs`,
        body,
        key ? { 'Idempotency-Key': key } : undefined,
      );
    if (a.flag('watch')) {
      if (!ctx.json) printStarted(ctx, run, 'started');
      return watchRun(ctx, run.id);
    }
    if (ctx.json) ctx.printJson(run);
    else printStarted(ctx, run, `started (${run.status}); follow it with: emboflow run watch ${run.id}`);
    return 0;
  },
};

export const runWatch: CommandSpec = {
  name: 'run watch',
  summary: "Show a run's progress live until it ends (exit 0 success, 1 failed, 3 cancelled)",
  args: ['RUN_ID'],
  details: 'On a terminal the node lines are redrawn in place; otherwise each change is printed as a line.',
  run: (ctx, a) => watchRun(ctx, a.arg('RUN_ID')),
};

export const runGet: CommandSpec = {
  name: 'run get',
  summary: 'Show a run and its tasks',
  args: ['RUN_ID'],
  async run(ctx, a) {
    const { run, tasks } = await loadRun(ctx.client(), a.arg('RUN_ID'));
    if (ctx.json) {
      ctx.printJson(run);
      return 0;
    }
    ctx.out(renderFields(runFields(run)));
    ctx.out();
    ctx.out(renderTaskTable(tasks));
    return 0;
  },
};

/** What `run get` shows of a run, each field a label and its value (blank ones are left out). */
export function runFields(run: RunView): Array<[string, string | undefined]> {
  return [
    ['run', run.id],
    ['status', run.status],
    ['workflow', run.workflowDefinitionId && `${run.workflowDefinitionId} v${run.versionNumber}`],
    ['retry of', run.retryOfRunId],
    ['sub-workflow of', run.parentRunId && `${run.parentRunId} (node ${run.parentNodeId})`],
    ['child runs', run.childRunIds?.join(', ')],
    ['created', formatTime(run.createdAt)],
    ['started', formatTime(run.startedAt)],
    ['finished', formatTime(run.finishedAt)],
    ['duration', formatDuration(elapsedMs(run.startedAt, run.finishedAt))],
    ['error', run.errorMessage],
    ['temporal', run.temporalUiUrl],
  ];
}

export function renderTaskTable(tasks: TaskView[]): string {
  return renderTable(
    ['NODE', 'STATUS', 'ATTEMPT', 'DURATION', 'ERROR'],
    tasks.map((t) => [
      t.nodeId,
      t.status + (t.cacheHit ? ' (cached)' : ''),
      t.attempt > 0 ? String(t.attempt) : '',
      formatDuration(t.durationMs ?? (t.status === 'running' ? elapsedMs(t.startedAt, undefined) : undefined)),
      t.errorMessage ?? (t.skipReason ? `skipped: ${t.skipReason}` : ''),
    ]),
  );
}

export const runList: CommandSpec = {
  name: 'run list',
  summary: "A project's runs, newest first",
  options: {
    project: { type: 'string', value: 'ID', description: 'the project (required)' },
    status: {
      type: 'string',
      value: 'S',
      description: 'only runs in this status: pending, running, success, failed, cancelled',
    },
    workflow: { type: 'string', value: 'W', description: 'only runs of this workflow' },
    limit: { type: 'string', value: 'N', description: 'at most N runs (1-200, default 50)' },
    cursor: { type: 'string', value: 'C', description: 'the page after the one that printed this cursor' },
  },
  async run(ctx, a) {
    const project = a.string('project');
    if (!project) throw new UsageError('--project ID is required', 'run list');
    const query = new URLSearchParams();
    const limit = a.int('limit');
    if (limit !== undefined) query.set('limit', String(limit));
    for (const [option, param] of [
      ['status', 'status'],
      ['workflow', 'workflowId'],
      ['cursor', 'cursor'],
    ] as const) {
      const value = a.string(option);
      if (value !== undefined) query.set(param, value);
    }
    const page = await ctx
      .client()
      .get<{ items: RunView[]; nextCursor: string | null }>(
        `/v1/projects/${id(project)}/runs${query.size ? `?${query}` : ''}`,
      );
    if (ctx.json) {
      ctx.printJson(page);
      return 0;
    }
    ctx.out(
      renderTable(
        ['RUN', 'STATUS', 'WORKFLOW', 'VERSION', 'TASKS', 'CREATED', 'DURATION'],
        page.items.map((r) => [
          r.id,
          r.status,
          r.workflowDefinitionId ?? '',
          r.versionNumber !== undefined ? String(r.versionNumber) : '',
          taskTotals(r),
          formatTime(r.createdAt),
          formatDuration(elapsedMs(r.startedAt, r.finishedAt)),
        ]),
      ),
    );
    if (page.nextCursor) ctx.out(`\nmore: --cursor ${page.nextCursor}`);
    return 0;
  },
};

export const runCancel: CommandSpec = {
  name: 'run cancel',
  summary: 'Cancel a run: its containers are stopped',
  args: ['RUN_ID'],
  async run(ctx, a) {
    const res = await ctx.client().post<{ id: string; status: string }>(`/v1/runs/${id(a.arg('RUN_ID'))}/cancel`);
    if (ctx.json) ctx.printJson(res);
    else ctx.out(`run ${res.id} ${res.status}`);
    return 0;
  },
};

export const runRetry: CommandSpec = {
  name: 'run retry',
  summary: 'Start a new run with the same version and inputs as a finished one',
  args: ['RUN_ID'],
  options: { watch: WATCH },
  async run(ctx, a) {
    const run = await ctx.client().post<RunView>(`/v1/runs/${id(a.arg('RUN_ID'))}/retry`);
    if (a.flag('watch')) {
      if (!ctx.json) printStarted(ctx, run, `started (retry of ${a.arg('RUN_ID')})`);
      return watchRun(ctx, run.id);
    }
    if (ctx.json) ctx.printJson(run);
    else printStarted(ctx, run, `started (retry of ${a.arg('RUN_ID')})`);
    return 0;
  },
};

export const runRetryTask: CommandSpec = {
  name: 'run retry-task',
  summary: 'Run a finished task and everything downstream of it again, in the same run',
  args: ['RUN_ID', 'NODE_ID'],
  options: { watch: WATCH },
  async run(ctx, a) {
    const runId = a.arg('RUN_ID');
    const res = await ctx
      .client()
      .post<{ runId: string; nodeId: string; resetNodeIds: string[] }>(
        `/v1/runs/${id(runId)}/tasks/${id(a.arg('NODE_ID'))}/retry`,
      );
    if (ctx.json && !a.flag('watch')) ctx.printJson(res);
    else if (!ctx.json) ctx.out(`run ${res.runId}: ${res.resetNodeIds.join(', ')} reset and running again`);
    return a.flag('watch') ? watchRun(ctx, runId) : 0;
  },
};

export const runApprove: CommandSpec = {
  name: 'run approve',
  summary: 'Approve or reject a task waiting for approval',
  args: ['RUN_ID', 'NODE_ID'],
  options: {
    approve: { type: 'boolean', description: 'approve it' },
    reject: { type: 'boolean', description: 'reject it' },
    comment: { type: 'string', value: 'TEXT', description: 'why, for the audit log' },
  },
  async run(ctx, a) {
    if (a.flag('approve') === a.flag('reject'))
      throw new UsageError('pass exactly one of --approve and --reject', 'run approve');
    const approved = a.flag('approve');
    const comment = a.string('comment');
    const res = await ctx
      .client()
      .post<unknown>(`/v1/runs/${id(a.arg('RUN_ID'))}/tasks/${id(a.arg('NODE_ID'))}/approve`, {
        approved,
        ...(comment !== undefined ? { comment } : {}),
      });
    if (ctx.json) ctx.printJson(res);
    else ctx.out(`${a.arg('NODE_ID')} ${approved ? 'approved' : 'rejected'}`);
    return 0;
  },
};
