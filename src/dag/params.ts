// A run's params checked against what its version declares, defaults applied; and the declaration as JSON Schema.
// Pure: used by the API (a run's start) and by version creation (every default must be valid).
import type { ParamsDeclaration, ParamSpec } from '../domain/params';
import type { GraphProblem } from './graph';

const TYPE_OF_ITEM: Record<string, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  integer: (v) => typeof v === 'number' && Number.isSafeInteger(v),
  boolean: (v) => typeof v === 'boolean',
  object: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
};

/** Why `value` does not fit the param, or undefined when it does. */
export function paramProblem(spec: ParamSpec, value: unknown): string | undefined {
  switch (spec.type) {
    case 'enum':
      return spec.values?.some((v) => v === value) ? undefined : `must be one of ${JSON.stringify(spec.values ?? [])}`;
    case 'array': {
      if (!Array.isArray(value)) return 'must be an array';
      const check = spec.items ? TYPE_OF_ITEM[spec.items]! : undefined;
      const bad = check ? value.findIndex((v) => !check(v)) : -1;
      return bad >= 0
        ? `element ${bad} must be ${spec.items === 'integer' ? 'an integer' : `a ${spec.items}`}`
        : undefined;
    }
    default:
      return TYPE_OF_ITEM[spec.type]!(value)
        ? undefined
        : `must be ${spec.type === 'integer' || spec.type === 'object' ? 'an' : 'a'} ${spec.type}`;
  }
}

export interface ParamsCheck {
  params: Record<string, unknown>;
  problems: Array<{ field: string; message: string }>;
}

/**
 * A run's params against its version's declaration: unknown names, wrong types and missing required ones are
 * problems; defaults fill what was not given. Without a declaration, params pass as they are.
 */
export function resolveParams(declared: ParamsDeclaration | undefined, given: Record<string, unknown>): ParamsCheck {
  if (!declared) return { params: given, problems: [] };
  const problems: ParamsCheck['problems'] = [];
  const params: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(given)) {
    const spec = declared[name];
    if (!spec) {
      problems.push({
        field: `params.${name}`,
        message: `not a param of this version (${Object.keys(declared).join(', ') || 'it declares none'})`,
      });
      continue;
    }
    const problem = paramProblem(spec, value);
    if (problem) problems.push({ field: `params.${name}`, message: problem });
    else params[name] = value;
  }
  for (const [name, spec] of Object.entries(declared)) {
    if (name in given) continue;
    if (spec.default !== undefined) params[name] = spec.default;
    else if (spec.required) problems.push({ field: `params.${name}`, message: 'required, and it has no default' });
  }
  return { params, problems };
}

/** Declarations that cannot work: a default of the wrong type, an enum without values, values on another type. */
export function declarationProblems(declared: ParamsDeclaration | undefined): GraphProblem[] {
  const problems: GraphProblem[] = [];
  for (const [name, spec] of Object.entries(declared ?? {})) {
    const path = `params.${name}`;
    if (spec.type === 'enum' && !spec.values)
      problems.push({ path: `${path}.values`, message: 'an enum needs values' });
    if (spec.type !== 'enum' && spec.values)
      problems.push({ path: `${path}.values`, message: 'only an enum has values' });
    if (spec.type !== 'array' && spec.items)
      problems.push({ path: `${path}.items`, message: 'only an array has items' });
    if (spec.default !== undefined) {
      const problem = paramProblem(spec, spec.default);
      if (problem) problems.push({ path: `${path}.default`, message: `the default ${problem}` });
    }
  }
  return problems;
}

function specSchema(spec: ParamSpec): Record<string, unknown> {
  const base: Record<string, unknown> = {
    ...(spec.description ? { description: spec.description } : {}),
    ...(spec.default !== undefined ? { default: spec.default } : {}),
  };
  switch (spec.type) {
    case 'enum':
      return { ...base, enum: spec.values };
    case 'array':
      return { ...base, type: 'array', ...(spec.items ? { items: { type: spec.items } } : {}) };
    default:
      return { ...base, type: spec.type };
  }
}

/** The declaration as a JSON Schema (2020-12) of a run's params object. */
export function paramsJsonSchema(declared: ParamsDeclaration | undefined): Record<string, unknown> {
  if (!declared) return { type: 'object', description: 'this version declares no params: any are passed on' };
  const required = Object.entries(declared)
    .filter(([, s]) => s.required && s.default === undefined)
    .map(([name]) => name);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    properties: Object.fromEntries(Object.entries(declared).map(([name, spec]) => [name, specSchema(spec)])),
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  };
}
