// Runs the sample workflow end to end through the REST API and prints its progress and result.
// Used by `npm start`; needs a running API and worker. Reads EMBOFLOW_API_URL and EMBOFLOW_API_KEY.
import { z } from 'zod';
import { ApiClient } from '../client/api-client';
import { episodeQaGraph, syntheticEpisodeCsv } from '../samples/episode-qa';

const Env = z.object({
  EMBOFLOW_API_URL: z.url().default('http://127.0.0.1:8080'),
  EMBOFLOW_API_KEY: z.string().min(1, 'EMBOFLOW_API_KEY is required'),
  EMBOFLOW_TOOLS_IMAGE: z.string().min(1).default('emboflow/tools:local'),
});

interface Item {
  id: string;
  slug?: string;
}
interface RunView {
  id: string;
  status: string;
  temporalUiUrl: string;
  temporalWorkflowId: string;
  errorMessage?: string;
}
interface TaskView {
  nodeId: string;
  status: string;
  attempt: number;
  durationMs?: number;
  errorMessage?: string;
  lastResultPreview?: unknown;
}

const TERMINAL = ['success', 'failed', 'cancelled', 'timed_out'];
const POLL_MS = 300;
const RUN_TIMEOUT_MS = 5 * 60_000;

async function findOrCreate(
  api: ApiClient,
  listPath: string,
  createPath: string,
  body: { name: string; slug: string },
): Promise<string> {
  const page = await api.get<{ items: Item[] }>(`${listPath}?limit=200`);
  const existing = page.items.find((i) => i.slug === body.slug);
  if (existing) return existing.id;
  return (await api.post<Item>(createPath, body)).id;
}

async function main(): Promise<void> {
  const env = Env.parse(process.env);
  const api = new ApiClient(env.EMBOFLOW_API_URL, env.EMBOFLOW_API_KEY);

  const me = await api.get<{ memberships: Array<{ workspaceId: string; role: string; projectId?: string }> }>('/v1/me');
  const workspaceId = me.memberships.find(
    (m) => !m.projectId && ['owner', 'admin', 'editor'].includes(m.role),
  )?.workspaceId;
  if (!workspaceId) throw new Error('the API key has no workspace it may create workflows in');

  const projectId = await findOrCreate(
    api,
    `/v1/workspaces/${workspaceId}/projects`,
    `/v1/workspaces/${workspaceId}/projects`,
    {
      name: 'Samples',
      slug: 'samples',
    },
  );
  const asset = await api.request<Item>(
    'POST',
    `/v1/projects/${projectId}/assets/upload?displayName=episode_0001.csv&type=raw_file`,
    Buffer.from(syntheticEpisodeCsv()),
  );
  const workflowId = await findOrCreate(
    api,
    `/v1/projects/${projectId}/workflows`,
    `/v1/projects/${projectId}/workflows`,
    {
      name: 'Episode QA',
      slug: 'episode-qa',
    },
  );
  const version = await api.post<{ versionNumber: number }>(`/v1/workflows/${workflowId}/versions`, {
    runtimeGraph: episodeQaGraph(env.EMBOFLOW_TOOLS_IMAGE),
  });
  await api.post(`/v1/workflows/${workflowId}/versions/${version.versionNumber}/publish`);
  console.log(`workflow ${workflowId} v${version.versionNumber} published; input asset ${asset.id}`);

  const started = await api.post<RunView>(`/v1/workflows/${workflowId}/runs`, {
    inputBindings: [{ kind: 'asset', id: asset.id }],
  });
  console.log(`run ${started.id} started`);
  console.log(`  Temporal Web UI: ${started.temporalUiUrl}`);

  const seen = new Map<string, string>();
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  let run = started;
  while (!TERMINAL.includes(run.status)) {
    if (Date.now() > deadline) throw new Error(`run ${run.id} did not finish in ${RUN_TIMEOUT_MS / 1000}s`);
    await new Promise((r) => setTimeout(r, POLL_MS));
    const tasks = (await api.get<{ items: TaskView[] }>(`/v1/runs/${run.id}/tasks`)).items;
    for (const t of tasks) {
      if (seen.get(t.nodeId) === t.status) continue;
      seen.set(t.nodeId, t.status);
      const extra = t.durationMs !== undefined && TERMINAL.includes(t.status) ? ` in ${t.durationMs} ms` : '';
      console.log(`  ${t.nodeId.padEnd(10)} ${t.status}${extra}${t.errorMessage ? ` — ${t.errorMessage}` : ''}`);
    }
    run = await api.get<RunView>(`/v1/runs/${run.id}`);
  }

  console.log(`run ${run.id} ${run.status}${run.errorMessage ? `: ${run.errorMessage}` : ''}`);
  if (run.status !== 'success') process.exit(1);

  const artifacts = (
    await api.get<{ items: Array<{ id: string; nodeId: string; path: string }> }>(`/v1/runs/${run.id}/artifacts`)
  ).items;
  const report = artifacts.find((a) => a.nodeId === 'report' && a.path === 'report.md');
  if (report) {
    const res = await api.raw('GET', `/v1/artifacts/${report.id}/content`);
    console.log(`\n${(await res.text()).trim()}\n`);
  }
  const ui = await fetch(run.temporalUiUrl);
  const uiApi = await fetch(run.temporalUiUrl.replace('/namespaces/', '/api/v1/namespaces/'));
  const detail = uiApi.ok ? ((await uiApi.json()) as { workflowExecutionInfo?: { status?: string } }) : undefined;
  console.log(
    `Temporal Web UI page: HTTP ${ui.status}; the UI's API reports the workflow ${detail?.workflowExecutionInfo?.status ?? `unavailable (HTTP ${uiApi.status})`}`,
  );
  console.log(`artifacts: ${artifacts.length}; API: ${env.EMBOFLOW_API_URL}`);
}

main().catch((err) => {
  console.error(`sample failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
