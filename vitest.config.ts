import { defineConfig } from 'vitest/config';

// Unit tests sit beside the code (src/**, adapters/**); integration and
// end-to-end tests live in test/. Real models are slow to load on two cores,
// so the timeouts are generous; speed is measured in `npm run bench`, not here.
export default defineConfig({
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', 'adapters/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
