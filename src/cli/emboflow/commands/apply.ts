// apply: a workflow file becomes a new version of the workflow with its slug (created on first apply).
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { ApiClient } from '../../../client/api-client';
import { slugify } from '../../../services/common';
import type { CommandSpec } from '../args';
import { UsageError } from '../errors';
import { renderFields } from '../format';
import { parseYaml, YamlError } from '../yaml';

type JsonObject = Record<string, unknown>;

export interface WorkflowFile {
  name: string;
  slug?: string;
  description?: string;
  project?: string;
  runtimeGraph: JsonObject;
  visualGraph?: JsonObject;
  logicGraph?: JsonObject;
}

const FIELDS = ['name', 'slug', 'description', 'project', 'runtimeGraph', 'visualGraph', 'logicGraph'];

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses a workflow file (JSON by .json, YAML by .yaml/.yml, else by its first character) and checks its shape. */
export function parseWorkflowFile(name: string, text: string): WorkflowFile {
  const ext = extname(name).toLowerCase();
  const asJson = ext === '.json' || (ext !== '.yaml' && ext !== '.yml' && /^\s*\{/.test(text));
  let doc: unknown;
  try {
    doc = asJson ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const what = err instanceof YamlError ? 'YAML' : 'JSON';
    throw new UsageError(`${name}: not valid ${what}: ${(err as Error).message}`, 'apply');
  }
  const fail = (message: string) => new UsageError(`${name}: ${message}`, 'apply');
  if (!isObject(doc)) throw fail('expected a mapping with name and runtimeGraph');
  const unknown = Object.keys(doc).filter((k) => !FIELDS.includes(k));
  if (unknown.length)
    throw fail(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (allowed: ${FIELDS.join(', ')})`);
  if (typeof doc.name !== 'string' || !doc.name.trim()) throw fail('name is required');
  for (const key of ['slug', 'description', 'project'] as const) {
    if (doc[key] !== undefined && typeof doc[key] !== 'string') throw fail(`${key} must be a string`);
  }
  if (!isObject(doc.runtimeGraph)) throw fail('runtimeGraph is required: a mapping with nodes (and edges)');
  for (const key of ['visualGraph', 'logicGraph'] as const) {
    if (doc[key] !== undefined && doc[key] !== null && !isObject(doc[key])) throw fail(`${key} must be a mapping`);
  }
  return doc as unknown as WorkflowFile;
}

interface WorkflowView {
  id: string;
  slug: string;
  name: string;
}

async function findBySlug(client: ApiClient, projectId: string, slug: string): Promise<WorkflowView | undefined> {
  let cursor: string | null = null;
  do {
    const query: string = `limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page: { items: WorkflowView[]; nextCursor: string | null } = await client.get(
      `/v1/projects/${encodeURIComponent(projectId)}/workflows?${query}`,
    );
    const found = page.items.find((w) => w.slug === slug);
    if (found) return found;
    cursor = page.nextCursor;
  } while (cursor);
  return undefined;
}

export const apply: CommandSpec = {
  name: 'apply',
  summary: 'Create or update a workflow from a YAML or JSON file: a new version each time',
  options: {
    file: {
      type: 'string',
      short: 'f',
      value: 'FILE',
      description: 'the workflow file (.yaml, .yml or .json; - for stdin)',
    },
    project: { type: 'string', value: 'ID', description: 'the project (default: the file\'s "project")' },
    publish: { type: 'boolean', description: 'publish the new version: runs start from it by default' },
  },
  details: [
    'The file holds: name, slug?, description?, project?, runtimeGraph, visualGraph?, logicGraph?.',
    'The workflow is found by slug in the project (the slug defaults to one made from the name) and created',
    'when missing. A graph the API rejects is listed problem by problem (exit 2).',
  ].join('\n'),
  async run(ctx, a) {
    const path = a.string('file');
    if (!path) throw new UsageError('-f FILE is required', 'apply');
    let text: string;
    try {
      text = path === '-' ? await ctx.io.readStdin() : readFileSync(path, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${path}: ${(err as Error).message}`, 'apply');
    }
    const file = parseWorkflowFile(path === '-' ? 'stdin' : path, text);
    const projectId = a.string('project') ?? file.project;
    if (!projectId) throw new UsageError('no project: pass --project ID or set "project" in the file', 'apply');
    const slug = file.slug ?? slugify(file.name, 'workflow');

    const client = ctx.client();
    let workflow = await findBySlug(client, projectId, slug);
    const created = !workflow;
    workflow ??= await client.post<WorkflowView>(`/v1/projects/${encodeURIComponent(projectId)}/workflows`, {
      name: file.name,
      slug,
      ...(file.description !== undefined ? { description: file.description } : {}),
    });
    const version = await client.post<{ id: string; versionNumber: number }>(
      `/v1/workflows/${encodeURIComponent(workflow.id)}/versions`,
      {
        runtimeGraph: file.runtimeGraph,
        ...(file.visualGraph ? { visualGraph: file.visualGraph } : {}),
        ...(file.logicGraph ? { logicGraph: file.logicGraph } : {}),
      },
    );
    const published = a.flag('publish')
      ? await client.post<unknown>(
          `/v1/workflows/${encodeURIComponent(workflow.id)}/versions/${version.versionNumber}/publish`,
        )
      : undefined;

    if (ctx.json) {
      ctx.printJson({ workflow, created, version, published: published !== undefined });
      return 0;
    }
    ctx.out(
      renderFields([
        ['workflow', `${workflow.id} (${workflow.slug}, ${created ? 'created' : 'existing'})`],
        [
          'version',
          `${version.versionNumber} ${published !== undefined ? '(published)' : '(not published: pass --publish, or start runs with --version)'}`,
        ],
      ]),
    );
    return 0;
  },
};
