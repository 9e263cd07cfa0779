import { z } from 'zod';
import { RUN_WHEN } from '../dag/scheduler';
import { IdSchema } from './common';
import { ImageRefSchema } from './image-ref';
import { ParamsDeclarationSchema } from './params';
import { NodeSecretSchema } from './workspace-secrets';

/** Node ids appear in container labels, storage keys and Temporal activity ids. */
export const NodeId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'node ids are 1-64 letters, digits, _ or -, starting alphanumeric');

/** A duration in whole seconds, up to 90 days (approval deadlines, timers, a run's time limit). */
const Seconds = z
  .number()
  .int()
  .min(0)
  .max(90 * 86_400);

const TaskQueue = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'task queue names are letters, digits, . _ -');

export const RetryPolicySchema = z
  .object({
    maxAttempts: z.number().int().min(1).max(20).default(1),
    initialIntervalMs: z.number().int().min(10).max(3_600_000).default(1000),
    backoffCoefficient: z.number().min(1).max(10).default(2),
    maximumIntervalMs: z.number().int().min(10).max(86_400_000).optional(),
  })
  .strict();
export type RetryPolicy = z.infer<typeof RetryPolicySchema>;

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'environment variable names are A-Z, 0-9 and _');

export const PULL_POLICIES = ['ifNotPresent', 'always', 'never'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

export const DockerExecutorConfigSchema = z
  .object({
    /** An image reference; or leave it out and name a registered custom node. */
    image: ImageRefSchema.optional(),
    customNodeId: z.string().min(1).max(64).optional(),
    /**
     * When the worker pulls the image: only when its Docker engine lacks it (the default), before every attempt, or
     * never (an absent image then fails the task).
     */
    pullPolicy: z.enum(PULL_POLICIES).default('ifNotPresent'),
    /** The workspace's registry credential to pull with; by default the one registered for the image's registry. */
    registryCredentialId: IdSchema.optional(),
    command: z.array(z.string().max(65_536)).max(256).optional(),
    env: z.record(EnvName, z.string().max(65_536)).default({}),
    cpu: z.number().min(0.01).max(64).default(1),
    memoryMb: z.number().int().min(6).max(262_144).default(256),
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 86_400)
      .default(600),
    pidsLimit: z.number().int().min(8).max(32_768).default(128),
    /** Containers get no network unless the node opts in. */
    network: z.boolean().default(false),
    /** The most its outputs may hold, all files together (default: the workspace's settings.maxOutputBytes). */
    maxOutputBytes: z
      .number()
      .int()
      .min(1)
      .max(2 ** 50)
      .optional(),
    taskQueue: TaskQueue.default('default'),
    /**
     * GPUs: a count, or the device ids to use. The node runs only on workers that declare GPUs (WORKER_GPUS), on its
     * task queue's `.gpu` twin; with none polling there, the run is refused before it starts.
     */
    gpus: z
      .union([
        z.number().int().min(1).max(16),
        z
          .array(z.string().regex(/^[A-Za-z0-9:._-]{1,64}$/, 'a device id: letters, digits, : . _ -'))
          .min(1)
          .max(16),
      ])
      .optional(),
    /** /dev/shm size in MiB (Docker's default is 64). */
    shmMb: z.number().int().min(1).max(65_536).optional(),
    /** The command's working directory (default /emboflow). */
    workingDir: z
      .string()
      .regex(/^\/[A-Za-z0-9._/-]{0,255}$/, 'an absolute path of letters, digits and . _ - /')
      .optional(),
    /** Run as root (uid 0) instead of nobody: only where the workspace allows it (settings.allowRootContainers). */
    runAsRoot: z.boolean().optional(),
    /** Workspace secrets the container gets, as env vars or files under /emboflow/secrets (masked in every log). */
    secrets: z.array(NodeSecretSchema).max(64).optional(),
  })
  .strict()
  .refine((c) => (c.image ? !c.customNodeId : !!c.customNodeId), {
    message: 'exactly one of image or customNodeId is required',
    path: ['image'],
  })
  .meta({ oneOf: [{ required: ['image'] }, { required: ['customNodeId'] }] });
export type DockerExecutorConfig = z.infer<typeof DockerExecutorConfigSchema>;

const Scalar = z.union([z.string().max(1024), z.number(), z.boolean()]);

export const BuiltinExecutorConfigSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('noop'), taskQueue: TaskQueue.optional() }).strict(),
  z.object({ op: z.literal('union'), taskQueue: TaskQueue.optional() }).strict(),
  z.object({ op: z.literal('intersection'), taskQueue: TaskQueue.optional() }).strict(),
  z
    .object({
      op: z.literal('filter'),
      /** Keeps assets whose field equals the value, or contains it when the field is an array. */
      where: z
        .partialRecord(z.enum(['type', 'status', 'detectedFormats', 'sourceType', 'displayName']), Scalar)
        .refine((w) => Object.keys(w).length > 0, 'name at least one field to filter on')
        .meta({ minProperties: 1 }),
      taskQueue: TaskQueue.optional(),
    })
    .strict(),
]);
export type BuiltinExecutorConfig = z.infer<typeof BuiltinExecutorConfigSchema>;

/** What a node consumes and produces, by artifact type, for the edge compatibility check. */
export const NodeContractSchema = z
  .object({
    inputs: z
      .array(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/))
      .max(32)
      .default([]),
    outputs: z
      .array(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/))
      .max(32)
      .default([]),
  })
  .strict();
export type NodeContract = z.infer<typeof NodeContractSchema>;

const common = {
  id: NodeId,
  /** When the node runs, given how its upstream nodes ended (default all_success; see src/dag/scheduler.ts). */
  runWhen: z.enum(RUN_WHEN).optional(),
  /**
   * An exit node: it runs once every other node has ended — succeeded, failed or cancelled (a cancelled run too) —
   * and reads the outcome as `runOutcome` in context.json. Its edges join only other exit nodes.
   */
  onExit: z.boolean().optional(),
  name: z.string().max(200).optional(),
  retry: RetryPolicySchema.optional(),
  cache: z.object({ enabled: z.boolean() }).strict().optional(),
  artifactType: z.string().max(64).optional(),
  artifactTitle: z.string().max(200).optional(),
  contract: NodeContractSchema.optional(),
};

/** Where a map node's items come from: the assets flowing into it, or a JSON list in an upstream node's result. */
export const MAP_OVER_PATTERN = /^(assets|inputs\.[A-Za-z0-9][A-Za-z0-9_-]{0,63}(\.[A-Za-z0-9_-]{1,128}){0,16})$/;
/** The most items one map node may have. */
export const MAP_ITEMS_MAX = 100_000;

export const MapConfigSchema = z
  .object({
    /** `assets` (one item per asset flowing into the node) or `inputs.<nodeId>.<path>` (a list in its result.json). */
    over: z
      .string()
      .max(1200)
      .regex(MAP_OVER_PATTERN, 'over is "assets" or "inputs.<upstream node id>.<path in its result.json>"'),
    /** Item containers running at once, within the run's own maxParallelism. */
    maxParallel: z.number().int().min(1).max(256).default(8),
    /** Items per container; with more than one, a batch of items is the unit of state, retry and caching. */
    batchSize: z.number().int().min(1).max(10_000).default(1),
    /** Failed items tolerated before the node fails (0: the first failure fails it, and the rest are cancelled). */
    maxFailures: z.number().int().min(0).max(MAP_ITEMS_MAX).optional(),
    /** Or a share of the items, in percent. */
    maxFailurePercent: z.number().min(0).max(100).optional(),
  })
  .strict();
export type MapConfig = z.infer<typeof MapConfigSchema>;

export const DockerNodeSchema = z
  .object({
    ...common,
    executorType: z.literal('docker'),
    executorConfig: DockerExecutorConfigSchema,
    /** Runs the node once per item (asset or list element), each with its own state, retries and cache entry. */
    map: MapConfigSchema.optional(),
  })
  .strict();
export const BuiltinNodeSchema = z
  .object({ ...common, executorType: z.literal('builtin'), executorConfig: BuiltinExecutorConfigSchema })
  .strict();
export const ApprovalNodeSchema = z
  .object({
    ...common,
    executorType: z.literal('approval'),
    executorConfig: z
      .object({
        timeoutSeconds: Seconds.min(1).optional(),
        defaultOutcome: z.enum(['approved', 'rejected']).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();
export const TimerNodeSchema = z
  .object({
    ...common,
    executorType: z.literal('timer'),
    executorConfig: z
      .object({
        seconds: Seconds,
      })
      .strict(),
  })
  .strict();
export const DecisionNodeSchema = z
  .object({
    ...common,
    executorType: z.literal('decision'),
    executorConfig: z.object({ expression: z.string().min(1).max(2000) }).strict(),
  })
  .strict();

/** How deep sub-workflows may nest: a run's child is depth 1, its grandchild 2, and so on. */
export const SUB_WORKFLOW_DEPTH_MAX = 4;

// A child run retries its own nodes and caches its own containers: the node itself has neither.
const { retry: _retry, cache: _cache, ...subWorkflowCommon } = common;

export const WorkflowNodeSchema = z
  .object({
    ...subWorkflowCommon,
    executorType: z.literal('workflow'),
    /** Runs a pinned version of another workflow of the same project as a child run. */
    executorConfig: z
      .object({
        workflowId: z.string().min(1).max(64),
        /** Pinned: a sub-workflow never follows what is published later. */
        versionNumber: z.number().int().min(1),
      })
      .strict(),
  })
  .strict();

export const RuntimeNodeSchema = z.discriminatedUnion('executorType', [
  DockerNodeSchema,
  BuiltinNodeSchema,
  ApprovalNodeSchema,
  TimerNodeSchema,
  DecisionNodeSchema,
  WorkflowNodeSchema,
]);
export type RuntimeNode = z.infer<typeof RuntimeNodeSchema>;
export type ExecutorType = RuntimeNode['executorType'];

export const RuntimeEdgeSchema = z
  .object({
    source: NodeId,
    target: NodeId,
    /** An expression over the source's result.json; the edge is taken only when it is true. */
    condition: z.string().min(1).max(2000).optional(),
  })
  .strict();
export type RuntimeEdge = z.infer<typeof RuntimeEdgeSchema>;

export const RuntimeGraphSchema = z
  .object({
    nodes: z.array(RuntimeNodeSchema).min(1).max(20_000),
    edges: z.array(RuntimeEdgeSchema).max(100_000).default([]),
    /** The params its runs take, typed; a run's params are checked against them and defaults applied. */
    params: ParamsDeclarationSchema.optional(),
    settings: z
      .object({
        maxParallelism: z.number().int().min(1).max(1000).default(8),
        failFast: z.boolean().default(false),
        /** The run's own time limit: past it, running nodes are stopped, the rest cancelled, exit nodes run. */
        timeoutSeconds: Seconds.min(1).optional(),
      })
      .strict()
      .default({ maxParallelism: 8, failFast: false }),
  })
  .strict();
export type RuntimeGraph = z.infer<typeof RuntimeGraphSchema>;
export type RuntimeGraphInput = z.input<typeof RuntimeGraphSchema>;
