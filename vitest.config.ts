import { defineConfig } from 'vitest/config'

// One config for the whole suite. Tests that need Redis or the shared fixtures skip themselves
// with a printed reason unless CI makes them mandatory (HASHBEAM_REQUIRE_*).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // 2-core machines: llama.cpp tests pin their own threads; keep file-level parallelism modest.
    maxWorkers: 2,
  },
})
