// ESLint 9 flat config: typescript-eslint's recommended rules plus the type-aware ones that catch
// promises nobody awaits. Formatting is Prettier's job (`prettier --check .` in `npm run lint`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'sdk-go/**',
      'bench/results/**',
      '**/*.mjs',
      '**/*.js',
      'packages/sdk/test/guide-examples.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        project: [
          './tsconfig.json',
          './packages/*/tsconfig.json',
          './packages/server/web/tsconfig.json',
          './packages/server/web/pwa/tsconfig.sw.json',
        ],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Test helpers type response bodies as any on purpose; the server code validates with TypeBox.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it/test return promises the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      // typeof import('…') stays allowed: it types a module that is loaded lazily.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      // Terminal screens and input checks match control characters on purpose.
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
    },
  },
);
