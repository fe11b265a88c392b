// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import vitest from '@vitest/eslint-plugin';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'cdk.out/**',
      '.local/**',
      'coverage/**',
      'bench/results/**',
      'test/.registry-*/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      eqeqeq: ['error', 'always'],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.ts'],
    ignores: ['lambda/runtime/kafkajs.ts'],
    rules: {
      // kafkajs's values come from lambda/runtime/kafkajs.ts, which fixes its idle request-queue timer first.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'kafkajs',
              message:
                "Import kafkajs's values from lambda/runtime/kafkajs.ts (it fixes the idle 1 ms timer).",
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // The launchers: plain CommonJS for Node, so that `microbatch` and the bundling step run without a build step.
    files: ['local/bin.js', 'lib/bundle-cli.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        process: 'readonly',
        console: 'readonly',
        setImmediate: 'readonly',
        globalThis: 'readonly',
        __dirname: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    plugins: { vitest },
    rules: {
      // A focused or skipped test silently shrinks the suite.
      'vitest/no-focused-tests': 'error',
      'vitest/no-disabled-tests': 'error',
      'vitest/expect-expect': ['error', { assertFunctionNames: ['expect', 'expect*', 'assert*'] }],
    },
  },
);
