import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions } from './e2e/chromium';

// CI tests the production build; locally a shared dev server serves the
// current sources, so several people can run browser tests side by side.
const CI = !!process.env.CI;
const PORT = CI ? 4173 : 5173;

export default defineConfig({
  testDir: './e2e',
  testMatch: '**/*.spec.ts',
  timeout: 10 * 60_000,
  fullyParallel: false,
  workers: 1,
  reporter: CI ? [['list'], ['json', { outputFile: 'test-results/playwright.json' }]] : 'list',
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    launchOptions: chromiumLaunchOptions(),
  },
  webServer: {
    command: CI ? `npx vite build --logLevel warn && npx vite preview --port ${PORT}` : 'npx vite',
    url: `http://127.0.0.1:${PORT}`,
    reuseExistingServer: !CI,
    timeout: 180_000,
  },
});
