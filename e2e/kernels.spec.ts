/**
 * Every GPU kernel against its float64 reference in real headless Chromium
 * (SwiftShader adapter), through the devtools API a kernel developer uses.
 */
import { expect, test } from '@playwright/test';

test('every kernel matches its float64 reference within tolerance', async ({ page }) => {
  page.on('console', (m) => { if (m.type() === 'error') console.log('[page]', m.text()); });
  await page.goto('/');
  await page.waitForFunction(() => 'tessera' in globalThis);
  const names = await page.evaluate(() => (globalThis as any).tessera.kernels.list().map((k: { name: string }) => k.name));
  expect(names.length).toBeGreaterThan(0);
  // KERNELS=rope,rmsnorm runs only the checks whose names start with those.
  const only = process.env.KERNELS?.split(',').filter(Boolean);
  for (const name of names.filter((n: string) => !only || only.some((p) => n.startsWith(p)))) {
    const r = await page.evaluate((n) => (globalThis as any).tessera.kernels.check(n, { reps: 1 }), name);
    console.log(`${r.pass ? 'PASS' : 'FAIL'} ${r.name} ${r.shape} absErr=${r.maxAbsErr} relErr=${r.maxRelErr} max|ref|=${r.maxAbsRef}`);
    expect.soft(r.pass, `${name}: ${JSON.stringify(r)}`).toBe(true);
  }
});
