// @ts-check
// ESLint (flat config): the import boundaries between core/, identity/, devices/ and node/
// (eslint/boundaries.js) plus a few rules that catch real mistakes. `npm run lint` is part of
// `npm test`; test/lint.test.ts proves a boundary break fails it.
import tseslint from 'typescript-eslint'
import hashbeam from './eslint/boundaries.js'

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/**', 'examples/**', 'bin/**', '**/*.d.ts'] },
  {
    files: ['core/**/*.ts', 'identity/**/*.ts', 'devices/**/*.ts', 'node/**/*.ts'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' },
    plugins: { hashbeam, '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'hashbeam/boundaries': 'error',
      'no-debugger': 'error',
      'no-dupe-keys': 'error',
      'no-self-compare': 'error',
      'no-unsafe-finally': 'error',
      '@typescript-eslint/no-duplicate-enum-values': 'error',
    },
  },
)
