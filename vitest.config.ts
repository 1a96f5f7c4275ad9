import { defineConfig } from 'vitest/config';

// One config for the whole repository. Unit tests live next to the pure modules
// (packages/*/src/**/*.test.ts); multi-process and device tests live in test/.
export default defineConfig({
  test: {
    // ZeroMQ sockets and native handles must not share a thread pool: a leaked
    // socket hangs the threads pool, a forked child is simply reaped.
    pool: 'forks',
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    coverage: {
      provider: 'v8',
      include: ['packages/*/src/**/*.ts', 'native/src/**/*.ts'],
      exclude: ['**/*.test.ts', '**/testing/**', '**/*.d.ts'],
      reporter: ['text-summary', 'json-summary'],
      thresholds: {
        'packages/protocol/src/**': { lines: 90 },
        'packages/scsi/src/**': { lines: 90 },
        'packages/tape-format/src/**': { lines: 90 },
      },
    },
  },
});
