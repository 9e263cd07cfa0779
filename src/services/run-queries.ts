// What the run routes read: a project's runs, a run's tasks, logs and artifacts. The caller authorizes against
// the run (or project) it loaded first; these reads stay inside that run's workspace.
import type { Readable } from 'node:stream';
import type { AnnotationTaskRepository } from '../db/annotations';
import type { ProjectRepository } from '../db/identity';
import type { PageRequest } from '../db/pagination';
import type { RunStore } from '../db/runs';
import type { ArtifactDoc, RunStatus, RunTaskDoc, WorkflowRunDoc } from '../domain/run';
import type { ObjectStore } from '../storage/object-store';
import { missing } from './errors';

type RunRef = Pick<WorkflowRunDoc, '_id' | 'workspaceId' | 'runtimeSnapshot'>;

export class RunQueries {
  constructor(
    private readonly runs: RunStore,
    private readonly projects: Pick<ProjectRepository, 'get'>,
    private readonly annotationTasks: Pick<AnnotationTaskRepository, 'idsLinkedToApproval'>,
    private readonly store: Pick<ObjectStore, 'getStream' | 'presignGet'>,
  ) {}

  /** The project's tenancy scope, for the caller to authorize; null when it does not exist. */
  async projectScope(projectId: string): Promise<{ workspaceId: string; projectId: string } | null> {
    const project = await this.projects.get(projectId);
    return project && { workspaceId: project.workspaceId, projectId: project._id };
  }

  listRuns(
    scope: { workspaceId: string; projectId: string },
    filter: { status?: RunStatus; workflowId?: string },
    page: PageRequest,
  ) {
    return this.runs.listRuns(scope, filter, page);
  }

  /** The run's tasks in graph order. */
  async tasks(run: RunRef): Promise<RunTaskDoc[]> {
    const order = new Map(run.runtimeSnapshot.nodes.map((n, i) => [n.id, i]));
    const tasks = await this.runs.listTasks(run._id, [...order.keys()]);
    return tasks.sort((a, b) => (order.get(a.nodeId) ?? 0) - (order.get(b.nodeId) ?? 0));
  }

  async task(run: RunRef, nodeId: string): Promise<RunTaskDoc> {
    const task = await this.runs.getTask(run._id, nodeId);
    if (!task) throw missing('task');
    return task;
  }

  /** A task's full log from object storage, streamed. */
  async fullLog(run: RunRef, nodeId: string): Promise<Readable> {
    const task = await this.task(run, nodeId);
    if (!task.logRef) throw missing('full log');
    return (await this.store.getStream(task.logRef.key)).body;
  }

  /** Artifacts of the run's tasks (through the tasks: a cache hit's artifacts were produced by an earlier run). */
  async artifacts(run: RunRef, nodeId?: string): Promise<ArtifactDoc[]> {
    const nodeIds = run.runtimeSnapshot.nodes.map((n) => n.id).filter((id) => !nodeId || id === nodeId);
    const tasks = nodeIds.length ? await this.runs.listTasks(run._id, nodeIds, { outputArtifactIds: 1 }) : [];
    return this.runs.artifactsByIds(
      tasks.flatMap((t) => t.outputArtifactIds ?? []),
      run.workspaceId,
      'by-node-and-path',
    );
  }

  artifactsByProducer(
    producerType: ArtifactDoc['producerType'],
    producerId: string,
    workspaceIds: string[],
  ): Promise<ArtifactDoc[]> {
    return this.runs.artifactsByProducer(producerType, producerId, workspaceIds);
  }

  artifact(artifactId: string): Promise<ArtifactDoc | null> {
    return this.runs.getArtifact(artifactId);
  }

  async artifactContent(artifact: ArtifactDoc): Promise<Readable> {
    return (await this.store.getStream(artifact.storageRef.key)).body;
  }

  presignArtifact(artifact: ArtifactDoc): Promise<string> {
    return this.store.presignGet(artifact.storageRef.key);
  }

  /** Annotation tasks whose acceptance an approval node waits for. */
  linkedAnnotationTasks(run: Pick<WorkflowRunDoc, '_id' | 'workspaceId'>, nodeId: string): Promise<string[]> {
    return this.annotationTasks.idsLinkedToApproval(run.workspaceId, run._id, nodeId);
  }
}
