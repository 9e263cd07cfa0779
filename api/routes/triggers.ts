// Trigger routes: schedules, event triggers and webhooks of a workflow, their control (pause, resume, run now,
// backfill), and the public, signed webhook endpoint.
import type { Request } from 'express';
import { z } from 'zod';
import { PageQuery } from '../../src/db/pagination';
import { IdSchema } from '../../src/domain/common';
import { StartRunBodySchema } from '../../src/domain/run';
import {
  BackfillBody,
  CreateTriggerBody,
  OVERLAP_POLICIES,
  TRIGGER_KINDS,
  UpdateTriggerBody,
} from '../../src/domain/triggers';
import type { TriggerDoc } from '../../src/domain/triggers';
import type { AuthContext, Role } from '../../src/services/auth';
import type { RunService } from '../../src/services/runs';
import type { TriggerService } from '../../src/services/triggers';
import { authorize } from '../middleware/auth';
import { rawJsonBody } from '../middleware/body';
import type { ApiRegistry } from '../registry';

export interface TriggerRouteDeps {
  runs: RunService;
  triggers: TriggerService;
}

const TriggerParams = z.object({ triggerId: IdSchema }).strict();

export function registerTriggerRoutes(api: ApiRegistry, { runs, triggers }: TriggerRouteDeps): void {
  const loadTrigger = async (auth: AuthContext, triggerId: string, min: Role): Promise<TriggerDoc> => {
    const trigger = await triggers.get(triggerId);
    authorize(auth, trigger, min, 'trigger');
    return trigger!;
  };

  api.route(
    {
      method: 'post',
      path: '/v1/workflows/:workflowId/triggers',
      creates: { param: 'triggerId' },
      tag: 'triggers',
      summary:
        'Create a schedule, an event trigger or a webhook for a workflow (editor); a webhook answers its signing secret here, once',
      params: z.object({ workflowId: IdSchema }).strict(),
      body: CreateTriggerBody,
      status: 201,
    },
    async (req, { params, body }) => {
      const def = await runs.getDefinition(params.workflowId);
      authorize(req.auth, def, 'editor', 'workflow');
      return triggers.create(def!, body, req.auth.userId);
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/workflows/:workflowId/triggers',
      tag: 'triggers',
      summary: "A workflow's triggers, newest first",
      params: z.object({ workflowId: IdSchema }).strict(),
      query: z.object({ ...PageQuery, kind: z.enum(TRIGGER_KINDS).optional() }).strict(),
    },
    async (req, { params, query }) => {
      const def = await runs.getDefinition(params.workflowId);
      authorize(req.auth, def, 'viewer', 'workflow');
      const page = await triggers.list(def!, query.kind, { limit: query.limit, cursor: query.cursor });
      return { items: await Promise.all(page.items.map((t) => triggers.view(t))), nextCursor: page.nextCursor };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/triggers/:triggerId',
      tag: 'triggers',
      summary: "A trigger; a schedule with Temporal's state: paused, next run times, recent runs",
      params: TriggerParams,
    },
    async (req, { params }) => triggers.view(await loadTrigger(req.auth, params.triggerId, 'viewer')),
  );

  api.route(
    {
      method: 'patch',
      path: '/v1/triggers/:triggerId',
      tag: 'triggers',
      summary: "Change a trigger's schedule, event, version, bindings, params or name (editor)",
      params: TriggerParams,
      body: UpdateTriggerBody,
    },
    async (req, { params, body }) =>
      triggers.update(await loadTrigger(req.auth, params.triggerId, 'editor'), body, req.auth.userId),
  );

  api.route(
    {
      method: 'delete',
      path: '/v1/triggers/:triggerId',
      tag: 'triggers',
      summary: 'Delete a trigger (editor); a schedule is deleted in Temporal too, its running runs go on',
      params: TriggerParams,
      status: 204,
    },
    async (req, { params }) => {
      await triggers.delete(await loadTrigger(req.auth, params.triggerId, 'editor'), req.auth.userId);
      return undefined;
    },
  );

  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    api.route(
      {
        method: 'post',
        path: `/v1/triggers/:triggerId/${action}`,
        tag: 'triggers',
        summary: paused
          ? 'Pause a trigger (editor): no run starts from it until it is resumed'
          : 'Resume a paused trigger (editor)',
        params: TriggerParams,
      },
      async (req, { params }) =>
        triggers.setPaused(await loadTrigger(req.auth, params.triggerId, 'editor'), paused, req.auth.userId),
    );
  }

  api.route(
    {
      method: 'post',
      path: '/v1/triggers/:triggerId/run-now',
      tag: 'triggers',
      summary: "Schedules: start a run now, under the schedule's overlap policy or the one given (editor)",
      params: TriggerParams,
      body: z.object({ overlap: z.enum(OVERLAP_POLICIES).optional() }).strict(),
      status: 202,
    },
    async (req, { params, body }) =>
      triggers.triggerNow(await loadTrigger(req.auth, params.triggerId, 'editor'), body.overlap, req.auth.userId),
  );

  api.route(
    {
      method: 'post',
      path: '/v1/triggers/:triggerId/backfill',
      tag: 'triggers',
      summary: 'Schedules: start the runs the schedule would have started between start and end (editor)',
      params: TriggerParams,
      body: BackfillBody,
      status: 202,
    },
    async (req, { params, body }) =>
      triggers.backfill(await loadTrigger(req.auth, params.triggerId, 'editor'), body, req.auth.userId),
  );

  api.route(
    {
      method: 'post',
      path: '/v1/hooks/:triggerId',
      public: true,
      tag: 'triggers',
      summary:
        'A webhook delivery: signed with the hook\'s secret (X-Emboflow-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">), no older than 5 minutes; the JSON body becomes the run\'s params. 401 when the signature or timestamp is off',
      params: TriggerParams,
      body: StartRunBodySchema.shape.params,
      headers: z.object({
        'x-emboflow-timestamp': z.string().max(20).optional().describe('Seconds since the epoch'),
        'x-emboflow-signature': z.string().max(200).optional().describe('sha256=<hex>'),
        'x-emboflow-delivery': z
          .string()
          .min(1)
          .max(200)
          .regex(/^[\x21-\x7e]+$/, 'printable ASCII only')
          .optional()
          .describe('A delivery id: the same id again starts no second run (ids are kept a day)'),
      }),
      status: 202,
    },
    async (req, { params, body, headers }) => {
      const run = await triggers.deliver(
        params.triggerId,
        {
          timestamp: headers['x-emboflow-timestamp'],
          signature: headers['x-emboflow-signature'],
          delivery: headers['x-emboflow-delivery'],
        },
        rawJsonBody(req as Request),
        body,
      );
      return { runId: run.id, status: run.status, temporalUiUrl: run.temporalUiUrl };
    },
  );
}
