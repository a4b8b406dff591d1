/**
 * Every GPU kernel against its float64 reference in headless Firefox (WebGPU
 * through wgpu/naga on Mesa's lavapipe), through the devtools API, as
 * e2e/kernels.spec.ts does in Chromium. Each check is its own test, so a
 * failure names the kernel. KERNELS=rope,demo runs only the checks whose
 * names start with those.
 */
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import type { CheckResult } from '../../src/kernels/check';
import { kernelChecks } from '../../src/kernels/registry';
import { launchFirefox, webGpuProblem, type FirefoxSession } from './firefox';

interface Setup {
  firefox: FirefoxSession;
  /** Console errors and uncaught page errors since the last check began. */
  errors: string[];
  pageNames: string[];
}

const only = process.env.KERNELS?.split(',').filter(Boolean);
const names = kernelChecks.map((c) => c.name).filter((n) => !only || only.some((p) => n.startsWith(p)));

let firefox: FirefoxSession | undefined;
let setup: Promise<Setup>;

async function start(): Promise<Setup> {
  firefox = await launchFirefox();
  const { page } = firefox;
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e instanceof Error ? e.message : String(e)}`));
  await page.goto(inject('buildUrl'));
  const problem = await webGpuProblem(page);
  if (problem) throw new Error(problem);
  await page.waitForFunction(() => 'tessera' in globalThis, { timeout: 60_000 });
  const pageNames = await page.evaluate(() =>
    (globalThis as any).tessera.kernels.list().map((k: { name: string }) => k.name),
  );
  return { firefox, errors, pageNames };
}

beforeAll(() => {
  setup = start();
  // A failed start fails every test below with its reason, rather than
  // skipping them, so the totals cannot read as a pass.
  setup.catch(() => undefined);
});

afterAll(async () => {
  await firefox?.close();
});

test('Firefox runs the app with a WebGPU adapter and lists every kernel check', async () => {
  const { firefox, pageNames } = await setup;
  console.log(`Firefox ${await firefox.browser.version()}`);
  expect(pageNames).toEqual(kernelChecks.map((c) => c.name));
});

for (const name of names) {
  test(name, async () => {
    const { firefox, errors } = await setup;
    errors.length = 0;
    const r: CheckResult = await firefox.page.evaluate(
      (n) => (globalThis as any).tessera.kernels.check(n, { reps: 1 }),
      name,
    );
    console.log(
      `${r.pass ? 'PASS' : 'FAIL'} ${r.name} ${r.shape} absErr=${r.maxAbsErr} relErr=${r.maxRelErr} max|ref|=${r.maxAbsRef}`,
    );
    // A WebGPU validation error (a shader naga rejects) can leave outputs
    // that happen to match; it is a failure either way.
    expect(errors, `${name}: errors in the page`).toEqual([]);
    expect(r.pass, `${name}: ${JSON.stringify(r)}`).toBe(true);
  });
}
