/**
 * The Firefox browser tests, apart from the unit tests: they need Firefox and
 * a build, and run only through `npm test` (scripts/test-all.sh) or
 *   npx vitest run --config e2e/firefox/vitest.config.ts
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['e2e/firefox/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['e2e/firefox/build-setup.ts'],
    // Files one after another: each drives browsers on a CPU GPU driver.
    fileParallelism: false,
    // One check on a CPU Vulkan driver; the whole model's checks are the slowest.
    testTimeout: 5 * 60_000,
    // Building the app and starting the browsers.
    hookTimeout: 3 * 60_000,
  },
});
