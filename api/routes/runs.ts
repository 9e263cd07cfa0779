import { z } from 'zod';
import { PageQuery, paginate } from '../../src/db/pagination';
import { RUN_STATUSES, StartRunBodySchema } from '../../src/domain/run';
import type { ObjectStore } from '../../src/storage/object-store';
import type { RunService } from '../../src/services/runs';
import type { Db } from 'mongodb';
import { badRequest, notFound } from '../errors';
import { authorize } from '../middleware/auth';
import { ANSWERED, type ApiRegistry } from '../registry';
import { pipeline } from 'node:stream/promises';

const RunParams = z.object({ runId: z.string().min(1).max(64) }).strict();
const TaskParams = z.object({ runId: z.string().min(1).max(64), nodeId: z.string().min(1).max(64) }).strict();
const IdempotencyKey = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII only');

export function registerRunRoutes(api: ApiRegistry, deps: { runs: RunService; db: Db; store: ObjectStore }) {
  const { runs, db, store } = deps;

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
      return runs.start(def!, body, req.auth.userId, key);
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
      const project = await db.collection<{ _id: string; workspaceId: string }>('projects').findOne({ _id: params.projectId });
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
      const tasks = await runs.store.listTasks(run._id);
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
    { method: 'post', path: '/v1/runs/:runId/cancel', tag: 'runs', summary: 'Cancel a run: stops its containers', params: RunParams, status: 202 },
    async (req, { params }) => {
      const run = await loadRun(req, params.runId, 'editor');
      await runs.cancel(run);
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
    async (req, { params }) => runs.retryRun(await loadRun(req, params.runId, 'editor'), req.auth.userId),
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
    async (req, { params }) => runs.retryTask(await loadRun(req, params.runId, 'editor'), params.nodeId),
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
      const tasks = await runs.store.tasks
        .find({ workflowRunId: run._id, ...(query.nodeId ? { nodeId: query.nodeId } : {}) }, { projection: { outputArtifactIds: 1 } })
        .toArray();
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
