// `emboflow`: finds the command, parses its arguments, runs it, and turns any failure into `error: ...` on stderr
// and one of the documented exit codes.
import { version } from '../../../package.json';
import { ApiClient } from '../../client/api-client';
import { findCommand, GLOBAL_OPTIONS, parseCommandArgs } from './args';
import type { CommandSpec, Context, OptionSpec } from './args';
import { apply } from './commands/apply';
import { assetsUpload } from './commands/assets';
import { login, logout, whoami } from './commands/auth';
import { logs } from './commands/logs';
import {
  runApprove,
  runBulkCancel,
  runBulkRetry,
  runCancel,
  runGet,
  runList,
  runRetry,
  runRetryTask,
  runStart,
  runWatch,
} from './commands/runs';
import { SCHEDULE_COMMANDS } from './commands/schedules';
import { resolveCredentials } from './config';
import { ExitCode, UsageError, toCliError } from './errors';
import type { Io } from './io';

export const COMMANDS: readonly CommandSpec[] = [
  login,
  logout,
  whoami,
  apply,
  runStart,
  runWatch,
  runList,
  runGet,
  runCancel,
  runRetry,
  runRetryTask,
  runBulkCancel,
  runBulkRetry,
  runApprove,
  logs,
  assetsUpload,
  ...SCHEDULE_COMMANDS,
];

const EXIT_CODES = `Exit codes:
  0  success
  1  the run failed, or an error with no better code
  2  usage error, or a request the API rejected as invalid (validation, invalid graph)
  3  the run was cancelled
  4  not found
  5  not logged in, or the API refused the key or the role (401, 403)
  6  conflict with the current state (409), e.g. cancelling a finished run
  7  the API is unreachable or unavailable (network error, 5xx, 429)`;

const CONFIGURATION = `Configuration:
  The API URL and key live in ~/.config/emboflow/config.json (mode 0600); EMBOFLOW_CONFIG_DIR moves the folder.
  EMBOFLOW_API_URL and EMBOFLOW_API_KEY override the file. NO_COLOR turns colour off.`;

function optionLines(options: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(options).map(([name, o]) => [
    `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`,
    o.description,
  ]);
  const width = Math.max(...rows.map(([left]) => left!.length));
  return rows.map(([left, right]) => `  ${left!.padEnd(width)}  ${right}`);
}

function commandLines(commands: readonly CommandSpec[]): string[] {
  const usage = (c: CommandSpec) => [c.name, ...(c.args ?? [])].join(' ');
  const width = Math.max(...commands.map((c) => usage(c).length));
  return commands.map((c) => `  ${usage(c).padEnd(width)}  ${c.summary}`);
}

export function mainHelp(): string {
  return [
    'emboflow: the EmboFlow command line',
    '',
    'Usage: emboflow <command> [arguments] [options]',
    '',
    'Commands:',
    ...commandLines(COMMANDS),
    '',
    'Options of every command:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Run `emboflow <command> --help` for its options.',
    '',
    CONFIGURATION,
    '',
    EXIT_CODES,
  ].join('\n');
}

export function commandHelp(spec: CommandSpec): string {
  const options = { ...spec.options, ...GLOBAL_OPTIONS };
  return [
    `Usage: emboflow ${[spec.name, ...(spec.args ?? [])].join(' ')} [options]`,
    '',
    spec.summary,
    ...(spec.details ? ['', spec.details] : []),
    '',
    'Options:',
    ...optionLines(options),
    '',
    EXIT_CODES,
  ].join('\n');
}

function groupHelp(group: string, commands: readonly CommandSpec[]): string {
  return [`Usage: emboflow ${group} <command> [arguments] [options]`, '', 'Commands:', ...commandLines(commands)].join(
    '\n',
  );
}

const wantsHelp = (argv: string[]) => argv.some((a) => a === '--help' || a === '-h');

export async function main(argv: string[], io: Io): Promise<number> {
  let apiUrl: string | undefined;
  const ctx: Context = {
    io,
    json: false,
    client() {
      const creds = resolveCredentials(io);
      apiUrl = creds.apiUrl;
      return new ApiClient(creds.apiUrl, creds.apiKey);
    },
    out: (text = '') => io.stdout.write(`${text}\n`),
    printJson: (value) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  };
  try {
    const [first] = argv;
    if (first === undefined || first === '--help' || first === '-h' || (first === 'help' && argv.length === 1)) {
      ctx.out(mainHelp());
      return ExitCode.ok;
    }
    if (first === '--version') {
      ctx.out(version);
      return ExitCode.ok;
    }
    const words = first === 'help' ? argv.slice(1) : argv;
    const found = findCommand(COMMANDS, words);
    if (!found) {
      const group = COMMANDS.filter((c) => c.name.startsWith(`${words[0]} `));
      if (group.length && (wantsHelp(words) || first === 'help')) {
        ctx.out(groupHelp(words[0]!, group));
        return ExitCode.ok;
      }
      if (group.length && words.length === 1) {
        io.stderr.write(`${groupHelp(words[0]!, group)}\n`);
        return ExitCode.usage;
      }
      const unknown = words.slice(0, group.length ? 2 : 1).join(' ');
      throw new UsageError(`unknown command "${unknown}"`, group.length ? words[0] : undefined);
    }
    if (first === 'help' || wantsHelp(found.rest)) {
      ctx.out(commandHelp(found.spec));
      return ExitCode.ok;
    }
    const args = parseCommandArgs(found.spec, found.rest);
    ctx.json = args.flag('json');
    return await found.spec.run(ctx, args);
  } catch (err) {
    const e = toCliError(err, apiUrl);
    io.stderr.write(`error: ${e.message}\n${e.details.map((d) => `  - ${d}\n`).join('')}`);
    if (e instanceof UsageError) io.stderr.write(`see: emboflow ${e.command ? `${e.command} ` : ''}--help\n`);
    return e.exitCode;
  }
}
