// Shared by the chaos suites: the run they break things under, and what "nothing lost, nothing doubled" means.
import type { Express } from 'express';
import type { Db } from 'mongodb';
import type { RuntimeGraphInput } from '../../src/domain/runtime-graph';
import { seedUser, seedWorkspace, startTestApp } from './app';
import type { TestApp } from './app';
import { tasksOf, TOOLS_IMAGE } from './runs';
import { bundleFile, workerEnv } from './worker-process';

export interface ChaosFixture {
  t: TestApp;
  key: string;
  scope: { workspaceId: string; projectId: string };
  /** A worker process's environment: the prebuilt bundle, and a reaper that runs every 5 s. */
  env: NodeJS.ProcessEnv;
}

/** The app, an editor's key in a fresh workspace, and the environment the suites' worker processes run with. */
export async function chaosFixture(): Promise<ChaosFixture> {
  const t = await startTestApp();
  const scope = await seedWorkspace(t.db);
  const key = (await seedUser(t.db, [{ workspaceId: scope.workspaceId, role: 'editor' }])).apiKey;
  const env = workerEnv(t.config, {
    WORKFLOW_BUNDLE_PATH: await bundleFile(),
    REAPER_INTERVAL_SECONDS: '5',
    REAPER_GRACE_SECONDS: '10',
  });
  return { t, key, scope, env };
}

/** A 6-node diamond of container steps, caching off so every node really runs a container. */
export function containerDiamond(stamp: string, seconds: number): RuntimeGraphInput {
  const node = (id: string) => ({
    id,
    executorType: 'docker' as const,
    executorConfig: {
      image: TOOLS_IMAGE,
      command: ['sh', '-c', `sleep ${seconds}; echo ${id}-${stamp} > /emboflow/outputs/${id}.txt`],
      memoryMb: 32,
    },
    cache: { enabled: false },
  });
  return {
    nodes: ['a', 'b', 'c', 'd', 'e', 'f'].map(node),
    edges: [
      { source: 'a', target: 'b' },
      { source: 'a', target: 'c' },
      { source: 'b', target: 'd' },
      { source: 'c', target: 'd' },
      { source: 'd', target: 'e' },
      { source: 'd', target: 'f' },
    ],
    settings: { maxParallelism: 4, failFast: false },
  };
}

/** Exactly one success per node: one succeeded attempt record and one artifact per node. */
export async function expectExactlyOnce(app: Express, key: string, db: Db, runId: string): Promise<void> {
  const tasks = await tasksOf(app, key, runId);
  for (const [nodeId, task] of Object.entries(tasks)) {
    expect(task.status).toBe('success');
    const successes = Object.values(task.attempts as Record<string, { status: string }>).filter(
      (a) => a.status === 'success',
    );
    expect({ nodeId, successes: successes.length }).toEqual({ nodeId, successes: 1 });
    expect(await db.collection('artifacts').countDocuments({ runId, nodeId })).toBe(1);
  }
}
