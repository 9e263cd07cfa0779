// Commands are declared once (name, arguments, options, help); node:util parseArgs does the parsing.
import { parseArgs } from 'node:util';
import type { ApiClient } from '../../client/api-client';
import { UsageError } from './errors';
import type { Io } from './io';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** The value's placeholder in help, e.g. ID. */
  value?: string;
  description: string;
}

export interface Context {
  io: Io;
  /** --json: print the API's JSON instead of tables. */
  json: boolean;
  /** The client for the configured API; throws (exit 5) when not logged in. */
  client(): ApiClient;
  out(text?: string): void;
  printJson(value: unknown): void;
}

export interface CommandSpec {
  /** Space-separated words: `run start`. */
  name: string;
  summary: string;
  /** Required positional arguments, in order. */
  args?: string[];
  options?: Record<string, OptionSpec>;
  /** More help text under the usage line. */
  details?: string;
  run(ctx: Context, args: Args): Promise<number>;
}

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: "print the API's JSON instead of tables" },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

export class Args {
  constructor(
    readonly command: string,
    private readonly values: Record<string, string | boolean | string[] | undefined>,
    private readonly positionals: Record<string, string>,
  ) {}

  arg(name: string): string {
    const value = this.positionals[name];
    if (value === undefined) throw new UsageError(`missing ${name}`, this.command);
    return value;
  }

  string(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === 'string' ? v : undefined;
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  list(name: string): string[] {
    const v = this.values[name];
    return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  }

  /** A whole number option, at least `min`; undefined when absent. */
  int(name: string, min = 1): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!/^[0-9]+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) {
      throw new UsageError(`--${name} must be a whole number of at least ${min}, not "${v}"`, this.command);
    }
    return Number(v);
  }
}

/** Parses what follows the command's words; unknown options and missing or extra arguments are usage errors. */
export function parseCommandArgs(spec: CommandSpec, argv: string[]): Args {
  const options = { ...GLOBAL_OPTIONS, ...spec.options };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(
        Object.entries(options).map(([name, o]) => [
          name,
          { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) },
        ]),
      ),
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError((err as Error).message.split('. ')[0]!, spec.name);
    throw err;
  }
  const names = spec.args ?? [];
  const extra = parsed.positionals.slice(names.length);
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`, spec.name);
  const missing = names.slice(parsed.positionals.length);
  if (missing.length) throw new UsageError(`missing ${missing.join(' ')}`, spec.name);
  const positionals = Object.fromEntries(names.map((n, i) => [n, parsed.positionals[i]!]));
  return new Args(spec.name, parsed.values as Record<string, string | boolean | string[] | undefined>, positionals);
}

/** The command named by the leading words of argv (the longest match), and the words after it. */
export function findCommand(
  commands: readonly CommandSpec[],
  argv: string[],
): { spec: CommandSpec; rest: string[] } | undefined {
  let best: CommandSpec | undefined;
  for (const spec of commands) {
    const words = spec.name.split(' ');
    if (words.every((w, i) => argv[i] === w) && (!best || words.length > best.name.split(' ').length)) best = spec;
  }
  return best && { spec: best, rest: argv.slice(best.name.split(' ').length) };
}

/** A version's params as its JSON Schema states them (GET …/versions/:n/params-schema). */
export interface ParamsSchema {
  properties?: Record<string, { type?: string; enum?: unknown[] }>;
}

/** A plain `k=v` value read as the type the version declares for k (a number, a boolean, JSON, an enum value). */
function typedValue(key: string, raw: string, schema: ParamsSchema, command: string): unknown {
  const declared = schema.properties?.[key];
  if (!declared) return raw;
  const fail = (what: string) => new UsageError(`--param ${key} must be ${what}, not "${raw}"`, command);
  if (declared.enum) {
    const value = declared.enum.find((v) => String(v) === raw);
    if (value === undefined) throw fail(`one of ${declared.enum.map((v) => String(v)).join(', ')}`);
    return value;
  }
  switch (declared.type) {
    case 'integer':
    case 'number': {
      const n = raw.trim() === '' ? NaN : Number(raw);
      if (!Number.isFinite(n) || (declared.type === 'integer' && !Number.isSafeInteger(n)))
        throw fail(declared.type === 'integer' ? 'an integer' : 'a number');
      return n;
    }
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') throw fail('true or false');
      return raw === 'true';
    case 'array':
    case 'object':
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        throw fail(`JSON (an ${declared.type})`);
      }
    default:
      return raw;
  }
}

/**
 * `--param k=v` is a string, or with the version's params schema the type it declares for k; `--param k:=JSON` is
 * typed as written. A name the schema does not declare is a usage error listing those it does.
 */
export function parseParams(entries: string[], command: string, schema?: ParamsSchema): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param takes key=value or key:=json, not "${entry}"`, command);
    const typed = entry[eq - 1] === ':';
    const key = entry.slice(0, typed ? eq - 1 : eq);
    const raw = entry.slice(eq + 1);
    if (!key) throw new UsageError(`--param "${entry}" has no key`, command);
    if (schema?.properties && !(key in schema.properties)) {
      const known = Object.keys(schema.properties);
      throw new UsageError(
        `--param ${key}: the version has no such param (${known.join(', ') || 'it declares none'})`,
        command,
      );
    }
    if (!typed) params[key] = schema ? typedValue(key, raw, schema, command) : raw;
    else {
      try {
        params[key] = JSON.parse(raw) as unknown;
      } catch {
        throw new UsageError(`--param ${key}:= needs JSON, not ${raw}`, command);
      }
    }
  }
  return params;
}
