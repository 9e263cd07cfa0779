// Templates in node configuration: `{{params.x}}`, `{{inputs.<nodeId>.<path>}}`, `{{run.id}}`, `{{item}}` /
// `{{item.<path>}}`. A reference is a dotted path looked up in plain data, never evaluated as code. Parsed when a
// version is created (every problem named with its field and character position) and rendered by the executor.
import type { RuntimeGraph, RuntimeNode } from '../domain/runtime-graph';
import type { GraphProblem } from './graph';

const SEGMENT = /^[A-Za-z0-9_-]{1,128}$/;
const ROOTS = ['params', 'inputs', 'run', 'item'] as const;
type Root = (typeof ROOTS)[number];
const RUN_FIELDS = ['id', 'workflowId', 'versionNumber', 'triggeredBy'] as const;

export interface TemplateRef {
  root: Root;
  path: string[];
  /** Where the `{{` starts, counted in characters from 0. */
  at: number;
}

export type TemplatePart = string | TemplateRef;

export class TemplateError extends Error {
  override name = 'TemplateError';
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

/** Splits a string into literal text and references; throws TemplateError at the first malformed one. */
export function parseTemplate(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let from = 0;
  for (;;) {
    const open = text.indexOf('{{', from);
    if (open < 0) break;
    const close = text.indexOf('}}', open + 2);
    if (close < 0) throw new TemplateError('"{{" is never closed by "}}"', open);
    if (open > from) parts.push(text.slice(from, open));
    const expr = text.slice(open + 2, close).trim();
    const [root, ...path] = expr.split('.');
    if (!(ROOTS as readonly string[]).includes(root!)) {
      throw new TemplateError(`"${expr}" is not a template reference (params., inputs., run. or item)`, open);
    }
    if (path.some((s) => !SEGMENT.test(s))) {
      throw new TemplateError(`"${expr}": each part of a path is 1-128 letters, digits, _ or -`, open);
    }
    parts.push({ root: root as Root, path, at: open });
    from = close + 2;
  }
  if (from < text.length) parts.push(text.slice(from));
  return parts;
}

export function hasTemplate(text: string): boolean {
  return text.includes('{{');
}

/** What a node's references may name: the version's declared params, the node's upstream nodes, whether it maps. */
export interface TemplateScope {
  params?: ReadonlySet<string>;
  upstream: ReadonlySet<string>;
  isMap: boolean;
}

function refProblem(ref: TemplateRef, scope: TemplateScope): string | undefined {
  const name = ref.path[0];
  switch (ref.root) {
    case 'params':
      if (ref.path.length === 0) return '"params" needs a name: {{params.<name>}}';
      if (!scope.params) return `params.${name}: this version declares no params (runtimeGraph.params)`;
      return scope.params.has(name!) ? undefined : `params.${name} is not a declared param`;
    case 'inputs':
      if (!name) return '"inputs" needs a node: {{inputs.<upstream node id>.<path in its result.json>}}';
      return scope.upstream.has(name) ? undefined : `inputs.${name}: ${name} is not an upstream node of this node`;
    case 'run':
      return ref.path.length === 1 && (RUN_FIELDS as readonly string[]).includes(name!)
        ? undefined
        : `run.${ref.path.join('.')} is not one of ${RUN_FIELDS.map((f) => `run.${f}`).join(', ')}`;
    case 'item':
      return scope.isMap ? undefined : '"item" is only known in a map node';
  }
}

/** The templated strings of a docker node: each command argument and env value, with its field path. */
export function templatedFields(node: RuntimeNode, prefix: string): Array<{ path: string; text: string }> {
  if (node.executorType !== 'docker') return [];
  const cfg = node.executorConfig;
  return [
    ...(cfg.command ?? []).map((text, i) => ({ path: `${prefix}.executorConfig.command.${i}`, text })),
    ...Object.entries(cfg.env).map(([k, text]) => ({ path: `${prefix}.executorConfig.env.${k}`, text })),
  ].filter((f) => hasTemplate(f.text));
}

/** Every malformed or unknown reference in the graph's templates, with its field and position. */
export function templateProblems(graph: Pick<RuntimeGraph, 'nodes' | 'edges' | 'params'>): GraphProblem[] {
  const problems: GraphProblem[] = [];
  const params = graph.params ? new Set(Object.keys(graph.params)) : undefined;
  graph.nodes.forEach((node, i) => {
    const fields = templatedFields(node, `nodes.${i}`);
    if (!fields.length) return;
    const scope: TemplateScope = {
      params,
      upstream: new Set(graph.edges.filter((e) => e.target === node.id).map((e) => e.source)),
      isMap: node.executorType === 'docker' && node.map !== undefined,
    };
    for (const { path, text } of fields) {
      try {
        for (const part of parseTemplate(text)) {
          if (typeof part === 'string') continue;
          const problem = refProblem(part, scope);
          if (problem) problems.push({ nodeId: node.id, path, message: `at character ${part.at}: ${problem}` });
        }
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        problems.push({ nodeId: node.id, path, message: `at character ${err.at}: ${err.message}` });
      }
    }
  });
  return problems;
}

/** The data references are looked up in; `inputs` only holds the upstream results the templates name. */
export interface TemplateValues {
  params: Record<string, unknown>;
  inputs: Record<string, unknown>;
  run: Record<(typeof RUN_FIELDS)[number], unknown>;
  item?: unknown;
}

/** The upstream nodes a node's templates read results from. */
export function referencedInputs(texts: string[]): string[] {
  const nodes = new Set<string>();
  for (const text of texts) {
    if (!hasTemplate(text)) continue;
    for (const part of parseTemplate(text))
      if (typeof part !== 'string' && part.root === 'inputs') nodes.add(part.path[0]!);
  }
  return [...nodes];
}

function lookup(values: TemplateValues, ref: TemplateRef): unknown {
  let value: unknown = ref.root === 'item' ? values.item : values[ref.root];
  for (const segment of ref.path) {
    if (value === null || typeof value !== 'object') return undefined;
    value =
      Array.isArray(value) && /^\d+$/.test(segment)
        ? value[Number(segment)]
        : (value as Record<string, unknown>)[segment];
  }
  return value;
}

/** Renders a string: strings as they are, other values as JSON. A reference to nothing is a TemplateError. */
export function renderTemplate(text: string, values: TemplateValues): string {
  if (!hasTemplate(text)) return text;
  return parseTemplate(text)
    .map((part) => {
      if (typeof part === 'string') return part;
      const value = lookup(values, part);
      const name = [part.root, ...part.path].join('.');
      if (value === undefined) throw new TemplateError(`{{${name}}} has no value in this run`, part.at);
      return typeof value === 'string' ? value : JSON.stringify(value);
    })
    .join('');
}
