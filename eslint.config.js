// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', '.sluice/', 'dist/', 'coverage/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Every query is a repository function in src/registry/ taking `db` or a transaction first.
    // Only the database plumbing (src/db/: the pool, migrations), the dev bootstrap (src/dev/) and
    // the inference log's COPY writer (src/serving/log/) talk to PostgreSQL themselves; elsewhere
    // the query builder is a type, never a value. (Workflows have stricter rules of their own below.)
    files: ['src/**/*.ts'],
    ignores: ['src/registry/**', 'src/db/**', 'src/dev/**', 'src/serving/log/**', 'src/workflows/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: [
          { name: 'kysely', allowTypeImports: true, message: 'Queries live in src/registry/ repository functions; import Kysely as a type only.' },
          { name: 'pg', message: 'Talk to PostgreSQL through a repository function in src/registry/.' },
        ],
      }],
      'no-restricted-syntax': ['error', {
        selector: 'CallExpression[callee.property.name=/^(selectFrom|selectNoFrom|insertInto|replaceInto|updateTable|deleteFrom|mergeInto)$/]',
        message: 'Queries live in src/registry/ repository functions that take `db` or a transaction first.',
      }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O libraries,
    // no wall clock or randomness except what @temporalio/workflow provides.
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: [
          ...nodeBuiltins.map((name) => ({ name, message: 'Workflow code must not import Node built-ins; use an activity.' })),
          ...['pg', 'kysely', 'fastify', 'onnxruntime-node', 'undici', 'prom-client'].map((name) => ({
            name, message: 'Workflow code must not do I/O; use an activity.',
          })),
        ],
        patterns: [
          { group: ['**/activities/*'], allowTypeImports: true, message: 'Import activities as types only, through proxyActivities.' },
          { group: ['**/db/*', '**/serving/*', '**/api/*'], message: 'Workflow code must not import I/O modules.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'fetch', message: 'Use an activity.' },
        { name: 'process', message: 'Workflow code must not read the process environment.' },
      ],
      'no-restricted-properties': ['error',
        { object: 'Math', property: 'random', message: 'Use a seeded random source carried in workflow state.' },
      ],
      'no-restricted-syntax': ['error',
        { selector: "NewExpression[callee.name='Map']", message: 'Workflow state is plain JSON: no Map.' },
        { selector: "NewExpression[callee.name='Set']", message: 'Workflow state is plain JSON: no Set.' },
      ],
    },
  },
);
