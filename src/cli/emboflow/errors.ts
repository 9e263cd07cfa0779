// Exit codes scripts can rely on, and the one translation from any failure to a message and a code.
import { ApiClientError } from '../../client/api-client';

export const ExitCode = {
  ok: 0,
  /** The run failed, or an error with no better code. */
  failed: 1,
  /** Bad arguments, an unreadable workflow file, or a request the API rejected as invalid (4xx validation). */
  usage: 2,
  cancelled: 3,
  notFound: 4,
  /** Not logged in, a key the API refuses (401), or a role that may not do this (403). */
  auth: 5,
  conflict: 6,
  /** The API could not be reached, answered 5xx, or asked us to slow down (429). */
  unavailable: 7,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure the CLI reports as `error: <message>` plus detail lines, exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

/** Thrown for arguments or files the CLI itself refuses, before any request is made. */
export class UsageError extends CliError {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message, ExitCode.usage);
  }
}

export function exitCodeForStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return ExitCode.auth;
  if (status === 404) return ExitCode.notFound;
  if (status === 409) return ExitCode.conflict;
  if (status === 408 || status === 429 || status >= 500) return ExitCode.unavailable;
  if (status >= 400) return ExitCode.usage;
  return ExitCode.failed;
}

/** One line per entry of an API error's details: graph problems ({nodeId, path, message}) or fields. */
export function detailLines(details: unknown): string[] {
  const entries = Array.isArray(details) ? details : details && typeof details === 'object' ? [details] : [];
  return entries.flatMap((d: unknown) => {
    if (!d || typeof d !== 'object') return [];
    const { nodeId, path, field, message } = d as Record<string, unknown>;
    const where = [nodeId !== undefined ? `node ${String(nodeId)}` : '', String(path ?? field ?? '')].filter(Boolean);
    if (message === undefined) return where.length ? [`${where.join(' ')}`] : [];
    return [`${where.length ? `${where.join(': ')}: ` : ''}${String(message)}`];
  });
}

/** Node's fetch fails with a TypeError whose cause names the socket error. */
function networkCause(err: unknown): string | undefined {
  if (!(err instanceof TypeError)) return undefined;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (err.message !== 'fetch failed' && !cause?.code) return undefined;
  return cause?.message ?? cause?.code ?? err.message;
}

export function toCliError(err: unknown, apiUrl?: string): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof ApiClientError) {
    const details = detailLines(err.details);
    const message =
      err.code === 'invalid_graph' && details.length
        ? `the workflow graph was rejected: ${details.length} problem(s)`
        : err.message;
    return new CliError(message, exitCodeForStatus(err.status), details);
  }
  const network = networkCause(err);
  if (network !== undefined) {
    return new CliError(`cannot reach the API${apiUrl ? ` at ${apiUrl}` : ''}: ${network}`, ExitCode.unavailable);
  }
  return new CliError(err instanceof Error ? err.message : String(err), ExitCode.failed);
}
