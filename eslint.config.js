// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const importX = require('eslint-plugin-import-x');

/** Modules that do I/O or need Node: banned where code must stay deterministic (workflow sandbox, pure DAG). */
const SANDBOX_BANNED = [
  { group: ['node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'net', 'http', 'https', 'crypto', 'stream'], message: 'Node built-ins do I/O or are non-deterministic: not allowed in workflow or pure DAG code.' },
  { group: ['mongodb', 'dockerode', '@aws-sdk/*', 'express', 'pino', 'prom-client', 'tar-stream'], message: 'I/O libraries belong in activities or src services, not in workflow or pure DAG code.' },
  { group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity'], message: 'Workflow code may import only @temporalio/workflow and @temporalio/common.' },
  { regex: '(^|/)activities(/(?!types$)[^/]+)?$', message: 'Workflows import activity types only (import type from activities/types).' },
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
    },
  },
  {
    files: ['workflows/**/*.ts', 'src/dag/**/*.ts', 'src/domain/**/*.ts', 'src/temporal/names.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: SANDBOX_BANNED }] },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
