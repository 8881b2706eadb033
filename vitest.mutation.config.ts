// The vitest config of mutation runs: the project's settings without the serial suites,
// whose tests change server-wide settings that other test runs on this machine share, and
// only the test files named in MUT_TESTS (comma separated, without .test.ts) when it is set.
import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

const { projects: _projects, ...shared } = base.test ?? {};

export default defineConfig({
  test: {
    ...shared,
    include: process.env.MUT_TESTS ? process.env.MUT_TESTS.split(',').map((f) => `test/${f}.test.ts`) : ['test/**/*.test.ts'],
    exclude: ['test/**/*.serial.test.ts'],
  },
});
