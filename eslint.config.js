// Flat ESLint config: typescript-eslint with type information for the async rules that catch lost promises.
// Generated contracts are excluded (ts-proto output is never edited, so never linted).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'libs/contracts/src/gen/**',
      '**/node_modules/**',
      '**/*.cjs',
      'coverage/**',
      '.flowmesh/**',
      'bench/results/**',
      // Scratch files (`x.tmp.ts`) come and go while people work; they are not part of the project.
      '**/*.tmp.*',
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // `.only` would silently drop the rest of the suite (mocha's forbid-only also refuses it in CI).
      'no-restricted-properties': [
        'error',
        { object: 'describe', property: 'only', message: 'no .only in tests' },
        { object: 'it', property: 'only', message: 'no .only in tests' },
      ],
    },
  },
  {
    // Plain JS (scripts, bin): not in the TypeScript project, so no type-aware rules.
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly' },
    },
  },
);
