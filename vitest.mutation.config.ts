// The vitest config of mutation runs: it leaves out the serial suites, whose tests change
// server-wide settings that other test runs on this machine share, and runs only the test
// files named in MUT_TESTS (comma separated, without .test.ts) when it is set.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['test/support/global-setup.ts'],
    include: process.env.MUT_TESTS ? process.env.MUT_TESTS.split(',').map((f) => `test/${f}.test.ts`) : ['test/**/*.test.ts'],
    exclude: ['test/**/*.serial.test.ts'],
  },
});
