// schedule create | list | get | update | pause | resume | run-now | backfill | delete: a workflow's schedules
// (triggers of kind schedule, kept by Temporal Schedules).
import { parseParams } from '../args';
import type { Args, CommandSpec, Context } from '../args';
import { UsageError } from '../errors';
import { formatTime, renderFields, renderTable } from '../format';

const id = encodeURIComponent;

interface ScheduleSpecView {
  cron?: string;
  intervalSeconds?: number;
  timeZone: string;
  jitterSeconds: number;
  overlap: string;
}

interface ScheduleView {
  id: string;
  kind: string;
  name?: string;
  workflowDefinitionId: string;
  status: string;
  versionNumber?: number;
  schedule?: ScheduleSpecView;
  temporal?: {
    paused: boolean;
    note?: string;
    nextRunTimes: string[];
    recentRuns: Array<{ scheduledAt: string; takenAt: string }>;
    actionsTaken: number;
    running: number;
  };
}

const SPEC_OPTIONS = {
  cron: {
    type: 'string',
    value: 'EXPR',
    description: 'five fields (minute hour day month weekday) or @hourly, @daily, … (quote it)',
  },
  every: { type: 'string', value: 'SECONDS', description: 'an interval instead of a cron' },
  tz: { type: 'string', value: 'ZONE', description: "the cron's time zone, an IANA name (default UTC)" },
  jitter: { type: 'string', value: 'SECONDS', description: 'delay each start by up to this, at random' },
  overlap: {
    type: 'string',
    value: 'POLICY',
    description:
      'when a run is still going: skip (default), buffer_one, buffer_all, allow_all, cancel_other, terminate_other',
  },
} as const;

/** The schedule spec the options describe, over `base` (an update changes only what it names). */
function specFrom(a: Args, base?: ScheduleSpecView): Record<string, unknown> {
  const cron = a.string('cron');
  const every = a.int('every');
  if (cron !== undefined && every !== undefined) throw new UsageError('give --cron or --every, not both', a.command);
  const timing =
    cron !== undefined
      ? { cron }
      : every !== undefined
        ? { intervalSeconds: every }
        : base?.cron !== undefined
          ? { cron: base.cron }
          : base?.intervalSeconds !== undefined
            ? { intervalSeconds: base.intervalSeconds }
            : undefined;
  if (!timing) throw new UsageError('a schedule needs --cron or --every', a.command);
  const tz = a.string('tz') ?? base?.timeZone;
  const jitter = a.int('jitter', 0) ?? base?.jitterSeconds;
  const overlap = a.string('overlap') ?? base?.overlap;
  return {
    ...timing,
    ...(tz !== undefined ? { timeZone: tz } : {}),
    ...(jitter !== undefined ? { jitterSeconds: jitter } : {}),
    ...(overlap !== undefined ? { overlap } : {}),
  };
}

function show(ctx: Context, s: ScheduleView): number {
  if (ctx.json) {
    ctx.printJson(s);
    return 0;
  }
  const spec = s.schedule;
  ctx.out(
    renderFields([
      ['schedule', `${s.id}${s.name ? ` (${s.name})` : ''}`],
      ['workflow', `${s.workflowDefinitionId}${s.versionNumber ? ` v${s.versionNumber}` : ' (published version)'}`],
      ['when', spec && (spec.cron ? `cron "${spec.cron}" ${spec.timeZone}` : `every ${spec.intervalSeconds} s`)],
      ['jitter', spec?.jitterSeconds ? `${spec.jitterSeconds} s` : undefined],
      ['overlap', spec?.overlap],
      [
        'state',
        s.temporal
          ? s.temporal.paused
            ? `paused${s.temporal.note ? `: ${s.temporal.note}` : ''}`
            : 'active'
          : s.status,
      ],
      ['next', s.temporal?.nextRunTimes.slice(0, 3).map(formatTime).join(', ')],
      ['runs', s.temporal && `${s.temporal.actionsTaken} started, ${s.temporal.running} running`],
    ]),
  );
  return 0;
}

export const scheduleCreate: CommandSpec = {
  name: 'schedule create',
  summary: 'Schedule runs of a workflow: a cron in a time zone, or an interval',
  args: ['WORKFLOW_ID'],
  options: {
    ...SPEC_OPTIONS,
    name: { type: 'string', value: 'NAME', description: 'a name to tell it by' },
    version: { type: 'string', value: 'N', description: 'pin a version (default: the published one at each start)' },
    asset: { type: 'string', multiple: true, value: 'ID', description: 'an input asset (repeatable)' },
    dataset: { type: 'string', multiple: true, value: 'ID', description: 'an input dataset (repeatable)' },
    param: { type: 'string', multiple: true, value: 'K=V', description: 'a parameter; K:=JSON for a typed one' },
    paused: { type: 'boolean', description: 'create it paused' },
  },
  async run(ctx, a) {
    const versionNumber = a.int('version');
    const name = a.string('name');
    const body = {
      kind: 'schedule',
      schedule: specFrom(a),
      ...(name ? { name } : {}),
      ...(versionNumber !== undefined ? { versionNumber } : {}),
      paused: a.flag('paused'),
      inputBindings: [
        ...a.list('asset').map((assetId) => ({ kind: 'asset', id: assetId })),
        ...a.list('dataset').map((datasetId) => ({ kind: 'dataset', id: datasetId })),
      ],
      params: parseParams(a.list('param'), a.command),
    };
    return show(ctx, await ctx.client().post<ScheduleView>(`/v1/workflows/${id(a.arg('WORKFLOW_ID'))}/triggers`, body));
  },
};

export const scheduleList: CommandSpec = {
  name: 'schedule list',
  summary: "A workflow's schedules",
  args: ['WORKFLOW_ID'],
  async run(ctx, a) {
    const page = await ctx
      .client()
      .get<{ items: ScheduleView[] }>(`/v1/workflows/${id(a.arg('WORKFLOW_ID'))}/triggers?kind=schedule&limit=100`);
    if (ctx.json) {
      ctx.printJson(page);
      return 0;
    }
    ctx.out(
      renderTable(
        ['SCHEDULE', 'WHEN', 'OVERLAP', 'STATE', 'NEXT'],
        page.items.map((s) => [
          s.id,
          s.schedule?.cron ? `${s.schedule.cron} ${s.schedule.timeZone}` : `every ${s.schedule?.intervalSeconds} s`,
          s.schedule?.overlap ?? '',
          s.temporal?.paused ? 'paused' : 'active',
          formatTime(s.temporal?.nextRunTimes[0]),
        ]),
      ),
    );
    return 0;
  },
};

export const scheduleGet: CommandSpec = {
  name: 'schedule get',
  summary: 'Show a schedule: when, its state in Temporal, the next start times',
  args: ['SCHEDULE_ID'],
  run: async (ctx, a) => show(ctx, await ctx.client().get<ScheduleView>(`/v1/triggers/${id(a.arg('SCHEDULE_ID'))}`)),
};

export const scheduleUpdate: CommandSpec = {
  name: 'schedule update',
  summary: "Change a schedule's timing or overlap policy (what is not given stays)",
  args: ['SCHEDULE_ID'],
  options: SPEC_OPTIONS,
  async run(ctx, a) {
    const path = `/v1/triggers/${id(a.arg('SCHEDULE_ID'))}`;
    const current = await ctx.client().get<ScheduleView>(path);
    const schedule = specFrom(a, current.schedule);
    return show(ctx, await ctx.client().request<ScheduleView>('PATCH', path, { schedule }));
  },
};

function control(action: 'pause' | 'resume' | 'run-now', summary: string): CommandSpec {
  return {
    name: `schedule ${action}`,
    summary,
    args: ['SCHEDULE_ID'],
    run: async (ctx, a) =>
      show(ctx, await ctx.client().post<ScheduleView>(`/v1/triggers/${id(a.arg('SCHEDULE_ID'))}/${action}`, {})),
  };
}

export const schedulePause = control('pause', 'Pause a schedule: nothing starts until it is resumed');
export const scheduleResume = control('resume', 'Resume a paused schedule');
export const scheduleRunNow = control('run-now', "Start one run now, under the schedule's overlap policy");

export const scheduleBackfill: CommandSpec = {
  name: 'schedule backfill',
  summary: 'Start the runs the schedule would have started between two times',
  args: ['SCHEDULE_ID'],
  options: {
    from: { type: 'string', value: 'TIME', description: 'ISO 8601 start of the range' },
    to: { type: 'string', value: 'TIME', description: 'ISO 8601 end of the range' },
    overlap: { ...SPEC_OPTIONS.overlap, description: 'for these runs (default allow_all)' },
  },
  async run(ctx, a) {
    const [start, end] = [a.string('from'), a.string('to')];
    if (!start || !end) throw new UsageError('a backfill needs --from and --to', a.command);
    const overlap = a.string('overlap');
    const body = { start, end, ...(overlap ? { overlap } : {}) };
    return show(ctx, await ctx.client().post<ScheduleView>(`/v1/triggers/${id(a.arg('SCHEDULE_ID'))}/backfill`, body));
  },
};

export const scheduleDelete: CommandSpec = {
  name: 'schedule delete',
  summary: 'Delete a schedule (runs it started go on)',
  args: ['SCHEDULE_ID'],
  async run(ctx, a) {
    await ctx.client().request('DELETE', `/v1/triggers/${id(a.arg('SCHEDULE_ID'))}`);
    if (!ctx.json) ctx.out(`schedule ${a.arg('SCHEDULE_ID')} deleted`);
    return 0;
  },
};

export const SCHEDULE_COMMANDS = [
  scheduleCreate,
  scheduleList,
  scheduleGet,
  scheduleUpdate,
  schedulePause,
  scheduleResume,
  scheduleRunNow,
  scheduleBackfill,
  scheduleDelete,
];
