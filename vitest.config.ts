import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['test/support/global-setup.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'parallel', include: ['test/**/*.test.ts'], exclude: ['test/**/*.serial.test.ts'], sequence: { groupOrder: 0 } },
      },
      {
        // Tests that restart a database server: alone, after everything else has finished.
        extends: true,
        test: { name: 'serial', include: ['test/**/*.serial.test.ts'], fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
