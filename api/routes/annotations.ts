import { z } from 'zod';
import {
  ANNOTATION_TARGET_TYPES,
  ANNOTATION_TASK_STATUSES,
  CreateAnnotationBody,
  CreateAnnotationTaskBody,
} from '../../src/domain/annotations';
import { IdSchema } from '../../src/domain/common';
import { roleAtLeast } from '../../src/services/auth';
import { pageView, toView } from '../../src/services/common';
import type { PlatformServices } from '../../src/services/platform';
import { forbidden } from '../errors';
import { gate, idParams, listQuery, page } from './platform-registry';
import type { PlatformRoutes } from './platform-registry';
import { loadProject, projectScope } from './projects';

export function registerAnnotationRoutes(api: PlatformRoutes, { projects, annotations }: PlatformServices): void {
  api.route(
    {
      method: 'post',
      path: '/v1/projects/:projectId/annotation-tasks',
      creates: { param: 'taskId' },
      tag: 'annotations',
      summary: 'Create an annotation task on an object of the project (editor)',
      params: idParams('projectId'),
      body: CreateAnnotationTaskBody,
      status: 201,
    },
    async (req, { params, body }) => {
      const project = await loadProject(projects, req.auth, params.projectId, 'editor');
      return toView(await annotations.createTask(projectScope(project), body, req.auth.userId));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/projects/:projectId/annotation-tasks',
      tag: 'annotations',
      summary:
        "A project's annotation tasks, filtered by status, target type, assignee or linked approval (runId, nodeId)",
      params: idParams('projectId'),
      query: listQuery({
        status: z.enum(ANNOTATION_TASK_STATUSES).optional(),
        targetType: z.enum(ANNOTATION_TARGET_TYPES).optional(),
        assigneeId: IdSchema.optional(),
        runId: IdSchema.optional(),
        nodeId: IdSchema.optional(),
      }),
    },
    async (req, { params, query }) => {
      const project = await loadProject(projects, req.auth, params.projectId, 'viewer');
      return pageView(await annotations.listTasks(projectScope(project), query, page(query)));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/annotation-tasks/:taskId',
      tag: 'annotations',
      summary: 'An annotation task',
      params: idParams('taskId'),
    },
    async (req, { params }) =>
      toView(gate(req.auth, await annotations.getTask(params.taskId), 'viewer', 'annotation task')),
  );

  api.route(
    {
      method: 'post',
      path: '/v1/annotation-tasks/:taskId/annotations',
      tag: 'annotations',
      summary: "Submit an annotation (editors, and the task's assignees and reviewers)",
      params: idParams('taskId'),
      body: CreateAnnotationBody,
      status: 201,
    },
    async (req, { params, body }) => {
      const task = gate(req.auth, await annotations.getTask(params.taskId), 'viewer', 'annotation task');
      const assigned = task.assigneeIds.includes(req.auth.userId) || task.reviewerIds.includes(req.auth.userId);
      if (!assigned && !roleAtLeast(req.auth.roleFor(task.workspaceId, task.projectId), 'editor')) {
        throw forbidden('annotating needs the editor role, or being assigned to the task');
      }
      return toView(await annotations.createAnnotation(task, body, req.auth.userId));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/annotation-tasks/:taskId/annotations',
      tag: 'annotations',
      summary: "A task's annotations, newest first",
      params: idParams('taskId'),
      query: listQuery({}),
    },
    async (req, { params, query }) => {
      const task = gate(req.auth, await annotations.getTask(params.taskId), 'viewer', 'annotation task');
      return pageView(await annotations.listAnnotations(task, page(query)));
    },
  );
}
