/**
 * The app shell and its pages render their key elements, opened directly by
 * URL hash. Kept fast: one kernel check, no training worker.
 */
import { expect, test, type Page } from '@playwright/test';
import { PRESETS, parameterCount } from '../src/model/config';

function logPageErrors(page: Page): void {
  page.on('pageerror', (e) => console.log('[pageerror]', e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') console.log('[page]', m.text());
  });
}

test.beforeEach(({ page }) => logPageErrors(page));

test('Kernel Lab lists every kernel and checks one through its row button', async ({ page }) => {
  await page.goto('/#/lab');
  await expect(page.getByTestId('run-all')).toBeEnabled();
  const names: string[] = await page.evaluate(() =>
    (globalThis as any).tessera.kernels.list().map((k: { name: string }) => k.name),
  );
  await expect(page.locator('[data-testid^="kernel-row-"]')).toHaveCount(names.length);
  await expect(page.getByTestId('kernel-status-matmul.nt')).toHaveText('NOT RUN');
  await expect(page.getByTestId('lab-summary')).toContainText(`0/${names.length} passed`);

  await page.getByTestId('kernel-row-matmul.nt').getByRole('button', { name: 'Check' }).click();
  await expect(page.getByTestId('kernel-status-matmul.nt')).toHaveText('PASS', { timeout: 60_000 });
  await expect(page.getByTestId('lab-summary')).toContainText(`1/${names.length} passed`);
  await expect(page.getByTestId('kernel-row-matmul.nt')).toContainText('M=37');

  await page.getByTestId('gpu-info').locator('summary').click();
  await expect(page.getByTestId('gpu-features')).toBeVisible();
  await expect(page.getByTestId('console-api')).toContainText("tessera.kernels.check('matmul.nt'");
});

test('Train page shows the settings form, stats and an empty loss chart', async ({ page }) => {
  await page.goto('/#/train');
  await expect(page.getByTestId('train-start')).toBeEnabled();
  await expect(page.getByTestId('train-stop')).toBeDisabled();
  await expect(page.getByTestId('train-status')).toContainText('Ready');
  await expect(page.getByTestId('train-step')).toHaveText('—');
  await expect(page.getByTestId('train-loss')).toHaveText('—');
  await expect(page.getByTestId('loss-chart').locator('canvas')).toBeVisible();
  // Invalid settings never reach the worker: Start is disabled with a reason.
  await page.getByTestId('train-batch').fill('0');
  await expect(page.getByTestId('train-start')).toBeDisabled();
  await expect(page.getByText('At least 1')).toBeVisible();
});

test('Model page lists presets and the selected preset’s parameters', async ({ page }) => {
  await page.goto('/#/model');
  const table = page.getByTestId('preset-table');
  for (const name of Object.keys(PRESETS)) await expect(table.getByTestId(`preset-${name}`)).toBeVisible();
  await page.getByTestId('preset-small').click();
  await expect(page.getByTestId('param-total')).toHaveText(parameterCount(PRESETS.small).toLocaleString('en-US'));
  await expect(page.getByTestId('param-table')).toContainText('model.layers.3.self_attn.kv_a_proj_with_mqa.weight');
  // Tabs switch pages through the hash.
  await page.getByTestId('tab-lab').click();
  await expect(page).toHaveURL(/#\/lab$/);
  await expect(page.getByTestId('run-all')).toBeVisible();
});

test('without WebGPU, GPU pages explain how to enable it and the Model page still works', async ({ page }) => {
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
  await page.goto('/#/lab');
  await expect(page.getByTestId('webgpu-help')).toContainText('navigator.gpu is missing');
  await expect(page.getByTestId('webgpu-help')).toContainText('chrome://flags/#enable-unsafe-webgpu');
  await expect(page.getByTestId('run-all')).toHaveCount(0);
  await page.goto('/#/model');
  await expect(page.getByTestId('param-table')).toBeVisible();
});

test('Rewards page offers the wallet modal; without a coordinator it says why nothing loads', async ({ page }) => {
  await page.goto('/#/rewards');
  await expect(page.getByRole('heading', { name: 'Rewards' })).toBeVisible();
  const connect = page.getByRole('button', { name: /select wallet|connect/i });
  await expect(connect).toBeVisible();
  await connect.click();
  // The Wallet Standard modal opens (no wallet is installed in this browser).
  await expect(page.locator('.wallet-adapter-modal')).toBeVisible();
  // The dev/preview server has no rewards API: the page reports the failed request instead of showing numbers.
  await expect(page.getByTestId('rewards-error')).toBeVisible();
});
