import { chmodSync, existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWorkflowFile } from '../../src/cli/emboflow/commands/apply';
import { renderTaskTable, runFields } from '../../src/cli/emboflow/commands/runs';
import { configPath, removeCredentials, resolveCredentials, storeCredentials } from '../../src/cli/emboflow/config';
import { UsageError } from '../../src/cli/emboflow/errors';
import {
  formatDuration,
  painter,
  renderFields,
  renderTable,
  stripAnsi,
  truncate,
  visibleWidth,
} from '../../src/cli/emboflow/format';

describe('tables', () => {
  test('columns are as wide as their widest cell, two spaces apart, without trailing blanks', () => {
    expect(
      renderTable(
        ['RUN', 'STATUS', 'ERROR'],
        [
          ['run_1', 'success', ''],
          ['run_22', 'failed', 'exit 1'],
        ],
      ),
    ).toBe(['RUN     STATUS   ERROR', 'run_1   success', 'run_22  failed   exit 1'].join('\n'));
  });

  test('colour codes take no width', () => {
    const paint = painter(true);
    const table = renderTable(
      ['A', 'B'],
      [
        [paint('green', 'ok'), 'x'],
        ['long', 'y'],
      ],
    );
    expect(stripAnsi(table)).toBe(['A     B', 'ok    x', 'long  y'].join('\n'));
    expect(visibleWidth(paint('red', 'héllo'))).toBe(5);
  });

  test('painter(false) leaves text alone', () => {
    expect(painter(false)('red', 'x')).toBe('x');
  });

  test('fields align their values and leave out empty ones', () => {
    expect(
      renderFields([
        ['run', 'run_1'],
        ['error', undefined],
        ['temporal', 'http://ui'],
      ]),
    ).toBe('run:       run_1\ntemporal:  http://ui');
  });

  test('the task table', () => {
    expect(
      renderTaskTable([
        { nodeId: 'a', status: 'success', attempt: 1, durationMs: 1500, cacheHit: true },
        { nodeId: 'b', status: 'failed', attempt: 2, durationMs: 61_000, errorMessage: 'container exited with code 4' },
        { nodeId: 'c', status: 'skipped', attempt: 0, skipReason: 'upstream_failed' },
      ]),
    ).toBe(
      [
        'NODE  STATUS            ATTEMPT  DURATION  ERROR',
        'a     success (cached)  1        1.5s',
        'b     failed            2        1m01s     container exited with code 4',
        'c     skipped                              skipped: upstream_failed',
      ].join('\n'),
    );
  });
});

describe('text', () => {
  test.each([
    [undefined, ''],
    [-1, ''],
    [0, '0ms'],
    [999, '999ms'],
    [1000, '1.0s'],
    [59_949, '59.9s'],
    [61_000, '1m01s'],
    [3_599_000, '59m59s'],
    [3_660_000, '1h01m'],
  ])('duration %p is %p', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  test('truncate counts code points and marks the cut', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('😀😀😀', 2)).toBe('😀…');
    expect(truncate('abc', 0)).toBe('');
  });
});

describe('credentials', () => {
  const io = (env: Record<string, string> = {}) => {
    const home = mkdtempSync(join(tmpdir(), 'emboflow-home-'));
    const warnings: string[] = [];
    return { env, homeDir: home, stderr: { write: (s: string) => warnings.push(s) }, warnings };
  };

  test('stored 0600 in a 0700 folder under ~/.config/emboflow, read back, removed', () => {
    const c = io();
    const file = storeCredentials(c, { apiUrl: 'http://api', apiKey: 'efk_1' });
    expect(file).toBe(join(c.homeDir, '.config', 'emboflow', 'config.json'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(file, '..')).mode & 0o777).toBe(0o700);
    expect(resolveCredentials(c)).toEqual({ apiUrl: 'http://api', apiKey: 'efk_1' });
    expect(removeCredentials(c)).toBe(file);
    expect(existsSync(file)).toBe(false);
    expect(removeCredentials(c)).toBeUndefined();
  });

  test('EMBOFLOW_CONFIG_DIR moves the file; the environment overrides it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'emboflow-cfg-'));
    const c = io({ EMBOFLOW_CONFIG_DIR: dir });
    storeCredentials(c, { apiUrl: 'http://file', apiKey: 'efk_file' });
    expect(configPath(c)).toBe(join(dir, 'config.json'));
    expect(resolveCredentials({ ...c, env: { ...c.env, EMBOFLOW_API_KEY: 'efk_env' } })).toEqual({
      apiUrl: 'http://file',
      apiKey: 'efk_env',
    });
    expect(resolveCredentials({ ...c, env: { ...c.env, EMBOFLOW_API_URL: 'http://env' } })).toEqual({
      apiUrl: 'http://env',
      apiKey: 'efk_file',
    });
  });

  test('no key anywhere is exit 5; a file others can read draws a warning', () => {
    const c = io();
    expect(() => resolveCredentials(c)).toThrow(expect.objectContaining({ exitCode: 5 }));
    const file = storeCredentials(c, { apiUrl: 'http://api', apiKey: 'efk_1' });
    chmodSync(file, 0o644);
    resolveCredentials(c);
    expect(c.warnings.join('')).toContain('readable by other users');
  });
});

describe('workflow files', () => {
  test('YAML and JSON give the same workflow', () => {
    const fromYaml = parseWorkflowFile('wf.yaml', 'name: Demo\nslug: demo\nruntimeGraph:\n  nodes: []\n');
    const fromJson = parseWorkflowFile('wf.json', '{"name":"Demo","slug":"demo","runtimeGraph":{"nodes":[]}}');
    expect(fromYaml).toEqual(fromJson);
    expect(parseWorkflowFile('stdin', '{"name":"x","runtimeGraph":{}}').name).toBe('x');
    expect(parseWorkflowFile('stdin', 'name: x\nruntimeGraph: {}').name).toBe('x');
  });

  test.each([
    ['wf.yaml', 'name: x\nruntimeGraph: {}\nruntimegraph: {}', /unknown field runtimegraph/],
    ['wf.yaml', 'runtimeGraph: {}', /name is required/],
    ['wf.yaml', 'name: x', /runtimeGraph is required/],
    ['wf.yaml', 'name: x\nruntimeGraph: [a]', /runtimeGraph is required/],
    ['wf.yaml', 'name: x\nproject: 12\nruntimeGraph: {}', /project must be a string/],
    ['wf.yaml', 'name: x\nvisualGraph: 1\nruntimeGraph: {}', /visualGraph must be a mapping/],
    ['wf.yaml', '- a', /expected a mapping/],
    ['wf.yml', 'name: x\n\truntimeGraph: {}', /wf.yml: not valid YAML: line 2: tabs/],
    ['wf.json', '{"name": ', /wf.json: not valid JSON/],
  ])('%s %j is refused', (name, text, message) => {
    expect(() => parseWorkflowFile(name, text)).toThrow(UsageError);
    expect(() => parseWorkflowFile(name, text)).toThrow(message);
  });
});

describe('run get', () => {
  test("a sub-workflow's run names the run and node that started it; a parent lists its child runs", () => {
    const child = renderFields(runFields({ id: 'run_c', status: 'success', parentRunId: 'run_p', parentNodeId: 'qa' }));
    expect(child).toContain('sub-workflow of:  run_p (node qa)');
    expect(child).not.toContain('child runs');
    const parent = renderFields(runFields({ id: 'run_p', status: 'running', childRunIds: ['run_c', 'run_d'] }));
    expect(parent).toMatch(/^child runs: +run_c, run_d$/m);
    expect(parent).not.toContain('sub-workflow of');
  });
});
