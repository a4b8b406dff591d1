/**
 * Try the model in a real run: a tab trains, then the Model page loads the
 * run's latest checkpoint into onnxruntime-web (WebGPU on SwiftShader here)
 * and streams a continuation; the same tab's live parameters load too, on
 * wasm while the tab trains.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { buildApp, freshDir, openTab, startCoordinator, testConfig, waitForStep, type CoordinatorProcess, type Tab } from './run-harness';

test.describe.configure({ mode: 'serial' });

let coordinator: CoordinatorProcess | null = null;
let tab: Tab | null = null;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  await buildApp();
});

test.afterEach(async () => {
  await tab?.close().catch(() => {});
  tab = null;
  await coordinator?.stop().catch(() => {});
  coordinator = null;
});

test('a tab trains in the run, then Try the model streams text from the latest checkpoint and from its live parameters', async () => {
  test.setTimeout(600_000);
  coordinator = await startCoordinator(freshDir('generate'), testConfig({ initMinClients: 1, globalBatch: { start: 4, end: 4, warmupTokens: 0 } }));
  tab = await openTab(coordinator.url, 'trainer');
  await waitForStep([tab], 3, 300_000);
  const { page } = tab;
  await page.goto(`${coordinator.url}/#/model`);
  const panel = page.getByTestId('try-model');

  // The latest checkpoint, on WebGPU.
  await panel.getByTestId('try-source').selectOption('latest');
  await panel.getByTestId('try-backend').selectOption('webgpu');
  await panel.getByTestId('try-load').click();
  await expect(panel.getByTestId('try-loaded')).toContainText('on webgpu', { timeout: 120_000 });
  await expect(panel.getByTestId('try-loaded')).toContainText('byte tokens');
  await panel.getByTestId('try-max-tokens').fill('24');
  await panel.getByTestId('try-generate').click();
  const output = panel.getByTestId('try-output');
  await expect(output).toHaveAttribute('data-status', 'ready', { timeout: 120_000 });
  await expect(panel.getByTestId('try-rate')).toContainText(/24 tokens · prefill \d+ tokens\/s · decode [\d.]+ tokens\/s · max tokens/);
  const prompt = await panel.getByTestId('try-prompt').inputValue();
  const text = (await output.textContent()) ?? '';
  expect(text.startsWith(prompt)).toBe(true);
  expect(text.length).toBeGreaterThan(prompt.length);

  // This tab's live parameters, while it trains: auto keeps the GPU for training and runs on wasm.
  await panel.getByTestId('try-source').selectOption('live');
  await panel.getByTestId('try-backend').selectOption('auto');
  await panel.getByTestId('try-load').click();
  await expect(panel.getByTestId('try-loaded')).toContainText('on wasm', { timeout: 120_000 });
  await expect(panel.getByTestId('try-loaded')).toContainText(/at step \d+/);
  await panel.getByTestId('try-temperature').fill('0');
  await panel.getByTestId('try-generate').click();
  await expect(output).toHaveAttribute('data-status', 'ready', { timeout: 120_000 });
  await expect(panel.getByTestId('try-rate')).toContainText(/\d+ tokens · prefill/);
  expect(((await output.textContent()) ?? '').length).toBeGreaterThan(prompt.length);
  await expect(panel.getByTestId('try-error')).toHaveCount(0);
  // Download for Hugging Face: a tar of one folder with the model, its config and the tokenizer.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('hf-download').click()]);
  expect(download.suggestedFilename()).toMatch(/^tessera-step-\d+\.tar$/);
  const tar = readFileSync((await download.path())!).toString('latin1');
  for (const file of ['model.safetensors', 'config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) expect(tar).toContain(`/${file}`);

  // The tab trained on meanwhile.
  const before = (await tab.state()).appliedStep;
  await waitForStep([tab], before + 1, 120_000);
});
