// Lint: typescript-eslint with type information, plus the project's layering rules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importPlugin from 'eslint-plugin-import';

export default tseslint.config(
  { ignores: ['node_modules/**', '.openclawmu/**', 'loadtest/results/**', '**/*.mjs', '**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { import: importPlugin },
    // Imports name their .ts files explicitly, so the node resolver finds them.
    settings: { 'import/resolver': { node: { extensions: ['.ts', '.js', '.mjs'] } }, 'import/extensions': ['.ts', '.js', '.mjs'] },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', {
        // node:test's test()/describe() return promises the runner itself awaits.
        allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'it', 'describe', 'suite'], package: 'node:test' }],
      }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'import/no-cycle': ['error', { maxDepth: 10 }],
      'no-console': 'off',
    },
  },
  {
    // Dependency direction: router never imports shard or ops; shard never imports ops.
    files: ['router/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/shard/**', '**/ops/**'], message: 'router ↛ shard/ops (DESIGN §1).' }] }],
    },
  },
  {
    // The router core runs on Workers-style runtimes too: no node: imports, no Node packages.
    files: [
      'router/core/**/*.ts', 'router/placement/**/*.ts', 'router/identity/**/*.ts', 'router/errors/**/*.ts',
      'router/manifest/manifest-schema.ts', 'router/manifest/manifest-poller.ts', 'router/manifest/http-manifest-source.ts',
      'router/workers/**/*.ts',
    ],
    // bundle-worker.ts is the Node-side build step, not part of the worker.
    ignores: ['**/*.test.ts', 'router/workers/bundle-worker.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*'], message: 'The router core must not import node: modules; put Node specifics in router/node/.' },
          { group: ['undici', 'fastify', 'ws', 'better-sqlite3', 'pino', 'prom-client'], message: 'The router core speaks only Web Request/Response.' },
          { group: ['**/shard/**', '**/ops/**'], message: 'router ↛ shard/ops (DESIGN §1).' },
        ],
      }],
    },
  },
  {
    files: ['shard/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/ops/**'], message: 'shard ↛ ops (DESIGN §1).' }] }],
    },
  },
);
