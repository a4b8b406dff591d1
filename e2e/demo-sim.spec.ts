/**
 * DeMo with 4 replicas in one Chromium tab (src/train/demo-simulation.ts via
 * the bench page's tesseraBench.demo): updates travel as codec bytes, every
 * replica applies the agreed set in its own order, and the parameter
 * checksums agree every step; the loss falls; the update is a small fraction
 * of the dense fp32 gradient, exactly as large as the block rule says. With
 * delay 1 (as pipelined rounds train, one agreed set stale) the replicas still
 * agree every step, each step trains where the delay says, and the loss falls.
 *
 * Locally the shared Vite dev server serves bench.html; the CI build (dist/)
 * holds only the app, so under CI this spec builds bench.html alone and serves
 * it with vite preview on a free port.
 */
import { expect, test } from '@playwright/test';
import type { PreviewServer } from 'vite';
import { buildPage, servePage } from '../bench/serve';
import { blockCount, blockShape, keptPerBlock } from '../src/demo/blocks';
import { getPreset, parameterSpecs } from '../src/model/config';
import type { DemoBenchResult } from '../bench/demo';
import type { DemoSimulationResult } from '../src/train/demo-simulation';

const SPEC = { preset: 'tinyDemo', replicas: 4, batchPerReplica: 2, seqLen: 32, steps: 10, lr: 3e-3, chunk: 64, topk: 8 };
const SITE_DIR = 'test-results/demo-sim-site';

/**
 * Encoded size of one 1-bit update from the block rule alone (the layout in
 * src/protocol/update-codec.ts): a 51-byte header, then per kept coefficient
 * ⌈log₂(block elements)⌉ index bits and one sign bit, padded to a byte.
 */
function expectedUpdateBytes(shapes: number[][], chunk: number, topk: number): number {
  let bits = 0;
  for (const shape of shapes) {
    const block = blockShape(shape, chunk);
    const size = block.reduce((a, b) => a * b, 1);
    const entries = blockCount(shape, block) * keptPerBlock(size, topk);
    bits += entries * (Math.ceil(Math.log2(size)) + 1);
  }
  return 51 + Math.ceil(bits / 8);
}

async function serveBench(): Promise<{ server: PreviewServer; url: string }> {
  await buildPage(SITE_DIR);
  const { server, url } = await servePage(SITE_DIR);
  return { server, url: `${url}bench.html` };
}

let served: { server: PreviewServer; url: string } | null = null;

test.beforeAll(async () => {
  if (process.env.CI) served = await serveBench();
});

test.afterAll(async () => {
  await served?.server.close();
});

test('4 DeMo replicas stay bit-identical, learn, and send a fraction of the dense gradient', async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto(served?.url ?? '/bench.html');
  await page.waitForFunction(() => 'tesseraBench' in globalThis, undefined, { timeout: 60_000 });
  const r = (await page.evaluate((s) => globalThis.tesseraBench.demo(s), SPEC)) as DemoBenchResult;
  const d = r.demo;

  expect(d.steps).toHaveLength(SPEC.steps);
  for (const s of d.steps) {
    expect(s.checksums).toHaveLength(SPEC.replicas);
    expect(new Set(s.checksums).size, `step ${s.step}: ${s.checksums.join(' ')}`).toBe(1);
    expect(s.checksumsAgree).toBe(true);
  }
  expect(d.allChecksumsAgree).toBe(true);
  // The parameters moved: checksums differ between the first and the last step.
  expect(d.steps[0].checksums[0]).not.toBe(d.steps[SPEC.steps - 1].checksums[0]);

  const first = d.losses[0];
  const lastMean = d.losses.slice(-3).reduce((a, b) => a + b, 0) / 3;
  expect(lastMean).toBeLessThan(first - 0.05);
  expect(r.adamw.losses).toHaveLength(SPEC.steps);
  // The bench's delayed run rides along; its own checks are the next test's.
  expect(r.delayed.allChecksumsAgree).toBe(true);
  expect(r.final.window).toBe(1);
  expect(r.final.tokens).toBe(SPEC.steps * SPEC.replicas * SPEC.batchPerReplica * SPEC.seqLen);
  expect(r.final.delayedOverDemo).toBe(r.delayed.losses[SPEC.steps - 1] / d.losses[SPEC.steps - 1]);

  // The exact size follows from the block rule; tinyDemo's blocks are full 64×64 ones, so the
  // DeMo update is at least 1000× smaller than the dense fp32 gradient (issue 3 asks for 500×).
  // Its proofs (one of 16 bytes per sequence here) come on top.
  const shapes = parameterSpecs(getPreset(SPEC.preset)).map((p) => p.shape);
  const parameters = shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
  const expectedBytes = expectedUpdateBytes(shapes, SPEC.chunk, SPEC.topk);
  expect(d.parameters).toBe(parameters);
  expect(d.denseGradientBytes).toBe(4 * parameters);
  expect(d.proofBytesPerUpdate).toBe(16 * SPEC.batchPerReplica);
  expect(d.bytesPerUpdate).toBe(expectedBytes + d.proofBytesPerUpdate);
  expect(d.compressionRatio).toBeCloseTo((4 * parameters) / expectedBytes, 9);
  expect(d.compressionRatio).toBeGreaterThanOrEqual(1000);
  expect(d.payloadRatio).toBeCloseTo((4 * parameters) / d.bytesPerUpdate, 9);
  // Every replica's recomputed proof of another's update matched (one adapter: to rounding).
  expect(d.maxProofErrorPermille).toBeLessThanOrEqual(1);
  console.log(
    `demo-sim: ${d.bytesPerUpdate} bytes/update (${d.proofBytesPerUpdate} of proofs) vs ${d.denseGradientBytes} dense (DeMo ${d.compressionRatio.toFixed(1)}×, with proofs ${d.payloadRatio.toFixed(1)}×); ` +
      `loss DeMo ${first.toFixed(4)}→${d.losses[SPEC.steps - 1].toFixed(4)}, AdamW ${r.adamw.losses[0].toFixed(4)}→${r.adamw.losses[SPEC.steps - 1].toFixed(4)}; ` +
      `enc+dec share ${(d.encodeDecodeShare * 100).toFixed(1)}%`,
  );
});

test('with delay 1 the replicas stay bit-identical, each step trains one agreed set stale, and the loss falls', async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto(served?.url ?? '/bench.html');
  await page.waitForFunction(() => 'tesseraBench' in globalThis, undefined, { timeout: 60_000 });
  const run = (s: typeof SPEC & { delay: number }) => page.evaluate((x) => globalThis.tesseraBench.demoSimulation(x), s) as Promise<DemoSimulationResult>;
  const d = await run({ ...SPEC, delay: 1 });
  // Two undelayed steps are enough to place the delayed ones against.
  const u = await run({ ...SPEC, steps: 2, delay: 0 });

  expect(d.spec.delay).toBe(1);
  expect(d.steps).toHaveLength(SPEC.steps);
  for (const s of d.steps) {
    expect(s.checksums).toHaveLength(SPEC.replicas);
    expect(new Set(s.checksums).size, `step ${s.step}: ${s.checksums.join(' ')}`).toBe(1);
  }
  expect(d.allChecksumsAgree).toBe(true);

  // Step 0 trains from the initial parameters in both runs and applies nothing yet; step 1 applies
  // step 0's set, the same set the undelayed run applied at step 0, to the same initial parameters.
  expect(d.losses[0]).toBe(u.losses[0]);
  expect(d.steps[1].checksums[0]).toBe(u.steps[0].checksums[0]);
  expect(d.steps[0].checksums[0]).not.toBe(u.steps[0].checksums[0]);
  // Step 1 trained from the initial parameters, not from after step 0: the same batch, another loss.
  expect(d.losses[1]).not.toBe(u.losses[1]);

  const lastMean = d.losses.slice(-3).reduce((a, b) => a + b, 0) / 3;
  expect(lastMean).toBeLessThan(d.losses[0] - 0.05);
  console.log(`demo-sim delay 1: loss ${d.losses[0].toFixed(4)}→${d.losses[SPEC.steps - 1].toFixed(4)}`);
});
