// Triggers start runs without a caller: a schedule (a Temporal Schedule), an event in the catalog (an asset
// registered, a dataset version created) or a signed inbound webhook. Each names a workflow, optionally a pinned
// version, and the bindings and params its runs get.
import { z } from 'zod';
import { CRON_PATTERN, cronProblem } from '../dag/cron';
import { IdSchema, JsonObjectSchema, NameSchema, TimestampFields } from './common';
import { InputBindingSchema, StartRunBodySchema } from './run';

export const TRIGGER_KINDS = ['schedule', 'event', 'webhook'] as const;
export type TriggerKind = (typeof TRIGGER_KINDS)[number];

/** What Temporal does when a scheduled time comes while the previous scheduled run is still going. */
export const OVERLAP_POLICIES = [
  'skip',
  'buffer_one',
  'buffer_all',
  'allow_all',
  'cancel_other',
  'terminate_other',
] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

export const TRIGGER_EVENTS = ['asset.registered', 'dataset.version_created'] as const;
export type TriggerEventName = (typeof TRIGGER_EVENTS)[number];

const MAX_INTERVAL_SECONDS = 366 * 86_400;

/** The IANA time zones a schedule may name (the runtime's list, which the OpenAPI document enumerates), and UTC. */
export const TIME_ZONES: [string, ...string[]] = [
  'UTC',
  ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC'),
];
const KNOWN_ZONES = new Set(TIME_ZONES);

export function isTimeZone(name: string): boolean {
  return KNOWN_ZONES.has(name);
}

export const ScheduleSpecSchema = z
  .object({
    cron: z
      .string()
      .min(1)
      .max(200)
      .superRefine((value, ctx) => {
        const problem = cronProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .meta({ pattern: CRON_PATTERN.source })
      .optional()
      .describe(
        'Five fields (minute hour day-of-month month day-of-week: numbers, names, *, ranges, lists, /steps) or @hourly, @daily, @weekly, @monthly, @yearly',
      ),
    intervalSeconds: z.number().int().min(1).max(MAX_INTERVAL_SECONDS).optional(),
    /** Where the cron's hours fall; an IANA time zone name. */
    timeZone: z
      .enum(TIME_ZONES, { error: 'not a time zone this server knows (an IANA name such as Europe/Berlin)' })
      .default('UTC'),
    /** Each start is delayed by a random time up to this. */
    jitterSeconds: z.number().int().min(0).max(86_400).default(0),
    overlap: z.enum(OVERLAP_POLICIES).default('skip'),
    /** No start before or after these times. */
    startAt: z.coerce.date().optional(),
    endAt: z.coerce.date().optional(),
  })
  .strict()
  .refine((s) => (s.cron === undefined) !== (s.intervalSeconds === undefined), {
    message: 'give exactly one of cron and intervalSeconds',
    path: ['cron'],
  })
  .refine((s) => !s.startAt || !s.endAt || s.startAt < s.endAt, {
    message: 'must be after startAt',
    path: ['endAt'],
  })
  .meta({ oneOf: [{ required: ['cron'] }, { required: ['intervalSeconds'] }] });
export type ScheduleSpec = z.infer<typeof ScheduleSpecSchema>;

export const EventMatchSchema = z
  .object({
    on: z.enum(TRIGGER_EVENTS),
    /** Only assets of this type (asset.registered), or datasets whose versions are of it. */
    assetType: z.string().min(1).max(64).optional(),
    /** Only assets of this format (for example hdf5, rosbag, mp4). */
    format: z.string().min(1).max(64).optional(),
  })
  .strict();
export type EventMatch = z.infer<typeof EventMatchSchema>;

const RunTemplate = {
  name: NameSchema.optional(),
  /** The version every run starts from; default: the workflow's published version when the trigger fires. */
  versionNumber: z.number().int().min(1).optional(),
  inputBindings: z.array(InputBindingSchema).max(1000).default([]),
  params: StartRunBodySchema.shape.params,
};

export const CreateTriggerBody = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('schedule'),
      schedule: ScheduleSpecSchema,
      paused: z.boolean().default(false),
      ...RunTemplate,
    })
    .strict(),
  z.object({ kind: z.literal('event'), event: EventMatchSchema, ...RunTemplate }).strict(),
  z.object({ kind: z.literal('webhook'), ...RunTemplate }).strict(),
]);
export type CreateTriggerInput = z.infer<typeof CreateTriggerBody>;

export const UpdateTriggerBody = z
  .object({
    name: NameSchema.optional(),
    versionNumber: z.number().int().min(1).nullable().optional(),
    inputBindings: z.array(InputBindingSchema).max(1000).optional(),
    params: JsonObjectSchema.optional(),
    schedule: ScheduleSpecSchema.optional(),
    event: EventMatchSchema.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to change', path: ['name'] });
export type UpdateTriggerInput = z.infer<typeof UpdateTriggerBody>;

export const BackfillBody = z
  .object({
    start: z.coerce.date(),
    end: z.coerce.date(),
    /** Default allow_all: every slot of the range gets its run. */
    overlap: z.enum(OVERLAP_POLICIES).default('allow_all'),
  })
  .strict()
  .refine((b) => b.start < b.end, { message: 'must be after start', path: ['end'] })
  .refine((b) => b.end.getTime() - b.start.getTime() <= MAX_INTERVAL_SECONDS * 1000, {
    message: 'a backfill covers at most 366 days',
    path: ['end'],
  });
export type BackfillInput = z.infer<typeof BackfillBody>;

export const TriggerDocSchema = z
  .object({
    _id: z.string().regex(/^trg_/),
    workspaceId: z.string(),
    projectId: z.string(),
    workflowDefinitionId: IdSchema,
    kind: z.enum(TRIGGER_KINDS),
    name: z.string().optional(),
    /** Event and webhook triggers: disabled ones start nothing. Schedules keep this in Temporal (paused). */
    status: z.enum(['active', 'paused']),
    versionNumber: z.number().int().optional(),
    inputBindings: z.array(InputBindingSchema),
    params: z.record(z.string(), z.unknown()),
    schedule: ScheduleSpecSchema.optional(),
    /** The Temporal Schedule's id (kind schedule). */
    temporalScheduleId: z.string().optional(),
    event: EventMatchSchema.optional(),
    /** Webhooks: the signing secret, encrypted in `secrets`. */
    secretRef: z.string().optional(),
    createdBy: z.string(),
    ...TimestampFields,
  })
  .strict();
export type TriggerDoc = z.infer<typeof TriggerDocSchema>;

/**
 * An event in the catalog that triggers may start runs for: written with the change that caused it (the outbox),
 * dispatched right after, and swept by the reconciler until it has been, so no event is lost to a crash between.
 */
export const TriggerEventDocSchema = z
  .object({
    /** `<event>:<subject id>`: the same event is recorded once. */
    _id: z.string(),
    workspaceId: z.string(),
    projectId: z.string(),
    event: z.enum(TRIGGER_EVENTS),
    assetId: z.string().optional(),
    datasetId: z.string().optional(),
    datasetVersionId: z.string().optional(),
    /** The asset's type and formats; for a dataset version, those of its assets. */
    assetTypes: z.array(z.string()),
    formats: z.array(z.string()),
    createdAt: z.date(),
    dispatchedAt: z.date().optional(),
    /** Triggers it started a run for (their launcher workflows, one per trigger and event). */
    triggerIds: z.array(z.string()).optional(),
  })
  .strict();
export type TriggerEventDoc = z.infer<typeof TriggerEventDocSchema>;

/** Webhook deliveries are signed over `<timestamp>.<body>` and refused when the timestamp is older than this. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;
