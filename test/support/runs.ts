import type { Express } from 'express';
import request from 'supertest';

export const TOOLS_IMAGE = 'emboflow/tools:local';

/** A docker node running a shell script in the tools image. */
export function sh(
  id: string,
  script: string,
  extra: Record<string, unknown> = {},
  config: Record<string, unknown> = {},
) {
  return {
    id,
    executorType: 'docker' as const,
    executorConfig: { image: TOOLS_IMAGE, command: ['sh', '-c', script], memoryMb: 64, timeoutSeconds: 60, ...config },
    ...extra,
  };
}

export interface RunBody {
  id: string;
  status: string;
  temporalUiUrl: string;
  temporalWorkflowId: string;
  summary: { taskCounts: Record<string, number>; failedTaskIds: string[]; artifactCount: number };
  errorMessage?: string;
}

export async function startRun(
  app: Express,
  apiKey: string,
  workflowId: string,
  body: Record<string, unknown> = {},
): Promise<RunBody> {
  const res = await request(app)
    .post(`/v1/workflows/${workflowId}/runs`)
    .set('Authorization', `Bearer ${apiKey}`)
    .send(body);
  if (res.status !== 202) throw new Error(`start run: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as RunBody;
}

/** Polls the run until it is terminal (bounded by timeoutMs). */
export async function waitForRun(app: Express, apiKey: string, runId: string, timeoutMs = 120_000): Promise<RunBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(app).get(`/v1/runs/${runId}`).set('Authorization', `Bearer ${apiKey}`);
    if (res.status !== 200) throw new Error(`get run: ${res.status} ${JSON.stringify(res.body)}`);
    if (['success', 'failed', 'cancelled', 'timed_out'].includes(res.body.status)) return res.body as RunBody;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${res.body.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function tasksOf(
  app: Express,
  apiKey: string,
  runId: string,
): Promise<Record<string, Record<string, any>>> {
  const res = await request(app).get(`/v1/runs/${runId}/tasks`).set('Authorization', `Bearer ${apiKey}`);
  if (res.status !== 200) throw new Error(`tasks: ${res.status}`);
  return Object.fromEntries(res.body.items.map((t: { nodeId: string }) => [t.nodeId, t]));
}

/** Polls until `fn` answers something truthy (bounded by timeoutMs); returns that answer. */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
