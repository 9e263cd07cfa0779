// Run routes: parse, call, answer. Reads go through RunQueries, actions (with their audit records) through
// RunActions, the live stream through RunEventStream; errors go to the one error middleware.
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import { z } from 'zod';
import { TASK_STATUSES } from '../../src/dag/scheduler';
import { PageQuery } from '../../src/db/pagination';
import { BULK_DRY_RUN_IDS, BULK_RUN_ACTIONS, BULK_RUN_MAX, bulkRunBody } from '../../src/domain/bulk-runs';
import { RUN_STATUSES, StartRunBodySchema } from '../../src/domain/run';
import type { RunStatus, RunTaskDoc } from '../../src/domain/run';
import type { BulkRunActions } from '../../src/services/bulk-runs';
import type { RunActions } from '../../src/services/run-actions';
import { parseStreamCursor, STREAM_CURSOR, STREAM_CURSOR_FORMAT } from '../../src/services/run-events';
import type { EventSink, RunEventStream } from '../../src/services/run-events';
import type { RunQueries } from '../../src/services/run-queries';
import type { RunService } from '../../src/services/runs';
import { authorize } from '../middleware/auth';
import { ANSWERED } from '../registry';
import type { ApiRegistry } from '../registry';

const Id = z.string().min(1).max(64);
const RunParams = z.object({ runId: Id }).strict();
const TaskParams = z.object({ runId: Id, nodeId: Id }).strict();
const ItemKey = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, 'item keys are 1-128 letters, digits, _ or -')
  .describe("A map item's key: its asset id, i<position> for a list element, b<position> for a batch");
const ItemParams = z.object({ runId: Id, nodeId: Id, itemKey: ItemKey }).strict();
const ItemsQuery = z
  .object({
    status: z.enum(TASK_STATUSES).optional(),
    cursor: ItemKey.optional().describe("The previous page's nextCursor"),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();
const IdempotencyKey = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII only');

export interface RunRouteDeps {
  runs: RunService;
  runQueries: RunQueries;
  runActions: RunActions;
  runEvents: RunEventStream;
  bulkRuns: BulkRunActions;
}

/** Server-Sent Events over an Express response; `closed` once the client has gone. */
function sseSink(req: { on(event: 'close', fn: () => void): unknown }, res: Response): EventSink {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  const sink = {
    closed: false,
    send: (id: string, event: string, data: unknown) =>
      void res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    keepAlive: () => void res.write(': keep-alive\n\n'),
  };
  req.on('close', () => {
    sink.closed = true;
  });
  return sink;
}

const idView = <T extends { _id: string }>({ _id, ...rest }: T) => ({ id: _id, ...rest });

/** An item as the API shows it: its own task, named by its key. */
const itemView = (t: RunTaskDoc) => ({
  key: t.itemKey,
  index: t.itemIndex,
  taskId: t.nodeId,
  status: t.status,
  attempt: t.attempt,
  generation: t.generation,
  assetIds: t.assetIds,
  ...(t.itemValue !== undefined ? { value: t.itemValue } : {}),
  cacheHit: t.cacheHit,
  artifactCount: t.outputArtifactIds.length,
  ...(t.durationMs !== undefined ? { durationMs: t.durationMs } : {}),
  ...(t.startedAt ? { startedAt: t.startedAt } : {}),
  ...(t.finishedAt ? { finishedAt: t.finishedAt } : {}),
  ...(t.errorMessage ? { errorMessage: t.errorMessage } : {}),
  attempts: t.attempts,
});

/** Loads a run if the caller may see it (another tenant's reads as 404) and holds at least `min`. */
function runLoader(runs: RunService) {
  return async (auth: Parameters<typeof authorize>[0], runId: string, min: 'viewer' | 'editor') => {
    const run = await runs.get(runId);
    authorize(auth, run, min, 'run');
    return run!;
  };
}

export function registerRunRoutes(api: ApiRegistry, deps: RunRouteDeps) {
  registerRunReadRoutes(api, deps);
  registerRunActionRoutes(api, deps);
  registerArtifactRoutes(api, deps);
}

/** Starting runs and reading them: the history, a run, its tasks, logs and live events. */
function registerRunReadRoutes(api: ApiRegistry, { runs, runQueries, runActions, runEvents }: RunRouteDeps) {
  const loadRun = runLoader(runs);

  api.route(
    {
      method: 'post',
      path: '/v1/workflows/:workflowId/runs',
      creates: { param: 'runId' },
      tag: 'runs',
      summary: 'Start a run of a workflow version (default: the published one)',
      params: z.object({ workflowId: Id }).strict(),
      body: StartRunBodySchema,
      headers: z.object({
        'idempotency-key': IdempotencyKey.optional().describe(
          'Sending the same key again does not start a second run (keys are kept a day)',
        ),
      }),
      status: 202,
    },
    async (req, { params, body, headers }) => {
      const def = await runs.getDefinition(params.workflowId);
      authorize(req.auth, def, 'editor', 'workflow');
      return runActions.start(req.auth.userId, def!, body, headers['idempotency-key']);
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/projects/:projectId/runs',
      tag: 'runs',
      summary: "A project's run history, newest first, filtered by status or workflow",
      params: z.object({ projectId: Id }).strict(),
      query: z
        .object({
          ...PageQuery,
          status: z.enum(RUN_STATUSES as [RunStatus, ...RunStatus[]]).optional(),
          workflowId: z.string().max(64).optional(),
        })
        .strict(),
    },
    async (req, { params, query }) => {
      const scope = await runQueries.projectScope(params.projectId);
      authorize(req.auth, scope, 'viewer', 'project');
      const { limit, cursor, ...filter } = query;
      const page = await runQueries.listRuns(scope!, filter, { limit, cursor });
      return { items: page.items.map((r) => runs.view(r)), nextCursor: page.nextCursor };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/runs/:runId',
      tag: 'runs',
      summary: 'A run with its aggregates and Temporal Web UI link',
      params: RunParams,
    },
    async (req, { params }) => runs.view(await loadRun(req.auth, params.runId, 'viewer')),
  );

  api.route(
    { method: 'get', path: '/v1/runs/:runId/tasks', tag: 'runs', summary: "A run's tasks", params: RunParams },
    async (req, { params }) => {
      const run = await loadRun(req.auth, params.runId, 'viewer');
      return { items: (await runQueries.tasks(run)).map(idView) };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/runs/:runId/tasks/:nodeId/items',
      tag: 'runs',
      summary:
        "A map node's items in key order, optionally of one status, with counts by status; each item's logs are its task's (tasks/<nodeId>.<key>/logs)",
      params: TaskParams,
      query: ItemsQuery,
    },
    async (req, { params, query }) => {
      const run = await loadRun(req.auth, params.runId, 'viewer');
      const page = await runs.listItems(run, params.nodeId, query);
      return { ...page, items: page.items.map(itemView) };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/runs/:runId/tasks/:nodeId/logs',
      tag: 'runs',
      summary: "A task's log: the stored tail, or the full log from object storage with ?full=true",
      params: TaskParams,
      query: z.object({ full: z.enum(['true', 'false']).default('false') }).strict(),
    },
    async (req, { params, query }, res) => {
      const run = await loadRun(req.auth, params.runId, 'viewer');
      if (query.full === 'true') {
        const body = await runQueries.fullLog(run, params.nodeId);
        res.status(200).type('text/plain; charset=utf-8');
        await pipeline(body, res);
        return ANSWERED;
      }
      const task = await runQueries.task(run, params.nodeId);
      return {
        nodeId: task.nodeId,
        attempt: task.attempt,
        lines: task.logLines,
        stdoutLines: task.stdoutLines,
        stderrLines: task.stderrLines,
      };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/runs/:runId/events',
      tag: 'runs',
      summary: 'Server-Sent Events while the run executes: task (status changes), log (lines), run, then end',
      params: RunParams,
      query: z.object({ pollMs: z.coerce.number().int().min(100).max(5000).default(400) }).strict(),
      headers: z.object({
        'last-event-id': z
          .string()
          .regex(STREAM_CURSOR, `Last-Event-ID: not an id this stream sent (${STREAM_CURSOR_FORMAT})`)
          .optional()
          .describe('Resume after this event id'),
      }),
    },
    async (req, { params, query, headers }, res) => {
      const run = await loadRun(req.auth, params.runId, 'viewer');
      const lastEventId = headers['last-event-id'];
      const resume = lastEventId === undefined ? undefined : parseStreamCursor(lastEventId);
      await runEvents.stream(run, sseSink(req, res), query.pollMs, resume);
      res.end();
      return ANSWERED;
    },
  );
}

/** Acting on a run: cancel, retry, retry a task, decide an approval. */
function registerRunActionRoutes(api: ApiRegistry, { runs, runActions, runQueries, bulkRuns }: RunRouteDeps) {
  const loadRun = runLoader(runs);

  for (const action of ['cancel', 'retry'] as const) {
    api.route(
      {
        method: 'post',
        path: `/v1/projects/:projectId/runs/bulk-${action}`,
        tag: 'runs',
        summary:
          action === 'cancel'
            ? `Cancel the project's unfinished runs a filter selects (${BULK_RUN_ACTIONS.cancel.join(', ')}), at most ${BULK_RUN_MAX} per call, oldest first; dryRun counts them and lists the first ${BULK_DRY_RUN_IDS} ids, changing nothing. Each run is cancelled and audited as by POST /v1/runs/{runId}/cancel (editor)`
            : `Retry the project's runs a filter selects (${BULK_RUN_ACTIONS.retry.join(', ')}), at most ${BULK_RUN_MAX} per call, oldest first: each gets a new run, as by POST /v1/runs/{runId}/retry (editor); a run retried before is skipped. dryRun counts them and lists the first ${BULK_DRY_RUN_IDS} ids, changing nothing`,
        params: z.object({ projectId: Id }).strict(),
        body: bulkRunBody(action),
      },
      async (req, { params, body }) => {
        const scope = await runQueries.projectScope(params.projectId);
        authorize(req.auth, scope, 'editor', 'project');
        return bulkRuns.run(req.auth.userId, scope!, action, body);
      },
    );
  }

  api.route(
    {
      method: 'post',
      path: '/v1/runs/:runId/cancel',
      tag: 'runs',
      summary: 'Cancel a run: stops its containers',
      params: RunParams,
      status: 202,
    },
    async (req, { params }) => runActions.cancel(req.auth.userId, await loadRun(req.auth, params.runId, 'editor')),
  );

  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    api.route(
      {
        method: 'post',
        path: `/v1/runs/:runId/${action}`,
        tag: 'runs',
        summary: paused
          ? 'Pause a running run: no node starts until it is resumed; running nodes finish (durable across restarts)'
          : 'Resume a paused run',
        params: RunParams,
      },
      async (req, { params }) =>
        runActions.pause(req.auth.userId, await loadRun(req.auth, params.runId, 'editor'), paused),
    );
  }

  api.route(
    {
      method: 'post',
      path: '/v1/runs/:runId/retry',
      creates: { param: 'runId' },
      tag: 'runs',
      summary: 'Retry a finished run: a new run of the same version and inputs, pointing at this one',
      params: RunParams,
      status: 202,
    },
    async (req, { params }) => runActions.retryRun(req.auth.userId, await loadRun(req.auth, params.runId, 'editor')),
  );

  api.route(
    {
      method: 'post',
      path: '/v1/runs/:runId/tasks/:nodeId/retry',
      tag: 'runs',
      summary: 'Retry a finished task and its downstream subtree on the same run; other tasks keep their results',
      params: TaskParams,
      status: 202,
    },
    async (req, { params }) =>
      runActions.retryTask(req.auth.userId, await loadRun(req.auth, params.runId, 'editor'), params.nodeId),
  );

  api.route(
    {
      method: 'post',
      path: '/v1/runs/:runId/retry-failed',
      tag: 'runs',
      summary:
        'Retry every failed task of the run and their downstream subtrees, in one reset on the same run; other tasks keep their results',
      params: RunParams,
      status: 202,
    },
    async (req, { params }) => runActions.retryFailed(req.auth.userId, await loadRun(req.auth, params.runId, 'editor')),
  );

  api.route(
    {
      method: 'post',
      path: '/v1/runs/:runId/tasks/:nodeId/items/:itemKey/retry',
      tag: 'runs',
      summary:
        'Retry one item of a finished map node on the same run (a new container for that item only), then the downstream subtree',
      params: ItemParams,
      status: 202,
    },
    async (req, { params }) =>
      runActions.retryTask(req.auth.userId, await loadRun(req.auth, params.runId, 'editor'), params.nodeId, [
        params.itemKey,
      ]),
  );

  api.route(
    {
      method: 'post',
      path: '/v1/runs/:runId/tasks/:nodeId/items/retry',
      tag: 'runs',
      summary:
        'Retry every item of a finished map node that did not succeed, on the same run; succeeded items keep their outputs',
      params: TaskParams,
      status: 202,
    },
    async (req, { params }) => {
      const run = await loadRun(req.auth, params.runId, 'editor');
      runs.mapNodeOf(run, params.nodeId);
      return runActions.retryTask(req.auth.userId, run, params.nodeId);
    },
  );

  api.route(
    {
      method: 'post',
      path: '/v1/runs/:runId/tasks/:nodeId/approve',
      tag: 'runs',
      summary: 'Decide a waiting approval node: approve or reject, with a comment',
      params: TaskParams,
      body: z.object({ approved: z.boolean(), comment: z.string().max(2000).optional() }).strict(),
    },
    async (req, { params, body }) =>
      runActions.approve(req.auth.userId, await loadRun(req.auth, params.runId, 'editor'), params.nodeId, body),
  );
}

/** Artifacts: a run's, by producer, and their content. */
function registerArtifactRoutes(api: ApiRegistry, { runs, runQueries }: RunRouteDeps) {
  const loadRun = runLoader(runs);

  api.route(
    {
      method: 'get',
      path: '/v1/runs/:runId/artifacts',
      tag: 'artifacts',
      summary: "Artifacts produced by a run's tasks, optionally one node's",
      params: RunParams,
      query: z.object({ nodeId: z.string().max(64).optional() }).strict(),
    },
    async (req, { params, query }) => {
      const run = await loadRun(req.auth, params.runId, 'viewer');
      return { items: (await runQueries.artifacts(run, query.nodeId)).map(idView) };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/artifacts',
      tag: 'artifacts',
      summary: 'Artifacts by producer',
      query: z.object({ producerType: z.literal('run_task'), producerId: z.string().min(1).max(200) }).strict(),
    },
    async (req, { query }) => {
      const items = await runQueries.artifactsByProducer(query.producerType, query.producerId, req.auth.workspaceIds());
      return { items: items.filter((a) => req.auth.roleFor(a.workspaceId, a.projectId)).map(idView) };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/artifacts/:artifactId/content',
      tag: 'artifacts',
      summary: "An artifact's bytes, streamed; or a presigned URL with ?presign=true",
      params: z.object({ artifactId: Id }).strict(),
      query: z.object({ presign: z.enum(['true', 'false']).default('false') }).strict(),
    },
    async (req, { params, query }, res) => {
      const artifact = await runQueries.artifact(params.artifactId);
      authorize(req.auth, artifact, 'viewer', 'artifact');
      if (query.presign === 'true') return { url: await runQueries.presignArtifact(artifact!), expiresInSeconds: 900 };
      const body = await runQueries.artifactContent(artifact!);
      res.status(200).setHeader('Content-Type', artifact!.storageRef.contentType);
      res.setHeader('X-Checksum', artifact!.storageRef.checksum);
      await pipeline(body, res);
      return ANSWERED;
    },
  );
}
