// High-volume execution records (seeds 002 and 003): live log lines and resource samples of node containers. Both
// expire by TTL (src/db/indexes.ts); the full log always goes to object storage.
import { z } from 'zod';

export const ExecutionLogDocSchema = z
  .object({
    _id: z.string(),
    workspaceId: z.string(),
    runId: z.string(),
    nodeId: z.string(),
    attempt: z.number().int(),
    /** Order of the line within its attempt. */
    seq: z.number().int(),
    stream: z.enum(['stdout', 'stderr']),
    line: z.string(),
    createdAt: z.date(),
  })
  .strict();
export type ExecutionLogDoc = z.infer<typeof ExecutionLogDocSchema>;

/** One resource sample of a running container; its _id is the driver's ObjectId. */
export const ExecutionMetricDocSchema = z.object({
  runId: z.string(),
  nodeId: z.string(),
  attempt: z.number().int(),
  workspaceId: z.string(),
  at: z.date(),
  memoryBytes: z.number(),
  peakMemoryBytes: z.number(),
  cpuTimeMs: z.number(),
  createdAt: z.date(),
});
export type ExecutionMetricDoc = z.infer<typeof ExecutionMetricDocSchema>;
