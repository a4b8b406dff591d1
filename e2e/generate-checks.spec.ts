/**
 * The generation model's checks on onnxruntime-web's WebGPU backend in
 * Chromium (SwiftShader): ONNX logits against the float64 reference and our
 * WGSL forward, prefill + decode against one prefill, greedy tokens against
 * greedy decoding with our forward (src/generate/onnx-checks.ts; the unit
 * tests run the same checks on wasm).
 */
import { expect, test } from '@playwright/test';

test('the ONNX generation model passes every check on WebGPU', async ({ page }) => {
  test.setTimeout(300_000);
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[page] ${m.text()}`);
  });
  await page.goto('/');
  await page.waitForFunction(() => 'tessera' in globalThis);
  const checks = await page.evaluate(() =>
    (globalThis as unknown as { tessera: { generate: { checks(): Promise<{ name: string; pass: boolean; detail: string }[]> } } }).tessera.generate.checks(),
  );
  for (const c of checks) console.log(`${c.pass ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);
  // 4 configs: prefill vs reference and vs WGSL, prefill + decode; greedy vs both on the two awkward ones.
  expect(checks).toHaveLength(4 * 3 + 2 * 2);
  expect(checks.every((c) => c.name.endsWith('(webgpu)'))).toBe(true);
  for (const c of checks) expect(c.pass, `${c.name}: ${c.detail}`).toBe(true);
});
