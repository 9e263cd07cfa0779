import type { ProjectDoc } from '../../src/domain/identity';
import { CreateProjectBody, UpdateProjectBody } from '../../src/domain/identity';
import type { AuthContext, Role } from '../../src/services/auth';
import { pageView, toView } from '../../src/services/common';
import type { PlatformServices } from '../../src/services/platform';
import type { ProjectService } from '../../src/services/projects';
import { notFound } from '../errors';
import { gate, idParams, listQuery, page } from './platform-registry';
import type { PlatformRoutes } from './platform-registry';

/** The tenancy scope of everything inside a project. */
export function projectScope(project: ProjectDoc): { workspaceId: string; projectId: string } {
  return { workspaceId: project.workspaceId, projectId: project._id };
}

/** Loads a project and gates the caller on it (workspace role, or a role on this project). */
export async function loadProject(
  projects: ProjectService,
  auth: AuthContext,
  projectId: string,
  min: Role,
): Promise<ProjectDoc> {
  const project = await projects.get(projectId);
  gate(auth, project && projectScope(project), min, 'project');
  return project!;
}

export function registerProjectRoutes(api: PlatformRoutes, { projects }: PlatformServices): void {
  api.route(
    {
      method: 'post',
      path: '/v1/workspaces/:workspaceId/projects',
      creates: { param: 'projectId' },
      tag: 'projects',
      summary: 'Create a project (workspace admin)',
      params: idParams('workspaceId'),
      body: CreateProjectBody,
      status: 201,
    },
    async (req, { params, body }) => {
      gate(req.auth, { workspaceId: params.workspaceId }, 'admin', 'workspace');
      return toView(await projects.create(params.workspaceId, body, req.auth.userId));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/workspaces/:workspaceId/projects',
      tag: 'projects',
      summary: "A workspace's projects: all of them for workspace members, their own for project members",
      params: idParams('workspaceId'),
      query: listQuery({}),
    },
    async (req, { params, query }) => {
      const own = req.auth.memberships
        .filter((m) => m.workspaceId === params.workspaceId && m.projectId)
        .map((m) => m.projectId!);
      const wholeWorkspace = req.auth.roleFor(params.workspaceId) !== undefined;
      if (!wholeWorkspace && !own.length) throw notFound('workspace');
      return pageView(await projects.list(params.workspaceId, wholeWorkspace ? undefined : own, page(query)));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/v1/projects/:projectId',
      tag: 'projects',
      summary: 'A project',
      params: idParams('projectId'),
    },
    async (req, { params }) => toView(await loadProject(projects, req.auth, params.projectId, 'viewer')),
  );

  api.route(
    {
      method: 'patch',
      path: '/v1/projects/:projectId',
      tag: 'projects',
      summary: 'Rename a project or change its description (admin)',
      params: idParams('projectId'),
      body: UpdateProjectBody,
    },
    async (req, { params, body }) => {
      const project = await loadProject(projects, req.auth, params.projectId, 'admin');
      return toView(await projects.update(project, body, req.auth.userId));
    },
  );
}
