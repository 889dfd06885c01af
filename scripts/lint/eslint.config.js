// ESLint for the whole tree, run by `npm test` (npm run lint): typescript-eslint's type-aware
// recommended rules. Tests read JSON from servers and tools freely, so the rules about `any` values
// apply to src/ and scripts/ only.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'dist/**', '.tools/**', 'helm/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname + '/../..' },
    },
    rules: {
      // `_name` marks a value taken apart on purpose (a rest object without one field).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // An abort signal's reason is whatever the aborter gave; passing it on unchanged is right.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // Interface methods are async by contract even where one implementation has nothing to await.
      '@typescript-eslint/require-await': 'off',
      // Query strings and URLs print as themselves.
      '@typescript-eslint/restrict-template-expressions': ['error', { allow: ['Error', 'URL', 'URLSearchParams'] }],
      // The lint tools type-check with TypeScript 6 and the project with TypeScript 7, whose
      // inference differs in places: an assertion TypeScript 7 needs may look needless to 6.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // vitest's expect(obj.method) and mocks take methods unbound.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: { module: 'writable' } },
  },
);
