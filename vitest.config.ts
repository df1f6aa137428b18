import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'server/**/*.test.ts', 'workers/**/*.test.ts', 'scripts/**/*.test.ts', 'examples/**/*.test.ts'],
    // SEAL work is CPU-bound and single-threaded per instance: one file per core
    pool: 'forks',
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
})
