import type { Metrics } from '../../src/metrics';
import { AuditLog } from '../../src/services/audit';
import type { AuditAction } from '../../src/domain/audit';
import { z } from 'zod';
import { AnnotationTaskRepository } from '../../src/db/annotations';
import { ExecutionLogRepository } from '../../src/db/execution-logs';
import { ProjectRepository } from '../../src/db/identity';
import { PageQuery, paginate } from '../../src/db/pagination';
import { RUN_STATUSES, runTaskId, StartRunBodySchema, TERMINAL_RUN_STATUSES } from '../../src/domain/run';
import type { Request, Response } from 'express';
import type { ObjectStore } from '../../src/storage/object-store';
import type { RunService } from '../../src/services/runs';
import type { Db } from 'mongodb';
import { badRequest, notFound } from '../errors';
import { authorize } from '../middleware/auth';
import { ANSWERED, type ApiRegistry } from '../registry';
import { pipeline } from 'node:stream/promises';

const RunParams = z.object({ runId: z.string().min(1).max(64) }).strict();
/** An event stream closes after this long even if the run has not finished; clients reconnect. */
const SSE_MAX_MS = 60 * 60_000;
const LOG_WINDOW_MS = 5_000;
const TaskParams = z.object({ runId: z.string().min(1).max(64), nodeId: z.string().min(1).max(64) }).strict();
const IdempotencyKey = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII only');

export function registerRunRoutes(api: ApiRegistry, deps: { runs: RunService; db: Db; store: ObjectStore; metrics: Metrics }) {
  const { runs, db, store } = deps;
  const audit = new AuditLog(db);
  const projects = new ProjectRepository(db);
  const executionLogs = new ExecutionLogRepository(db);
  const annotationTasks = new AnnotationTaskRepository(db);
  const record = (req: { auth: { userId: string } }, run: { _id: string; workspaceId: string; projectId: string }, action: AuditAction, resourceType: 'run' | 'run_task', resourceId: string, metadata?: Record<string, unknown>) =>
    audit.record({ actorId: req.auth.userId, workspaceId: run.workspaceId, projectId: run.projectId, resourceType, resourceId, action, metadata });

  const loadRun = async (req: Parameters<Parameters<ApiRegistry['route']>[1]>[0], runId: string, min: 'viewer' | 'editor') => {
    const run = await runs.get(runId);
    authorize(req.auth, run, min, 'run');
    return run!;
  };

  api.route(
    {
      method: 'post',
      path: '/v1/workflows/:workflowId/runs',
      tag: 'runs',
      summary: 'Start a run of a workflow version (default: the published one)',
      params: z.object({ workflowId: z.string().min(1).max(64) }).strict(),
      body: StartRunBodySchema,
      status: 202,
    },
    async (req, { params, body }) => {
      const def = await runs.getDefinition(params.workflowId);
      authorize(req.auth, def, 'editor', 'workflow');
      const key = req.header('idempotency-key');
      if (key !== undefined && !IdempotencyKey.safeParse(key).success) {
        throw badRequest('Idempotency-Key: 1-200 printable ASCII characters', { field: 'Idempotency-Key' });
      }
      const run = await runs.start(def!, body, req.auth.userId, key);
      deps.metrics.runsStarted.inc();
      await record(req, { _id: run.id, workspaceId: run.workspaceId, projectId: run.projectId }, 'start', 'run', run.id, {
        workflowId: def!._id,
        versionNumber: run.versionNumber,
      });
      return run;
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/projects/:projectId/runs',
      tag: 'runs',
      summary: "A project's run history, newest first, filtered by status or workflow",
      params: z.object({ projectId: z.string().min(1).max(64) }).strict(),
      query: z
        .object({ ...PageQuery, status: z.enum(RUN_STATUSES as [string, ...string[]]).optional(), workflowId: z.string().max(64).optional() })
        .strict(),
    },
    async (req, { params, query }) => {
      const project = await projects.get(params.projectId);
      authorize(req.auth, project && { workspaceId: project.workspaceId, projectId: project._id }, 'viewer', 'project');
      const filter: Record<string, unknown> = { projectId: params.projectId, workspaceId: project!.workspaceId };
      if (query.status) filter.status = query.status;
      if (query.workflowId) filter.workflowDefinitionId = query.workflowId;
      const page = await paginate(runs.store.runs, filter, {
        limit: query.limit,
        cursor: query.cursor,
        projection: { runtimeSnapshot: 0 },
      });
      return { items: page.items.map((r) => runs.view(r)), nextCursor: page.nextCursor };
    },
  );

  api.route(
    { method: 'get', path: '/v1/runs/:runId', tag: 'runs', summary: 'A run with its aggregates and Temporal Web UI link', params: RunParams },
    async (req, { params }) => runs.view(await loadRun(req, params.runId, 'viewer')),
  );

  api.route(
    { method: 'get', path: '/v1/runs/:runId/tasks', tag: 'runs', summary: "A run's tasks", params: RunParams },
    async (req, { params }) => {
      const run = await loadRun(req, params.runId, 'viewer');
      const order = new Map(run.runtimeSnapshot.nodes.map((n, i) => [n.id, i]));
      const tasks = await runs.store.listTasks(run._id, [...order.keys()]);
      tasks.sort((a, b) => (order.get(a.nodeId) ?? 0) - (order.get(b.nodeId) ?? 0));
      return { items: tasks.map(({ _id, ...t }) => ({ id: _id, ...t })) };
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
      const run = await loadRun(req, params.runId, 'viewer');
      const task = await runs.store.getTask(run._id, params.nodeId);
      if (!task) throw notFound('task');
      if (query.full === 'true') {
        if (!task.logRef) throw notFound('full log');
        const { body } = await store.getStream(task.logRef.key);
        res.status(200).type('text/plain; charset=utf-8');
        await pipeline(body, res);
        return ANSWERED;
      }
      return { nodeId: task.nodeId, attempt: task.attempt, lines: task.logLines, stdoutLines: task.stdoutLines, stderrLines: task.stderrLines };
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
    },
    async (req, { params, query }, res) => {
      const run = await loadRun(req, params.runId, 'viewer');
      const lastEventId = req.header('last-event-id');
      let resume: StreamCursor | undefined;
      if (lastEventId !== undefined) {
        const m = /^(\d{1,15})\.(\d{1,15})$/.exec(lastEventId);
        if (!m) throw badRequest('Last-Event-ID: not an id this stream sent (<taskMs>.<logMs>)', { field: 'Last-Event-ID' });
        resume = { tasksMs: Number(m[1]), logsMs: Number(m[2]) };
      }
      await streamRunEvents(run, req, res, query.pollMs, resume);
      return ANSWERED;
    },
  );

  /**
   * Where a stream is: the newest task change and the newest log line it has sent (mirror times, ms). Every event's
   * id carries it, so a client that reconnects with Last-Event-ID gets only what changed after it: tasks updated
   * and lines written at or after those times (a change in that very millisecond may come twice, never not at all).
   */
  interface StreamCursor {
    tasksMs: number;
    logsMs: number;
  }

  /** Polls the mirror (no change streams: they are not portable) and sends what changed since the last poll. */
  async function streamRunEvents(
    run: { _id: string; runtimeSnapshot: { nodes: Array<{ id: string }> } },
    req: Request,
    res: Response,
    pollMs: number,
    resume?: StreamCursor,
  ) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    let closed = false;
    req.on('close', () => {
      closed = true;
    });
    let tasksCursor = resume?.tasksMs ?? 0;
    let logCursor = resume?.logsMs ?? 0;
    const send = (event: string, data: unknown) => res.write(`id: ${tasksCursor}.${logCursor}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const nodeIds = run.runtimeSnapshot.nodes.map((n) => n.id);
    const order = new Map(nodeIds.map((id, i) => [id, i]));
    const taskSeen = new Map<string, string>();
    const logSeen = new Map<string, number>();
    let runStatus = '';
    let lastWrite = Date.now();
    const deadline = Date.now() + SSE_MAX_MS;
    while (!closed && Date.now() < deadline) {
      // Lines first: a task's last lines go out before the status that ends it.
      // Lines from several workers arrive slightly out of time order: re-read a short window, skip what was sent.
      const lines = await executionLogs.readWindow(run._id, new Date(logCursor - LOG_WINDOW_MS), 2000);
      for (const l of lines) {
        if (logSeen.has(l._id)) continue;
        logSeen.set(l._id, l.createdAt.getTime());
        if (resume && l.createdAt.getTime() < resume.logsMs) continue;
        logCursor = Math.max(logCursor, l.createdAt.getTime());
        send('log', { nodeId: l.nodeId, attempt: l.attempt, stream: l.stream, line: l.line, at: l.createdAt });
      }
      for (const [id, at] of logSeen) if (at < logCursor - 2 * LOG_WINDOW_MS) logSeen.delete(id);
      const tasks = await runs.store.listTasks(run._id, nodeIds, { nodeId: 1, status: 1, attempt: 1, generation: 1, errorMessage: 1, updatedAt: 1, startedAt: 1, finishedAt: 1, durationMs: 1 });
      tasks.sort((a, b) => (order.get(a.nodeId) ?? 0) - (order.get(b.nodeId) ?? 0));
      for (const t of tasks) {
        const key = `${t.status}|${t.attempt}|${t.generation}`;
        if (taskSeen.get(t.nodeId) === key) continue;
        taskSeen.set(t.nodeId, key);
        const updatedMs = t.updatedAt?.getTime() ?? 0;
        if (resume && updatedMs < resume.tasksMs) continue;
        tasksCursor = Math.max(tasksCursor, updatedMs);
        send('task', {
          nodeId: t.nodeId,
          status: t.status,
          attempt: t.attempt,
          generation: t.generation,
          ...(t.errorMessage ? { errorMessage: t.errorMessage } : {}),
          ...(t.startedAt ? { startedAt: t.startedAt } : {}),
          ...(t.finishedAt ? { finishedAt: t.finishedAt, durationMs: t.durationMs } : {}),
          at: t.updatedAt,
        });
      }
      const current = (await runs.store.runs.findOne({ _id: run._id }, { projection: { status: 1, summary: 1 } }))!;
      if (current.status !== runStatus) {
        runStatus = current.status;
        send('run', { status: runStatus });
      }
      if (TERMINAL_RUN_STATUSES.includes(current.status)) {
        send('end', { status: current.status, summary: current.summary });
        break;
      }
      if (Date.now() - lastWrite > 15_000) {
        res.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
    res.end();
  }

  api.route(
    { method: 'post', path: '/v1/runs/:runId/cancel', tag: 'runs', summary: 'Cancel a run: stops its containers', params: RunParams, status: 202 },
    async (req, { params }) => {
      const run = await loadRun(req, params.runId, 'editor');
      await runs.cancel(run);
      await record(req, run, 'cancel', 'run', run._id);
      return { id: run._id, status: 'cancelling' };
    },
  );

  api.route(
    {
      method: 'post',
      path: '/v1/runs/:runId/retry',
      tag: 'runs',
      summary: 'Retry a finished run: a new run of the same version and inputs, pointing at this one',
      params: RunParams,
      status: 202,
    },
    async (req, { params }) => {
      const run = await loadRun(req, params.runId, 'editor');
      const retried = await runs.retryRun(run, req.auth.userId);
      await record(req, run, 'retry', 'run', run._id, { newRunId: retried.id });
      return retried;
    },
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
    async (req, { params }) => {
      const run = await loadRun(req, params.runId, 'editor');
      const result = await runs.retryTask(run, params.nodeId);
      await record(req, run, 'retry', 'run_task', runTaskId(run._id, params.nodeId), { resetNodeIds: result.resetNodeIds });
      return result;
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
    async (req, { params, body }) => {
      const run = await loadRun(req, params.runId, 'editor');
      await runs.approve(run, params.nodeId, body, req.auth.userId);
      await record(req, run, body.approved ? 'approve' : 'reject', 'run_task', `${run._id}.${params.nodeId}`, {
        nodeId: params.nodeId,
        comment: body.comment ?? null,
      });
      const linked = await annotationTasks.idsLinkedToApproval(run.workspaceId, run._id, params.nodeId);
      return { runId: run._id, nodeId: params.nodeId, approved: body.approved, decidedBy: req.auth.userId, annotationTaskIds: linked };
    },
  );

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
      const run = await loadRun(req, params.runId, 'viewer');
      // Through the tasks: a cache hit's artifacts were produced by an earlier run.
      const nodeIds = run.runtimeSnapshot.nodes.map((n) => n.id).filter((id) => !query.nodeId || id === query.nodeId);
      const tasks = nodeIds.length ? await runs.store.listTasks(run._id, nodeIds, { outputArtifactIds: 1 }) : [];
      const ids = tasks.flatMap((t) => t.outputArtifactIds ?? []);
      const items = ids.length
        ? await runs.store.artifacts.find({ _id: { $in: ids }, workspaceId: run.workspaceId }).sort({ nodeId: 1, path: 1 }).toArray()
        : [];
      return { items: items.map(({ _id, ...a }) => ({ id: _id, ...a })) };
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
      const items = await runs.store.artifacts
        .find({ producerType: query.producerType, producerId: query.producerId, workspaceId: { $in: req.auth.workspaceIds() } })
        .toArray();
      const visible = items.filter((a) => req.auth.roleFor(a.workspaceId, a.projectId));
      return { items: visible.map(({ _id, ...a }) => ({ id: _id, ...a })) };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/artifacts/:artifactId/content',
      tag: 'artifacts',
      summary: "An artifact's bytes, streamed; or a presigned URL with ?presign=true",
      params: z.object({ artifactId: z.string().min(1).max(64) }).strict(),
      query: z.object({ presign: z.enum(['true', 'false']).default('false') }).strict(),
    },
    async (req, { params, query }, res) => {
      const artifact = await runs.store.artifacts.findOne({ _id: params.artifactId });
      authorize(req.auth, artifact, 'viewer', 'artifact');
      if (query.presign === 'true') return { url: await store.presignGet(artifact!.storageRef.key), expiresInSeconds: 900 };
      const { body } = await store.getStream(artifact!.storageRef.key);
      res.status(200).setHeader('Content-Type', artifact!.storageRef.contentType);
      res.setHeader('X-Checksum', artifact!.storageRef.checksum);
      await pipeline(body, res);
      return ANSWERED;
    },
  );
}
