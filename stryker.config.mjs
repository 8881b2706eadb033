// Mutation testing (npm run test:mutation): StrykerJS changes src/ one small edit at a time
// and runs the vitest tests that cover each change; a mutant no test notices is a gap.
// See docs/testing.md. Narrow a run with --mutate, e.g.
//   npm run test:mutation -- --mutate src/connection/statement-cache.ts
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: ['src/**/*.ts', '!src/index.ts'],
  coverageAnalysis: 'perTest',
  // Mutants of module-level code would rerun every test; they are few and slow (96% of the time in a trial).
  ignoreStatic: true,
  concurrency: 2,
  timeoutMS: 60_000,
  dryRunTimeoutMinutes: 20,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  // The sandbox needs no rewritten tsconfig (vitest transforms the sources itself), and TypeScript 7
  // has no JS API for Stryker's rewriter: name a file that does not exist, so it is skipped.
  tsconfigFile: 'no-tsconfig-rewrite.json',
  cleanTempDir: 'always',
};
