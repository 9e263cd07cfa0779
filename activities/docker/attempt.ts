// One attempt of a docker node: what every step of the executor reads, and the dependencies they share.
import type { Context } from '@temporalio/activity';
import type { AssetRepository } from '../../src/db/catalog';
import type { CustomNodeRepository } from '../../src/db/definitions';
import type { ExecutionLogRepository, ExecutionMetricRepository } from '../../src/db/execution-logs';
import type { WorkspaceRepository } from '../../src/db/identity';
import type { ContainerSlots } from '../../src/db/leases';
import type { RunStore } from '../../src/db/runs';
import type { WorkflowRunDoc } from '../../src/domain/run';
import type { DockerExecutorConfig, RuntimeNode } from '../../src/domain/runtime-graph';
import type { NodeInput } from '../../src/engine/contract';
import type { Logger } from '../../src/logger';
import type { Metrics } from '../../src/metrics';
import type { ObjectStore } from '../../src/storage/object-store';
import type { ContainerPort } from './port';
import type { RegistryLoginSource, RunImage } from './pull';
import type { ResolvedSecret, SecretDeps, SecretMasker } from './secrets';
import type { AssetSources } from './sources';

/** The mirror operations the executor uses (a narrow slice of RunStore, so tests can stand in for it). */
export type ExecutorMirror = Pick<
  RunStore,
  | 'getRunSnapshot'
  | 'getTask'
  | 'applyTransitions'
  | 'recordAttempt'
  | 'upsertArtifacts'
  | 'recordCacheEntry'
  | 'artifactsByIds'
  | 'findCacheHit'
> &
  Partial<Pick<RunStore, 'resumeInterrupted'>>;

export interface DockerExecutorDeps extends SecretDeps {
  mirror: ExecutorMirror;
  store: Pick<ObjectStore, 'bucket' | 'getStream' | 'getVerified' | 'putStream' | 'putBuffer' | 'deleteKeys'>;
  /** Readers for assets in the platform bucket or behind a workspace's storage connection. */
  sources: AssetSources;
  containers: ContainerPort;
  /** The workspace's registry logins, for pulling node images. */
  registries: RegistryLoginSource;
  customNodes: Pick<CustomNodeRepository, 'findInWorkspace'>;
  assets: Pick<AssetRepository, 'findForStaging'>;
  workspaces: Pick<WorkspaceRepository, 'executionLimits'>;
  executionLogs: Pick<ExecutionLogRepository, 'insertLines'>;
  executionMetrics: Pick<ExecutionMetricRepository, 'insertSample'>;
  slots: Pick<ContainerSlots, 'tryAcquire' | 'renew' | 'release'>;
  logger: Logger;
  metrics: Pick<Metrics, 'cacheLookups' | 'containerStart'>;
  /** Labels this deployment's containers, so its reaper never touches another deployment's. */
  deployment: string;
  workerId: string;
  /** Containers a workspace may run at once (0: no limit); a workspace's settings.maxRunningContainers may lower it. */
  workspaceContainerLimit: number;
  /** GPUs this worker's engine offers (WORKER_GPUS). */
  workerGpus?: number;
}

/** What an attempt needs of the activity context: heartbeats, cancellation, the task queue. */
export type ActivityHandle = Pick<Context, 'heartbeat' | 'cancellationSignal' | 'info'>;

export type DockerNode = Extract<RuntimeNode, { executorType: 'docker' }>;

export interface NodeAttempt {
  input: NodeInput;
  run: WorkflowRunDoc;
  node: DockerNode;
  cfg: DockerExecutorConfig;
  /** The attempt number across generations: the node's attempt base plus Temporal's attempt. */
  attempt: number;
  startedAt: Date;
  log: Logger;
  activity: ActivityHandle;
  task: { nodeId: string; generation: number };
  /** The workspace secrets the node names, decrypted for this attempt, and the masker of their values. */
  secrets: ResolvedSecret[];
  masker: SecretMasker;
  /** The image the attempt runs, once resolved on the engine (recorded with the task's outcome). */
  image?: RunImage;
  /** The config had templates: `cfg` holds them rendered, and the task records the command run. */
  rendered?: true;
  /** A map item: `input` is then the item's own (its task id as nodeId, its assets). */
  item?: { key: string; index: number; value?: unknown };
}

/** Container names are derived from run, node and generation, so a retried attempt finds its predecessor. */
export function containerName(runId: string, nodeId: string, generation: number): string {
  return `emboflow-${runId}-${nodeId}-g${generation}`;
}
