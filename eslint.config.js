// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const importX = require('eslint-plugin-import-x');

/** Code that must stay deterministic: the workflow sandbox and the pure modules it imports. */
const PURE = ['workflows', 'src/dag', 'src/domain', 'src/engine', 'src/temporal/names.ts'];

/** The project's I/O modules. Pure code may not import them, not even for types: what both sides share lives in src/engine. */
const IO_MODULES = ['src/db', 'src/docker', 'src/storage', 'src/services', 'src/cli', 'api', 'activities'];
const IO_MODULE_MESSAGE =
  "Pure code may not import the project's I/O modules; the workflow/activity contract is in src/engine.";

/** Modules that do I/O or need Node: banned where code must stay deterministic (workflow sandbox, pure DAG). */
const SANDBOX_BANNED = [
  {
    group: ['node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'net', 'http', 'https', 'crypto', 'stream'],
    message: 'Node built-ins do I/O or are non-deterministic: not allowed in workflow or pure DAG code.',
  },
  {
    group: ['mongodb', 'dockerode', '@aws-sdk/*', 'express', 'pino', 'prom-client', 'tar-stream'],
    message: 'I/O libraries belong in activities or src services, not in workflow or pure DAG code.',
  },
  {
    group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity'],
    message: 'Workflow code may import only @temporalio/workflow and @temporalio/common.',
  },
  // The resolving rule below is the real check; this net also catches a spelling that no longer resolves (a moved file).
  {
    regex: '^[./](.*/)?(activities|api|db|docker|storage|services|cli)(/|$)',
    message: IO_MODULE_MESSAGE,
  },
];

const MONGO_OUTSIDE_DB = {
  selector: "CallExpression:matches([callee.property.name='collection'], [callee.property.value='collection'])",
  message: 'MongoDB is reached only through the repositories in src/db: add or use a repository function there.',
};

const TEMPORAL_NAME_MESSAGE =
  'Start workflows and send updates, signals and queries with what workflows/ exports (the workflow function, defineUpdate/defineQuery), never a name in a string: a changed signature must fail to compile.';
/** A workflow, update, signal or query named by a string literal or template outside workflows/ and src/temporal/names.ts. */
const TEMPORAL_BY_NAME = [
  {
    selector:
      "CallExpression[callee.object.property.name='workflow'][callee.property.name=/^(start|execute|signalWithStart)$/]:matches([arguments.0.type='Literal'], [arguments.0.type='TemplateLiteral'])",
    message: TEMPORAL_NAME_MESSAGE,
  },
  {
    selector:
      "CallExpression[callee.property.name=/^(executeUpdate|startUpdate|executeUpdateWithStart|signal|query)$/]:matches([arguments.0.type='Literal'], [arguments.0.type='TemplateLiteral'])",
    message: TEMPORAL_NAME_MESSAGE,
  },
  {
    selector:
      "NewExpression[callee.name='WithStartWorkflowOperation']:matches([arguments.0.type='Literal'], [arguments.0.type='TemplateLiteral'])",
    message: TEMPORAL_NAME_MESSAGE,
  },
];

module.exports = tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.emboflow/**', 'coverage/**', 'bench/results/**', '**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: __dirname } },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [importX.createNodeResolver({ extensions: ['.ts', '.js', '.json'] })] },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': ['error', { maxDepth: 10, ignoreExternal: true }],
      'import-x/order': [
        'error',
        {
          groups: ['builtin', 'external', 'internal', ['parent', 'sibling', 'index']],
          'newlines-between': 'never',
          alphabetize: { order: 'asc', caseInsensitive: true },
        },
      ],
      // Top-level `import type` is erased by every compiler (tsc, the workflow bundler, isolatedModules); an import
      // whose specifiers are all inline `type` keeps a bare `import 'x'` under verbatimModuleSyntax.
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'separate-type-imports' },
      ],
      'import-x/consistent-type-specifier-style': ['error', 'prefer-top-level'],
      'no-restricted-syntax': ['error', MONGO_OUTSIDE_DB, ...TEMPORAL_BY_NAME],
    },
  },
  {
    files: ['src/db/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-restricted-syntax': ['error', ...TEMPORAL_BY_NAME] },
  },
  {
    // Where the names are defined.
    files: ['workflows/**/*.ts', 'src/temporal/names.ts'],
    rules: { 'no-restricted-syntax': ['error', MONGO_OUTSIDE_DB] },
  },
  {
    files: PURE.map((p) => (p.endsWith('.ts') ? p : `${p}/**/*.ts`)),
    rules: {
      'no-restricted-imports': ['error', { patterns: SANDBOX_BANNED }],
      // Resolves each import to a file, so no spelling of the path (../, ./../, absolute, `import type`) escapes.
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: __dirname,
          zones: [{ target: PURE, from: IO_MODULES, message: IO_MODULE_MESSAGE }],
        },
      ],
      // An import that does not resolve could not be checked by the zones above.
      'import-x/no-unresolved': 'error',
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
