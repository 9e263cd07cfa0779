import {
  CliError,
  detailLines,
  ExitCode,
  exitCodeForStatus,
  toCliError,
  UsageError,
} from '../../src/cli/emboflow/errors';
import { runExitCode } from '../../src/cli/emboflow/run-state';
import { ApiClientError } from '../../src/client/api-client';

describe('exit codes', () => {
  test.each([
    [400, ExitCode.usage],
    [413, ExitCode.usage],
    [415, ExitCode.usage],
    [422, ExitCode.usage],
    [401, ExitCode.auth],
    [403, ExitCode.auth],
    [404, ExitCode.notFound],
    [409, ExitCode.conflict],
    [408, ExitCode.unavailable],
    [429, ExitCode.unavailable],
    [500, ExitCode.unavailable],
    [503, ExitCode.unavailable],
    [302, ExitCode.failed],
  ])('HTTP %i exits %i', (status, code) => {
    expect(exitCodeForStatus(status)).toBe(code);
  });

  test('the documented numbers', () => {
    expect(ExitCode).toEqual({
      ok: 0,
      failed: 1,
      usage: 2,
      cancelled: 3,
      notFound: 4,
      auth: 5,
      conflict: 6,
      unavailable: 7,
    });
  });

  test.each([
    ['success', 0],
    ['failed', 1],
    ['cancelled', 3],
  ])('a watched run that ends %s exits %i', (status, code) => {
    expect(runExitCode(status)).toBe(code);
  });
});

describe('toCliError', () => {
  test('an API error keeps its message and maps its status', () => {
    const e = toCliError(new ApiClientError(409, 'run_finished', 'run run_1 has already finished (success)'));
    expect(e).toEqual(
      expect.objectContaining({ message: 'run run_1 has already finished (success)', exitCode: 6, details: [] }),
    );
  });

  test('invalid_graph lists each problem with its node and path', () => {
    const e = toCliError(
      new ApiClientError(400, 'invalid_graph', 'runtimeGraph has 2 problem(s): ...', [
        {
          nodeId: 'a',
          path: 'nodes.0.executorConfig.image',
          message: 'exactly one of image or customNodeId is required',
        },
        { path: 'edges', message: 'the graph has a cycle' },
      ]),
    );
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe('the workflow graph was rejected: 2 problem(s)');
    expect(e.details).toEqual([
      'node a: nodes.0.executorConfig.image: exactly one of image or customNodeId is required',
      'edges: the graph has a cycle',
    ]);
  });

  test('validation details name their fields', () => {
    const e = toCliError(
      new ApiClientError(400, 'validation_failed', 'invalid body', [{ field: 'body.slug', message: 'bad slug' }]),
    );
    expect(e.details).toEqual(['body.slug: bad slug']);
    expect(detailLines({ field: 'slug' })).toEqual(['slug']);
    expect(detailLines('not a list')).toEqual([]);
  });

  test("fetch's network failure exits 7 with the socket error and the API URL", () => {
    const err = Object.assign(new TypeError('fetch failed'), {
      cause: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9' },
    });
    const e = toCliError(err, 'http://127.0.0.1:9');
    expect(e.exitCode).toBe(7);
    expect(e.message).toBe('cannot reach the API at http://127.0.0.1:9: connect ECONNREFUSED 127.0.0.1:9');
  });

  test('CLI errors pass through; anything else exits 1', () => {
    const usage = new UsageError('bad');
    expect(toCliError(usage)).toBe(usage);
    expect(toCliError(new Error('boom'))).toEqual(expect.objectContaining({ message: 'boom', exitCode: 1 }));
    expect(toCliError(new TypeError('x is not a function')).exitCode).toBe(1);
    expect(toCliError('a string')).toBeInstanceOf(CliError);
  });
});
