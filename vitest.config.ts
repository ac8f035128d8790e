import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // A per-run scratch directory (and store) for CLI tests; see test/setup/global.ts.
    globalSetup: ['test/setup/global.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    // Integration tests share one machine (runc, overlay mounts, registries); unit tests are fast anyway.
    fileParallelism: true,
    pool: 'forks',
  },
});
