// One folder (or a few files) of src/ per run, against the test files that matter to it:
//   MUT_NAME=sync MUT_GLOB='src/sync/outbox-claim.ts' MUT_TESTS=outbox,outbox-events npx stryker run stryker.folder.config.mjs
// The report goes to reports/mutation/<MUT_NAME>.json. See docs/testing.md.
import base from './stryker.config.mjs';
const name = process.env.MUT_NAME;
const mutate = process.env.MUT_GLOB.split(',');
export default {
  ...base,
  vitest: { configFile: 'vitest.mutation.config.ts' },
  mutate,
  concurrency: 1,
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  reporters: ['clear-text', 'progress-append-only', 'json'],
  tempDirName: `.stryker-tmp-${name}`,
};
