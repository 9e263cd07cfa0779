import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCommand, parseCommandArgs, parseParams } from '../../src/cli/emboflow/args';
import type { CommandSpec } from '../../src/cli/emboflow/args';
import { UsageError } from '../../src/cli/emboflow/errors';
import type { Io } from '../../src/cli/emboflow/io';
import { COMMANDS, main } from '../../src/cli/emboflow/main';

const spec = (name: string) => COMMANDS.find((c) => c.name === name)!;

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseCommandArgs', () => {
  test('positionals by name, repeatable options as lists, flags', () => {
    const a = parseCommandArgs(spec('run start'), [
      'wfd_1',
      '--asset',
      'ast_1',
      '--asset=ast_2',
      '--dataset',
      'dst_1',
      '--param',
      'a=1',
      '--version',
      '3',
      '--watch',
      '--json',
    ]);
    expect(a.arg('WORKFLOW_ID')).toBe('wfd_1');
    expect(a.list('asset')).toEqual(['ast_1', 'ast_2']);
    expect(a.list('dataset')).toEqual(['dst_1']);
    expect(a.list('param')).toEqual(['a=1']);
    expect(a.int('version')).toBe(3);
    expect(a.flag('watch')).toBe(true);
    expect(a.flag('json')).toBe(true);
    expect(a.string('idempotency-key')).toBeUndefined();
  });

  test('short options and "-" as a value (login --api-key - reads stdin)', () => {
    expect(parseCommandArgs(spec('logs'), ['run_1', 'n', '-f']).flag('follow')).toBe(true);
    expect(parseCommandArgs(spec('login'), ['--api-key', '-']).string('api-key')).toBe('-');
  });

  test.each([
    [['run_1', 'extra'], /unexpected argument "extra"/],
    [[], /missing RUN_ID/],
    [['run_1', '--nope'], /Unknown option '--nope'/],
  ])('run get %j is a usage error', (argv, message) => {
    expect(usageMessage(() => parseCommandArgs(spec('run get'), argv))).toMatch(message);
  });

  test('a string option without its value is a usage error', () => {
    expect(usageMessage(() => parseCommandArgs(spec('run list'), ['--project']))).toMatch(/--project/);
  });

  test.each(['0', '1.5', 'x', '99999999999999999999'])('--limit %s is refused', (value) => {
    const a = parseCommandArgs(spec('run list'), ['--limit', value]);
    expect(usageMessage(() => a.int('limit'))).toMatch(/--limit must be a whole number/);
  });

  test('a value that looks like an option is refused by the parser', () => {
    expect(usageMessage(() => parseCommandArgs(spec('run list'), ['--limit', '-1']))).toMatch(/--limit/);
  });
});

describe('findCommand', () => {
  const commands: CommandSpec[] = ['run', 'run start', 'logs'].map((name) => ({
    name,
    summary: '',
    run: async () => 0,
  }));

  test('the longest matching command wins and the rest is its argv', () => {
    expect(findCommand(commands, ['run', 'start', 'x'])).toEqual({ spec: commands[1], rest: ['x'] });
    expect(findCommand(commands, ['run', 'x'])).toEqual({ spec: commands[0], rest: ['x'] });
    expect(findCommand(commands, ['nope'])).toBeUndefined();
  });
});

describe('parseParams', () => {
  test('k=v is a string, k:=json is typed, = may appear in the value', () => {
    expect(parseParams(['a=1', 'b:=1', 'c:={"x":[true]}', 'd=x=y', 'e='], 'run start')).toEqual({
      a: '1',
      b: 1,
      c: { x: [true] },
      d: 'x=y',
      e: '',
    });
  });

  test.each([['noequals'], ['=v'], ['k:=not json'], [':=1']])('%s is refused', (entry) => {
    expect(usageMessage(() => parseParams([entry], 'run start'))).toMatch(/--param/);
  });
});

interface Captured {
  io: Io;
  stdout(): string;
  stderr(): string;
}

function capture(env: Record<string, string> = {}, stdin = ''): Captured {
  const out: string[] = [];
  const err: string[] = [];
  const home = mkdtempSync(join(tmpdir(), 'emboflow-cli-'));
  return {
    io: {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      env: { EMBOFLOW_CONFIG_DIR: join(home, 'config'), ...env },
      homeDir: home,
      readStdin: async () => stdin,
      onInterrupt: () => () => undefined,
    },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

describe('main: usage', () => {
  test('no arguments prints the help, which documents every exit code', async () => {
    const c = capture();
    expect(await main([], c.io)).toBe(0);
    for (const code of ['0', '1', '2', '3', '4', '5', '6', '7'])
      expect(c.stdout()).toMatch(new RegExp(`^  ${code}  \\S`, 'm'));
    for (const command of COMMANDS) expect(c.stdout()).toContain(command.name);
  });

  test('a command --help, and help COMMAND, print its usage and options', async () => {
    for (const argv of [
      ['run', 'start', '--help'],
      ['help', 'run', 'start'],
      ['run', 'start', 'wf', '-h'],
    ]) {
      const c = capture();
      expect(await main(argv, c.io)).toBe(0);
      expect(c.stdout()).toContain('Usage: emboflow run start WORKFLOW_ID [options]');
      expect(c.stdout()).toContain('--idempotency-key KEY');
    }
  });

  test.each([
    [['bogus'], /unknown command "bogus"/],
    [['run', 'bogus'], /unknown command "run bogus"/],
    [['run', 'start'], /missing WORKFLOW_ID/],
    [['run', 'start', 'wf', '--version', 'two'], /--version must be a whole number/],
    [['run', 'list'], /--project ID is required/],
    [['run', 'approve', 'run_1', 'gate'], /exactly one of --approve and --reject/],
    [['run', 'approve', 'run_1', 'gate', '--approve', '--reject'], /exactly one of --approve and --reject/],
    [['apply'], /-f FILE is required/],
    [['login'], /--api-key KEY is required/],
    [['login', '--api-url', 'ftp://x', '--api-key', 'k'], /http or https/],
  ])('%j exits 2 with error: on stderr', async (argv, message) => {
    const c = capture();
    expect(await main(argv, c.io)).toBe(2);
    expect(c.stderr()).toMatch(/^error: /);
    expect(c.stderr()).toMatch(message);
    expect(c.stdout()).toBe('');
  });

  test('a group word alone lists its commands on stderr and exits 2', async () => {
    const c = capture();
    expect(await main(['run'], c.io)).toBe(2);
    expect(c.stderr()).toContain('run watch RUN_ID');
  });

  test('a command that needs the API exits 5 when not logged in', async () => {
    const c = capture();
    expect(await main(['run', 'get', 'run_1'], c.io)).toBe(5);
    expect(c.stderr()).toMatch(/^error: not logged in/);
  });
});

describe('main: API answers', () => {
  let fetchMock: jest.SpyInstance;
  afterEach(() => fetchMock.mockRestore());

  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

  function stubApi(routes: Record<string, () => Response>) {
    fetchMock = jest.spyOn(global, 'fetch').mockImplementation(async (input, init) => {
      const url = new URL(String(input));
      const route = routes[`${init?.method ?? 'GET'} ${url.pathname}`];
      if (!route) throw new Error(`unexpected ${init?.method} ${url.pathname}`);
      return route();
    });
  }

  const env = { EMBOFLOW_API_URL: 'http://api.test', EMBOFLOW_API_KEY: 'efk_test' };

  test('apply prints every problem of an invalid graph and exits 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emboflow-apply-'));
    const file = join(dir, 'wf.yaml');
    writeFileSync(file, 'name: Demo\nproject: prj_1\nruntimeGraph:\n  nodes:\n    - id: a\n');
    stubApi({
      'GET /v1/projects/prj_1/workflows': () => json(200, { items: [], nextCursor: null }),
      'POST /v1/projects/prj_1/workflows': () => json(201, { id: 'wfd_1', slug: 'demo', name: 'Demo' }),
      'POST /v1/workflows/wfd_1/versions': () =>
        json(400, {
          error: {
            code: 'invalid_graph',
            message: 'runtimeGraph has 2 problem(s): ...',
            details: [
              { nodeId: 'a', path: 'nodes.0.executorType', message: 'Invalid input' },
              { nodeId: 'b', path: 'edges.0.target', message: 'edge target b is not a node' },
            ],
          },
        }),
    });
    const c = capture(env);
    expect(await main(['apply', '-f', file], c.io)).toBe(2);
    expect(c.stderr()).toBe(
      [
        'error: the workflow graph was rejected: 2 problem(s)',
        '  - node a: nodes.0.executorType: Invalid input',
        '  - node b: edges.0.target: edge target b is not a node',
        '',
      ].join('\n'),
    );
  });

  test('apply finds the workflow by slug on a later page and publishes the new version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emboflow-apply-'));
    const file = join(dir, 'wf.json');
    writeFileSync(file, JSON.stringify({ name: 'Hello World!', runtimeGraph: { nodes: [] } }));
    let page = 0;
    stubApi({
      'GET /v1/projects/prj_9/workflows': () =>
        page++ === 0
          ? json(200, { items: [{ id: 'wfd_other', slug: 'other' }], nextCursor: 'c2' })
          : json(200, { items: [{ id: 'wfd_hello', slug: 'hello-world' }], nextCursor: null }),
      'POST /v1/workflows/wfd_hello/versions': () => json(201, { id: 'wfv_1', versionNumber: 4 }),
      'POST /v1/workflows/wfd_hello/versions/4/publish': () => json(200, { id: 'wfd_hello' }),
    });
    const c = capture(env);
    expect(await main(['apply', '-f', file, '--project', 'prj_9', '--publish'], c.io)).toBe(0);
    expect(c.stdout()).toBe('workflow:  wfd_hello (hello-world, existing)\nversion:   4 (published)\n');
    expect(fetchMock.mock.calls[1]![0].toString()).toContain('cursor=c2');
  });

  test.each([
    [401, 'unauthorized', 5],
    [403, 'forbidden', 5],
    [404, 'not_found', 4],
    [409, 'run_finished', 6],
    [503, 'unavailable', 7],
    [400, 'validation_failed', 2],
  ])('an API %i exits %#', async (status, code, exit) => {
    stubApi({ 'POST /v1/runs/run_1/cancel': () => json(status, { error: { code, message: `the ${code} message` } }) });
    const c = capture(env);
    expect(await main(['run', 'cancel', 'run_1'], c.io)).toBe(exit);
    expect(c.stderr()).toBe(`error: the ${code} message\n`);
  });

  test('a proxy page that is not JSON still maps by status', async () => {
    const badGateway = () => new Response('<html>bad gateway</html>', { status: 502 });
    stubApi({ 'GET /v1/runs/run_1': badGateway, 'GET /v1/runs/run_1/tasks': badGateway });
    const c = capture(env);
    expect(await main(['run', 'get', 'run_1'], c.io)).toBe(7);
    expect(c.stderr()).toMatch(/^error: GET \/v1\/runs\/run_1: HTTP 502/);
  });

  test('an unreachable API exits 7 and names the URL', async () => {
    fetchMock = jest.spyOn(global, 'fetch').mockRejectedValue(
      Object.assign(new TypeError('fetch failed'), {
        cause: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' },
      }),
    );
    const c = capture(env);
    expect(await main(['whoami'], c.io)).toBe(7);
    expect(c.stderr()).toBe('error: cannot reach the API at http://api.test: connect ECONNREFUSED\n');
  });

  test('run start sends bindings, typed params and the Idempotency-Key', async () => {
    stubApi({
      'GET /v1/workflows/wfd_1/versions/2/params-schema': () => json(200, { type: 'object' }),
      'POST /v1/workflows/wfd_1/runs': () =>
        json(202, {
          id: 'run_1',
          status: 'pending',
          workflowDefinitionId: 'wfd_1',
          versionNumber: 2,
          temporalUiUrl: 'http://ui/x',
        }),
    });
    const c = capture(env);
    const argv = [
      'run',
      'start',
      'wfd_1',
      '--version',
      '2',
      '--asset',
      'a1',
      '--dataset',
      'd1',
      '--param',
      'n:=3',
      '--idempotency-key',
      'k-1',
    ];
    expect(await main(argv, c.io)).toBe(0);
    const [, init] = fetchMock.mock.calls.find(([, i]) => i?.method === 'POST')!;
    expect(JSON.parse(init.body)).toEqual({
      versionNumber: 2,
      inputBindings: [
        { kind: 'asset', id: 'a1' },
        { kind: 'dataset', id: 'd1' },
      ],
      params: { n: 3 },
    });
    expect(init.headers['Idempotency-Key']).toBe('k-1');
    expect(c.stdout()).toContain('run:       run_1 started');
    expect(c.stdout()).toContain('temporal:  http://ui/x');
  });

  test("run start reads plain --param values as the published version's params schema types them", async () => {
    stubApi({
      'GET /v1/workflows/wfd_1': () => json(200, { id: 'wfd_1', publishedVersionNumber: 4 }),
      'GET /v1/workflows/wfd_1/versions/4/params-schema': () =>
        json(200, {
          type: 'object',
          properties: {
            n: { type: 'integer' },
            ratio: { type: 'number' },
            dry: { type: 'boolean' },
            mode: { enum: ['fast', 2] },
            tags: { type: 'array' },
            name: { type: 'string' },
          },
        }),
      'POST /v1/workflows/wfd_1/runs': () =>
        json(202, { id: 'run_1', status: 'pending', workflowDefinitionId: 'wfd_1', versionNumber: 4 }),
    });
    const params = ['n=3', 'ratio=0.5', 'dry=true', 'mode=2', 'tags=["a"]', 'name=007'];
    const c = capture(env);
    expect(await main(['run', 'start', 'wfd_1', ...params.flatMap((p) => ['--param', p])], c.io)).toBe(0);
    const [, init] = fetchMock.mock.calls.find(([, i]) => i?.method === 'POST')!;
    expect(JSON.parse(init.body).params).toEqual({ n: 3, ratio: 0.5, dry: true, mode: 2, tags: ['a'], name: '007' });

    for (const [bad, message] of [
      ['n=3.5', /--param n must be an integer/],
      ['dry=yes', /--param dry must be true or false/],
      ['mode=slow', /--param mode must be one of fast, 2/],
      ['nope=1', /--param nope: the version has no such param \(n, ratio, dry, mode, tags, name\)/],
    ] as const) {
      const e = capture(env);
      expect(await main(['run', 'start', 'wfd_1', '--param', bad], e.io)).toBe(2);
      expect(e.stderr()).toMatch(message);
    }
  });
});
