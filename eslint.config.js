// `npm run lint`: eslint with typescript-eslint's type-aware rules (recommendedTypeChecked: the
// rules that need types, e.g. no-floating-promises and no-misused-promises, matter most in async
// I/O code such as QMP, guest launch and pin rollback). Formatting is prettier's job (`npm run
// format`), so no stylistic rules here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js', 'bin/*.js', 'scripts/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Parsed JSON/XML arrives as `any` (fast-xml-parser, JSON.parse); the inputs are being moved
      // behind zod schemas (issue 11 item 3), after which these can be turned back on.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // TODO-lead: turn on after the final merge and run `npx eslint --fix .` once (17 mechanical
      // one-line removals of `!`/`as`, left off here so they do not conflict with other branches).
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Async functions that implement an async interface (AffinityEdge.get, report collectors)
      // need not await anything.
      '@typescript-eslint/require-await': 'off',
      // String(x) of unknown values is deliberate: Python str() emulation, echoing bad input back.
      '@typescript-eslint/no-base-to-string': 'off',
      // `_`-prefixed names are deliberately unused (destructuring, callback positions).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests read oracle files as `any` on purpose (their shape is the oracle's, not kvcpu's).
    files: ['**/*.test.ts', 'test/**/*.ts', '**/*.test-helpers.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      // Regexes match aligned table output, spaces counted by eye against the expected text.
      'no-regex-spaces': 'off',
      // Test doubles borrow methods of real objects (edge.get = real.get).
      '@typescript-eslint/unbound-method': 'off',
      'no-useless-assignment': 'off',
    },
  },
  {
    // Plain JS (bin, build scripts, CommonJS configs): no type information, so no type-aware rules.
    // (languageOptions spreads disableTypeChecked's parserOptions, which a bare key would replace.)
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    // .dependency-cruiser.cjs, scripts/layers.cjs: CommonJS (require, module.exports).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The dashboard's browser script (served as-is by the agent); its browser globals are declared
    // in the file with a `/* global */` comment.
    files: ['src/http/data/**/*.js'],
    languageOptions: { sourceType: 'script' },
  },
);
