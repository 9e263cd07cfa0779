// The lint rules that hold the architecture: pure code imports no I/O module by any spelling, MongoDB is reached only
// from src/db, imports are ordered, and an import used only for types says so. Each case lints planted code with the
// repo's own config and checks which rule fired, so a rule that stops firing (or fires everywhere) fails here.
import { join, posix, resolve } from 'node:path';
import { ESLint } from 'eslint';
import type { Linter } from 'eslint';

const ROOT = resolve(__dirname, '../..');
const PLANTED = '__lint_planted__.ts';

const PURE_DIRS = ['workflows', 'src/dag', 'src/dag/sub', 'src/domain', 'src/engine'];
const BOUNDARY_RULES = ['import-x/no-restricted-paths', 'no-restricted-imports'];
const MONGO_RULE = 'no-restricted-syntax';

// Typed linting builds a TypeScript program on the first file (10-20 s on a shared 2-core machine); then each
// planted file takes milliseconds.
jest.setTimeout(20_000);

let eslint: ESLint;

beforeAll(async () => {
  // The planted files exist only as text, never on disk (others lint and typecheck this checkout): the TS project
  // service takes them as default-project files compiled with the repo's tsconfig.
  const plantedGlobs = ['*', '*/*', '*/*/*'].map((d) => `${d}/${PLANTED}`);
  eslint = new ESLint({
    cwd: ROOT,
    // ESLint loads a config file with import(), which Jest's module sandbox cannot run: the same config, passed in.
    overrideConfigFile: true,
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    baseConfig: require('../../eslint.config.js') as Linter.Config[],
    overrideConfig: {
      files: ['**/*.ts'],
      languageOptions: {
        parserOptions: {
          projectService: {
            allowDefaultProject: plantedGlobs,
            defaultProject: 'tsconfig.json',
            // One planted file per folder tested; the service keeps each open.
            maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 32,
          },
        },
      },
    },
  });
  await planted('workflows', '');
}, 120_000);

/** The rule ids `code` raises as `file` (repo-relative). No parse error and no "file ignored": either would make every "did not fire" vacuous. */
async function rulesFired(code: string, file: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  const messages = result!.messages;
  expect(messages.filter((m) => m.fatal || m.ruleId === null)).toEqual([]);
  return messages.map((m) => m.ruleId!);
}

const planted = (dir: string, code: string) => rulesFired(code, `${dir}/${PLANTED}`);

/** How a file in `dir` spells the repo-relative `target` with a relative path. */
function rel(dir: string, target: string): string {
  const r = posix.relative(dir, target);
  return r.startsWith('.') ? r : `./${r}`;
}

/** Imports of the project's I/O modules, spelled from `dir`, and the rule that must catch each. */
const IO_IMPORTS: Array<[string, (dir: string) => string, string]> = [
  [
    'an activity module',
    (d) => `import { x } from '${rel(d, 'activities/docker-node')}';`,
    'import-x/no-restricted-paths',
  ],
  [
    'activities/ by its index, type only',
    (d) => `import type { Activities } from '${rel(d, 'activities')}';`,
    'import-x/no-restricted-paths',
  ],
  [
    'activities/ as ./../activities',
    (d) => `import { x } from './${rel(d, 'activities')}';`,
    'import-x/no-restricted-paths',
  ],
  // The contract moved to src/engine: the old path no longer resolves, so only the spelling net can catch it.
  [
    'the old contract path, type only',
    (d) => `import type { X } from '${rel(d, 'activities/types')}';`,
    'no-restricted-imports',
  ],
  ['a repository', (d) => `import { RunStore } from '${rel(d, 'src/db/runs')}';`, 'import-x/no-restricted-paths'],
  [
    'object storage, for its side effects',
    (d) => `import '${rel(d, 'src/storage/object-store')}';`,
    'import-x/no-restricted-paths',
  ],
  ['a service', (d) => `import { x } from '${rel(d, 'src/services/runs')}';`, 'import-x/no-restricted-paths'],
  [
    'a service by a detour through src/dag',
    (d) => `import { x } from '${rel(d, 'src/dag')}/../../src/services/runs';`,
    'import-x/no-restricted-paths',
  ],
  [
    'a repository by absolute path',
    () => `import { RunStore } from '${ROOT}/src/db/runs';`,
    'import-x/no-restricted-paths',
  ],
  ['the API, re-exported', (d) => `export { createApp } from '${rel(d, 'api/app')}';`, 'import-x/no-restricted-paths'],
  [
    'docker, imported dynamically',
    (d) => `export const load = () => import('${rel(d, 'src/docker/container-runner')}');`,
    'import-x/no-restricted-paths',
  ],
  ['the CLI', (d) => `import { x } from '${rel(d, 'src/cli/worker')}';`, 'import-x/no-restricted-paths'],
  ['a Node built-in', () => `import { x } from 'node:fs';`, 'no-restricted-imports'],
];

describe('pure code (workflows, src/dag, src/domain, src/engine, src/temporal/names.ts) imports no I/O module', () => {
  const cases = PURE_DIRS.flatMap((dir) =>
    IO_IMPORTS.map(([what, code, rule]) => [dir, what, code(dir), rule] as const),
  );

  test.each(cases)('in %s/, importing %s fails with the boundary rule', async (dir, _what, code, rule) => {
    expect(await planted(dir, code)).toContain(rule);
  });

  test('src/temporal/names.ts is pure, the rest of src/temporal is not', async () => {
    const code = `import { RunStore } from '../db/runs';`;
    expect(await rulesFired(code, 'src/temporal/names.ts')).toContain('import-x/no-restricted-paths');
    const fired = await planted('src/temporal', code);
    for (const rule of BOUNDARY_RULES) expect(fired).not.toContain(rule);
  });

  test.each(
    ['activities', 'api', 'src/services'].flatMap((dir) =>
      IO_IMPORTS.map(([what, code]) => [dir, what, code(dir)] as const),
    ),
  )('in %s/, importing %s is allowed', async (dir, _what, code) => {
    const fired = await planted(dir, code);
    for (const rule of BOUNDARY_RULES) expect(fired).not.toContain(rule);
  });

  test.each(PURE_DIRS)(
    'in %s/, the sandbox API, the contract in src/engine and other pure modules are allowed',
    async (dir) => {
      const code = [
        `import { proxyActivities } from '@temporalio/workflow';`,
        `import { z } from 'zod';`,
        `import { indexGraph } from '${rel(dir, 'src/dag/graph')}';`,
        `import type { RuntimeEdge } from '${rel(dir, 'src/domain/runtime-graph')}';`,
        `import type { PlanNode } from '${rel(dir, 'src/engine/contract')}';`,
        `import { SearchAttr } from '${rel(dir, 'src/temporal/names')}';`,
        `export const all = [proxyActivities, z, indexGraph, SearchAttr];`,
        `export type Both = RuntimeEdge | PlanNode;`,
      ].join('\n');
      const fired = await planted(dir, code);
      for (const rule of BOUNDARY_RULES) expect(fired).not.toContain(rule);
    },
  );
});

describe('MongoDB is reached only from src/db', () => {
  const CALLS: Array<[string, string]> = [
    ['db.collection()', `declare const db: any;\nexport const c = db.collection('x');`],
    ['db.collection<T>()', `declare const db: any;\nexport const c = db.collection<{ a: 1 }>('x');`],
    [
      'this.db.collection()',
      `export class R {\n  constructor(private db: any) {}\n  c() {\n    return this.db.collection('x');\n  }\n}`,
    ],
    ['db?.collection()', `declare const db: any;\nexport const c = db?.collection('x');`],
    ["db['collection']()", `declare const db: any;\nexport const c = db['collection']('x');`],
  ];

  test.each(
    ['api', 'activities', 'src/services'].flatMap((dir) => CALLS.map(([what, code]) => [dir, what, code] as const)),
  )('in %s/, %s fails', async (dir, _what, code) => {
    expect(await planted(dir, code)).toContain(MONGO_RULE);
  });

  test.each(
    ['src/db', 'test', 'test/integration'].flatMap((dir) => CALLS.map(([what, code]) => [dir, what, code] as const)),
  )('in %s/, %s is allowed', async (dir, _what, code) => {
    expect(await planted(dir, code)).not.toContain(MONGO_RULE);
  });

  test('other members that merely mention collections are allowed everywhere', async () => {
    const code = `declare const db: any;\nexport const c = [db.collections(), db.listCollections(), db.collectionName];`;
    expect(await planted('api', code)).not.toContain(MONGO_RULE);
  });
});

describe('Temporal is called with what workflows/ exports, never a workflow, update or query name in a string', () => {
  const BY_NAME = /never a name in a string/;
  const byName = async (dir: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath: join(ROOT, dir, PLANTED) });
    expect(result!.messages.filter((m) => m.fatal || m.ruleId === null)).toEqual([]);
    return result!.messages.filter((m) => m.ruleId === MONGO_RULE && BY_NAME.test(m.message)).length;
  };
  const CALLS: Array<[string, string]> = [
    [
      'client.workflow.start by name',
      `declare const client: any;\nexport const p = client.workflow.start('runWorkflow', {});`,
    ],
    [
      'client.workflow.execute by template',
      'declare const client: any;\nexport const p = client.workflow.execute(`runWorkflow`, {});',
    ],
    ['handle.executeUpdate by name', `declare const h: any;\nexport const p = h.executeUpdate('approve', {});`],
    [
      'executeUpdateWithStart by name',
      `declare const c: any;\nexport const p = c.workflow.executeUpdateWithStart('retryTask', {});`,
    ],
    ['handle.query by name', `declare const h: any;\nexport const p = h.query('progress');`],
    [
      'new WithStartWorkflowOperation by name',
      `declare const WithStartWorkflowOperation: any;\nexport const o = new WithStartWorkflowOperation('runWorkflow', {});`,
    ],
  ];

  test.each(
    ['api', 'src/services', 'test/e2e', 'bench'].flatMap((dir) =>
      CALLS.map(([what, code]) => [dir, what, code] as const),
    ),
  )('in %s/, %s fails', async (dir, _what, code) => {
    expect(await byName(dir, code)).toBe(1);
  });

  test('by definition (a function or a defineUpdate/defineQuery value) passes', async () => {
    const code = `declare const c: any, runWorkflow: any, approveUpdate: any, progressQuery: any;\nexport const p = [c.workflow.start(runWorkflow, {}), c.h.executeUpdate(approveUpdate, {}), c.h.query(progressQuery)];`;
    expect(await byName('api', code)).toBe(0);
  });

  test('workflows/ defines the names and may use them', async () => {
    expect(await byName('workflows', CALLS[2]![1])).toBe(0);
  });
});

describe('import order: built-ins, packages, then the project, alphabetized, no blank lines between groups', () => {
  const ORDER = 'import-x/order';

  test.each([
    [
      'a package before a built-in',
      `import { z } from 'zod';\nimport { readFileSync } from 'node:fs';\nexport const a = [z, readFileSync];`,
    ],
    [
      'a project module before a package',
      `import { x } from './a';\nimport { z } from 'zod';\nexport const a = [x, z];`,
    ],
    [
      'siblings out of alphabetical order',
      `import { y } from './b';\nimport { x } from './a';\nexport const a = [x, y];`,
    ],
    [
      'a blank line between groups',
      `import { readFileSync } from 'node:fs';\n\nimport { z } from 'zod';\nexport const a = [z, readFileSync];`,
    ],
  ])('%s is flagged', async (_what, code) => {
    expect(await planted('activities', code)).toContain(ORDER);
  });

  test('the expected order passes', async () => {
    const code = [
      `import { readFileSync } from 'node:fs';`,
      `import { z } from 'zod';`,
      `import { w } from '../src/ids';`,
      `import type { T } from './a';`,
      `import { y } from './b';`,
      `export const a: T = [readFileSync, z, w, y];`,
    ].join('\n');
    expect(await planted('activities', code)).not.toContain(ORDER);
  });
});

describe('an import used only for types is a top-level import type', () => {
  const TYPE_IMPORTS = '@typescript-eslint/consistent-type-imports';
  const SPECIFIER_STYLE = 'import-x/consistent-type-specifier-style';
  const FROM = `'../src/domain/runtime-graph'`;

  test('a value import of a type-only symbol is flagged', async () => {
    const code = `import { RuntimeEdge } from ${FROM};\nexport const f = (e: RuntimeEdge): RuntimeEdge => e;`;
    expect(await planted('activities', code)).toContain(TYPE_IMPORTS);
  });

  test('an inline type specifier is flagged', async () => {
    const code = `import { type RuntimeEdge, RuntimeGraphSchema } from ${FROM};\nexport const s = RuntimeGraphSchema;\nexport const f = (e: RuntimeEdge) => e;`;
    expect(await planted('activities', code)).toContain(SPECIFIER_STYLE);
  });

  test('separate import type and value imports pass', async () => {
    const code = `import type { RuntimeEdge } from ${FROM};\nimport { RuntimeGraphSchema } from ${FROM};\nexport const s = RuntimeGraphSchema;\nexport const f = (e: RuntimeEdge) => e;`;
    const fired = await planted('activities', code);
    expect(fired).not.toContain(TYPE_IMPORTS);
    expect(fired).not.toContain(SPECIFIER_STYLE);
  });
});
