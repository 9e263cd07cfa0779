// Triggers: schedules (Temporal Schedules, which own the timing: cron or interval, time zone, jitter, overlap,
// pause, trigger now, backfill), catalog events (an asset registered, a dataset version created) and signed inbound
// webhooks. Schedules and events start a launcher workflow (workflows/triggered-run.ts) that inserts the run and
// runs it as its child; a webhook starts its run from the API, idempotent by delivery id.
import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
} from '@temporalio/client';
import type { Client, ScheduleDescription, ScheduleOptionsAction, ScheduleSpec } from '@temporalio/client';
import type { Db } from 'mongodb';
import { triggeredRunWorkflow } from '../../workflows/triggered-run';
import { resolveParams } from '../dag/params';
import type { PageRequest } from '../db/pagination';
import { TriggerEventRepository, TriggerRepository } from '../db/triggers';
import type { InputBinding } from '../domain/run';
import { WEBHOOK_TOLERANCE_SECONDS } from '../domain/triggers';
import type {
  BackfillInput,
  CreateTriggerInput,
  OverlapPolicy,
  TriggerDoc,
  TriggerEventDoc,
  UpdateTriggerInput,
} from '../domain/triggers';
import { EmboflowError } from '../errors';
import { newId } from '../ids';
import type { AuditLog } from './audit';
import { invalidField } from './errors';
import type { RunService, RunView, WorkflowDefinitionDoc } from './runs';
import type { SecretStore } from './secrets';
import { newSigningSecret, verifyWebhook } from './webhook-signature';

const OVERLAP: Record<OverlapPolicy, ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  buffer_one: ScheduleOverlapPolicy.BUFFER_ONE,
  buffer_all: ScheduleOverlapPolicy.BUFFER_ALL,
  allow_all: ScheduleOverlapPolicy.ALLOW_ALL,
  cancel_other: ScheduleOverlapPolicy.CANCEL_OTHER,
  terminate_other: ScheduleOverlapPolicy.TERMINATE_OTHER,
};

/** A webhook delivery refused: a missing, stale or forged signature, or an unknown hook (all alike, 401). */
export class WebhookRefused extends EmboflowError {
  override name = 'WebhookRefused';
  constructor(message: string) {
    super(401, 'unauthorized', message);
  }
}

export function temporalScheduleId(triggerId: string): string {
  return `emboflow-schedule-${triggerId}`;
}

/** The launcher of a trigger's run for one event: one workflow id per trigger and event, so one run per event. */
export function eventLauncherId(triggerId: string, eventId: string): string {
  return `emboflow-trigger-${triggerId}-${eventId}`;
}

/** A change in the catalog that triggers may start runs for. */
export type CatalogEvent = Omit<TriggerEventDoc, 'createdAt' | 'dispatchedAt' | 'triggerIds'>;
/** Where the catalog services report their events (the API's dispatcher; nothing in processes without one). */
export interface CatalogEvents {
  record(event: CatalogEvent): Promise<void>;
}

type TriggersConfig = { RUN_TASK_QUEUE: string; TASK_QUEUE_PREFIX: string };

/** Starts the launchers of catalog events: right after an event is recorded, and from the reconciler's sweep. */
export class TriggerDispatcher implements CatalogEvents {
  private readonly triggers: TriggerRepository;
  readonly events: TriggerEventRepository;

  constructor(
    db: Db,
    private readonly temporal: Client,
    private readonly config: TriggersConfig,
  ) {
    this.triggers = new TriggerRepository(db);
    this.events = new TriggerEventRepository(db);
  }

  /**
   * Records the event when a trigger listens for it (idempotently by its id), then dispatches it. A dispatch that
   * fails (Temporal unreachable) is left to the reconciler's sweep: the event is in the outbox.
   */
  async record(event: CatalogEvent): Promise<void> {
    const matching = (await this.triggers.listening(event.projectId, event.event)).filter((t) => matches(t, event));
    if (!matching.length) return;
    if (!(await this.events.record({ ...event, createdAt: new Date() }))) return;
    await this.launch(event, matching).catch(() => undefined);
  }

  /** Dispatches a recorded event that is not yet (the sweep, a retry): its triggers as they are now. */
  async dispatch(eventId: string): Promise<string[]> {
    const event = await this.events.get(eventId);
    if (!event || event.dispatchedAt) return [];
    const listening = await this.triggers.listening(event.projectId, event.event);
    return this.launch(
      event,
      listening.filter((t) => matches(t, event)),
    );
  }

  /** Starts a launcher per trigger (an existing one is that event's run already) and marks the event dispatched. */
  private async launch(event: CatalogEvent, triggers: TriggerDoc[]): Promise<string[]> {
    const started: string[] = [];
    for (const trigger of triggers) {
      try {
        await this.temporal.workflow.start(triggeredRunWorkflow, {
          workflowId: eventLauncherId(trigger._id, event._id),
          taskQueue: this.config.TASK_QUEUE_PREFIX + this.config.RUN_TASK_QUEUE,
          args: [{ triggerId: trigger._id, eventId: event._id }],
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          staticSummary: `EmboFlow trigger ${trigger._id}: ${event.event} ${event.assetId ?? event.datasetVersionId}`,
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      started.push(trigger._id);
    }
    await this.events.markDispatched(event._id, started);
    return started;
  }

  /** The reconciler's sweep: events older than `graceMs` that no request dispatched (it crashed, Temporal was down). */
  async sweep(graceMs = 10_000, limit = 200): Promise<number> {
    let dispatched = 0;
    for (const event of await this.events.undispatched(new Date(Date.now() - graceMs), limit)) {
      await this.dispatch(event._id);
      dispatched++;
    }
    return dispatched;
  }
}

function matches(trigger: TriggerDoc, event: Pick<TriggerEventDoc, 'assetTypes' | 'formats'>): boolean {
  const want = trigger.event;
  if (!want) return false;
  if (want.assetType && !event.assetTypes.includes(want.assetType)) return false;
  const format = want.format?.toLowerCase();
  if (format && !event.formats.some((f) => f.toLowerCase() === format)) return false;
  return true;
}

export type TriggerView = Omit<TriggerDoc, '_id' | 'secretRef'> & {
  id: string;
  hasSecret?: boolean;
  /** Webhooks: where deliveries go (POST, signed). */
  hookPath?: string;
  /** Schedules: Temporal's view of the schedule. */
  temporal?: {
    paused: boolean;
    note?: string;
    nextRunTimes: Date[];
    recentRuns: Array<{ scheduledAt: Date; takenAt: Date; launcherWorkflowId?: string }>;
    actionsTaken: number;
    running: number;
  };
};

export function triggerView(doc: TriggerDoc, described?: ScheduleDescription): TriggerView {
  const { _id, secretRef, ...rest } = doc;
  return {
    id: _id,
    ...rest,
    ...(doc.kind === 'webhook' ? { hasSecret: secretRef !== undefined, hookPath: `/v1/hooks/${_id}` } : {}),
    ...(described
      ? {
          temporal: {
            paused: described.state.paused,
            ...(described.state.note ? { note: described.state.note } : {}),
            nextRunTimes: described.info.nextActionTimes.slice(0, 5),
            recentRuns: described.info.recentActions.slice(-10).map((a) => ({
              scheduledAt: a.scheduledAt,
              takenAt: a.takenAt,
              ...(a.action.type === 'startWorkflow' ? { launcherWorkflowId: a.action.workflow.workflowId } : {}),
            })),
            actionsTaken: described.info.numActionsTaken,
            running: described.info.runningActions.length,
          },
        }
      : {}),
  };
}

export class TriggerService {
  readonly store: TriggerRepository;
  readonly dispatcher: TriggerDispatcher;

  constructor(
    db: Db,
    private readonly temporal: Client,
    private readonly runs: RunService,
    private readonly audit: Pick<AuditLog, 'record'>,
    private readonly secrets: SecretStore,
    private readonly config: TriggersConfig,
  ) {
    this.store = new TriggerRepository(db);
    this.dispatcher = new TriggerDispatcher(db, temporal, config);
  }

  get(triggerId: string): Promise<TriggerDoc | null> {
    return this.store.get(triggerId);
  }

  list(def: WorkflowDefinitionDoc, kind: TriggerDoc['kind'] | undefined, page: PageRequest) {
    return this.store.list(def._id, kind, page);
  }

  /** A trigger as the API shows it; a schedule with Temporal's state (next times, recent runs, paused). */
  async view(doc: TriggerDoc): Promise<TriggerView> {
    if (doc.kind !== 'schedule') return triggerView(doc);
    try {
      return triggerView(doc, await this.temporal.schedule.getHandle(temporalScheduleId(doc._id)).describe());
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return triggerView(doc);
      throw err;
    }
  }

  /**
   * Creates a trigger after checking what its runs will need: a version to start (pinned or published) and
   * bindings inside the project. A webhook's signing secret is answered here once and kept only encrypted.
   */
  async create(
    def: WorkflowDefinitionDoc,
    input: CreateTriggerInput,
    actorId: string,
  ): Promise<TriggerView & { secret?: string }> {
    await this.checkTemplate(def, input.versionNumber, input.inputBindings, input.params, input.kind);
    if (input.kind === 'webhook' && !this.secrets.box.available) {
      throw invalidField('kind', 'this deployment cannot keep webhook secrets: set EMBOFLOW_SECRET_KEY on the API');
    }
    const _id = newId('trg');
    const now = new Date();
    const doc: TriggerDoc = {
      _id,
      workspaceId: def.workspaceId,
      projectId: def.projectId,
      workflowDefinitionId: def._id,
      kind: input.kind,
      ...(input.name ? { name: input.name } : {}),
      status: input.kind === 'schedule' && input.paused ? 'paused' : 'active',
      ...(input.versionNumber ? { versionNumber: input.versionNumber } : {}),
      inputBindings: input.inputBindings,
      params: input.params,
      ...(input.kind === 'schedule' ? { schedule: input.schedule, temporalScheduleId: temporalScheduleId(_id) } : {}),
      ...(input.kind === 'event' ? { event: input.event } : {}),
      createdBy: actorId,
      createdAt: now,
      updatedAt: now,
    };
    let secret: string | undefined;
    if (input.kind === 'webhook') {
      secret = newSigningSecret();
      doc.secretRef = await this.secrets.put(
        { workspaceId: def.workspaceId, ownerType: 'trigger', ownerId: _id },
        secret,
      );
    }
    await this.store.insert(doc);
    if (input.kind === 'schedule') {
      try {
        await this.temporal.schedule.create({
          scheduleId: temporalScheduleId(_id),
          ...this.scheduleOptions(doc),
          state: { paused: input.paused, note: input.paused ? `paused at creation by ${actorId}` : undefined },
        });
      } catch (err) {
        await this.store.delete(_id);
        throw scheduleRefusal(err);
      }
    }
    await this.record(actorId, doc, 'create', { kind: doc.kind, schedule: doc.schedule, event: doc.event });
    return { ...(await this.view(doc)), ...(secret ? { secret } : {}) };
  }

  async update(trigger: TriggerDoc, input: UpdateTriggerInput, actorId: string): Promise<TriggerView> {
    if (input.schedule && trigger.kind !== 'schedule')
      throw invalidField('schedule', `a ${trigger.kind} trigger has no schedule`);
    if (input.event && trigger.kind !== 'event') throw invalidField('event', `a ${trigger.kind} trigger has no event`);
    const def = await this.runs.getDefinition(trigger.workflowDefinitionId);
    if (!def) throw invalidField('workflowId', 'the workflow is gone');
    const versionNumber =
      input.versionNumber === undefined ? trigger.versionNumber : (input.versionNumber ?? undefined);
    await this.checkTemplate(
      def,
      versionNumber,
      input.inputBindings ?? trigger.inputBindings,
      input.params ?? trigger.params,
      trigger.kind,
    );
    const set: Partial<TriggerDoc> = {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.versionNumber ? { versionNumber: input.versionNumber } : {}),
      ...(input.inputBindings ? { inputBindings: input.inputBindings } : {}),
      ...(input.params ? { params: input.params } : {}),
      ...(input.schedule ? { schedule: input.schedule } : {}),
      ...(input.event ? { event: input.event } : {}),
    };
    const next = { ...trigger, ...set };
    if (input.versionNumber === null) delete next.versionNumber;
    if (input.schedule) {
      try {
        await this.temporal.schedule
          .getHandle(temporalScheduleId(trigger._id))
          .update((prev) => ({ ...prev, ...this.scheduleOptions(next) }));
      } catch (err) {
        throw scheduleRefusal(err);
      }
    }
    const updated = await this.store.update(trigger._id, set, input.versionNumber === null ? ['versionNumber'] : []);
    await this.record(actorId, next, 'update', { changed: Object.keys(input) });
    return this.view(updated ?? next);
  }

  async delete(trigger: TriggerDoc, actorId: string): Promise<void> {
    if (trigger.kind === 'schedule') {
      try {
        await this.temporal.schedule.getHandle(temporalScheduleId(trigger._id)).delete();
      } catch (err) {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      }
    }
    await this.store.delete(trigger._id);
    await this.record(actorId, trigger, 'delete', { kind: trigger.kind });
  }

  /** Pauses (no run starts from it) or resumes a trigger; a schedule's pause is Temporal's. */
  async setPaused(trigger: TriggerDoc, paused: boolean, actorId: string): Promise<TriggerView> {
    if (trigger.kind === 'schedule') {
      const handle = this.temporal.schedule.getHandle(temporalScheduleId(trigger._id));
      const note = `${paused ? 'paused' : 'resumed'} by ${actorId}`;
      await (paused ? handle.pause(note) : handle.unpause(note));
    }
    const updated = await this.store.update(trigger._id, { status: paused ? 'paused' : 'active' });
    await this.record(actorId, trigger, paused ? 'pause' : 'resume');
    return this.view(updated ?? trigger);
  }

  /** Schedules: one run now, under the schedule's overlap policy unless the caller names another. */
  async triggerNow(trigger: TriggerDoc, overlap: OverlapPolicy | undefined, actorId: string): Promise<TriggerView> {
    this.requireSchedule(trigger);
    await this.temporal.schedule
      .getHandle(temporalScheduleId(trigger._id))
      .trigger(overlap ? OVERLAP[overlap] : undefined);
    await this.record(actorId, trigger, 'trigger', overlap ? { overlap } : undefined);
    return this.view(trigger);
  }

  /** Schedules: the runs the schedule would have started over a past (or future) time range, started now. */
  async backfill(trigger: TriggerDoc, input: BackfillInput, actorId: string): Promise<TriggerView> {
    this.requireSchedule(trigger);
    await this.temporal.schedule
      .getHandle(temporalScheduleId(trigger._id))
      .backfill({ start: input.start, end: input.end, overlap: OVERLAP[input.overlap] });
    await this.record(actorId, trigger, 'backfill', {
      start: input.start.toISOString(),
      end: input.end.toISOString(),
      overlap: input.overlap,
    });
    return this.view(trigger);
  }

  /**
   * A webhook delivery: verified against the hook's secret, then a run with the body as its params (202). The same
   * delivery id again answers with the run it started.
   */
  async deliver(
    triggerId: string,
    headers: { timestamp?: string; signature?: string; delivery?: string },
    rawBody: Buffer,
    params: Record<string, unknown>,
  ): Promise<RunView> {
    const trigger = await this.store.get(triggerId);
    if (!trigger || trigger.kind !== 'webhook' || !trigger.secretRef) throw new WebhookRefused('no such webhook');
    const secret = await this.secrets.reveal(trigger.secretRef, {
      workspaceId: trigger.workspaceId,
      ownerType: 'trigger',
      ownerId: trigger._id,
    });
    if (
      !verifyWebhook(secret, headers.timestamp ?? '', rawBody, headers.signature ?? '', {
        toleranceSeconds: WEBHOOK_TOLERANCE_SECONDS,
      })
    ) {
      throw new WebhookRefused(
        `the signature does not match, or the timestamp is missing or more than ${WEBHOOK_TOLERANCE_SECONDS} s off`,
      );
    }
    if (trigger.status !== 'active') throw invalidField('triggerId', 'this webhook is paused');
    const def = await this.runs.getDefinition(trigger.workflowDefinitionId);
    if (!def) throw invalidField('triggerId', 'the workflow of this webhook is gone');
    return this.runs.start(
      def,
      {
        versionNumber: trigger.versionNumber,
        inputBindings: trigger.inputBindings,
        params: { ...trigger.params, ...params },
      },
      `webhook:${trigger._id}`,
      headers.delivery ? `webhook:${trigger._id}:${headers.delivery}` : undefined,
      { triggerId: trigger._id },
    );
  }

  private requireSchedule(trigger: TriggerDoc): void {
    if (trigger.kind !== 'schedule') throw invalidField('triggerId', `a ${trigger.kind} trigger has no schedule`);
  }

  /** The version a trigger's runs start from must exist now, and its bindings must be in the project. */
  private async checkTemplate(
    def: WorkflowDefinitionDoc,
    versionNumber: number | undefined,
    bindings: InputBinding[],
    params: Record<string, unknown>,
    kind: TriggerDoc['kind'],
  ): Promise<void> {
    if (versionNumber === undefined && !def.publishedVersionNumber) {
      throw invalidField('versionNumber', 'the workflow has no published version: publish one or pin versionNumber');
    }
    const version = await this.runs.version(def._id, versionNumber ?? def.publishedVersionNumber!);
    if (!version) throw invalidField('versionNumber', `the workflow has no version ${versionNumber}`);
    // The params every run gets must fit the version's declared ones; a webhook's body may still bring required ones.
    const { problems } = resolveParams(version.runtimeGraph.params, params);
    const problem = problems.find((p) => kind !== 'webhook' || !p.message.startsWith('required'));
    if (problem) throw invalidField(problem.field, problem.message);
    await this.runs.resolveBindings(bindings, { workspaceId: def.workspaceId, projectId: def.projectId });
  }

  private scheduleOptions(trigger: TriggerDoc) {
    const s = trigger.schedule!;
    const spec: ScheduleSpec = {
      ...(s.cron ? { cronExpressions: [s.cron] } : { intervals: [{ every: `${s.intervalSeconds ?? 60}s` }] }),
      timezone: s.timeZone,
      ...(s.jitterSeconds ? { jitter: `${s.jitterSeconds}s` } : {}),
      ...(s.startAt ? { startAt: s.startAt } : {}),
      ...(s.endAt ? { endAt: s.endAt } : {}),
    };
    const action: ScheduleOptionsAction = {
      type: 'startWorkflow',
      workflowType: triggeredRunWorkflow,
      workflowId: `emboflow-trigger-${trigger._id}`,
      taskQueue: this.config.TASK_QUEUE_PREFIX + this.config.RUN_TASK_QUEUE,
      args: [{ triggerId: trigger._id }],
      staticSummary: `EmboFlow schedule ${trigger._id}${trigger.name ? ` (${trigger.name})` : ''}`,
    };
    // A start missed while the server was down is made up within a minute of it coming back, not later.
    return { spec, action, policies: { overlap: OVERLAP[s.overlap], catchupWindow: '1m' as const } };
  }

  private record(
    actorId: string,
    trigger: TriggerDoc,
    action: 'create' | 'update' | 'delete' | 'pause' | 'resume' | 'trigger' | 'backfill',
    metadata?: Record<string, unknown>,
  ) {
    return this.audit.record({
      actorId,
      workspaceId: trigger.workspaceId,
      projectId: trigger.projectId,
      resourceType: 'trigger',
      resourceId: trigger._id,
      action,
      metadata: { workflowId: trigger.workflowDefinitionId, kind: trigger.kind, ...metadata },
    });
  }
}

/** Temporal refusing a schedule's spec is the caller's bad input (400 on the schedule), anything else is not. */
function scheduleRefusal(err: unknown): unknown {
  const code = (err as { code?: number }).code;
  // gRPC INVALID_ARGUMENT
  if (code === 3) return invalidField('schedule', (err as Error).message);
  return err;
}
