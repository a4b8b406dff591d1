/**
 * tessera.demo.apply in real Chromium: the GPU's exact integer decode gives
 * the same bits whatever order the updates arrive in, and moves each weight
 * by exactly ±lr (after decay) or not at all.
 */
import { expect, test } from '@playwright/test';

test('demo.apply is order-independent and steps by ±lr', async ({ page }) => {
  await page.goto('/#/model');
  await page.waitForFunction(() => 'tessera' in globalThis);
  const r = await page.evaluate(async () => {
    const t = (globalThis as any).tessera;
    const shape = [24, 20]; // chunk 8 → blocks 8×5 (the largest divisors ≤ 8), 12 blocks
    const blocks = 12;
    const k = 3;
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const param = Float32Array.from({ length: 480 }, () => rand() * 2 - 1);
    const update = () => {
      const indices = new Uint32Array(blocks * k);
      const values = new Float32Array(blocks * k);
      for (let b = 0; b < blocks; b++) {
        const picks = new Set<number>();
        while (picks.size < k) picks.add(Math.floor(rand() * 40));
        [...picks].sort((x, y) => x - y).forEach((f, j) => {
          indices[b * k + j] = f;
          values[b * k + j] = rand() < 0.5 ? -1 : 1;
        });
      }
      return { indices, values };
    };
    const updates = [update(), update(), update(), update()];
    const args = { param, shape, lr: 0.01, chunk: 8, weightDecay: 0.1 };
    const a: Float32Array = await t.demo.apply({ ...args, updates });
    const b: Float32Array = await t.demo.apply({ ...args, updates: [updates[2], updates[0], updates[3], updates[1]] });
    const lr = Math.fround(0.01);
    const decay = Math.fround(1 - Math.fround(lr * Math.fround(0.1)));
    let steps = 0;
    let bad = 0;
    for (let i = 0; i < param.length; i++) {
      const decayed = Math.fround(param[i] * decay);
      const moved = [decayed, Math.fround(decayed - lr), Math.fround(decayed + lr)];
      if (!moved.includes(a[i])) bad++;
      if (a[i] !== decayed) steps++;
    }
    let rejected = '';
    try {
      await t.demo.apply({ ...args, updates: [{ indices: updates[0].indices, values: updates[0].values.map((v: number) => v * 0.5) }] });
    } catch (e) {
      rejected = (e as Error).message;
    }
    return { identical: a.every((x, i) => Object.is(x, b[i])), steps, bad, rejected };
  });
  expect(r.identical).toBe(true);
  expect(r.bad).toBe(0);
  expect(r.steps).toBeGreaterThan(100);
  expect(r.rejected).toMatch(/1-bit updates/);
});

test('demo.compress keeps k ascending coefficients per block as signs; its updates apply', async ({ page }) => {
  await page.goto('/#/model');
  await page.waitForFunction(() => 'tessera' in globalThis);
  const r = await page.evaluate(async () => {
    const t = (globalThis as any).tessera;
    let seed = 777;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
    const shape = [24, 20]; // chunk 8 → 12 blocks of 8×5
    const grad = Float32Array.from({ length: 480 }, rand);
    const momentum = new Float32Array(480);
    const c = await t.demo.compress({ shape, grad, momentum, lr: 0.01, decay: 0.999, chunk: 8, topk: 3, quantize1bit: true });
    let ascending = true;
    for (let b = 0; b < 12; b++) for (let j = 1; j < 3; j++) if (c.indices[b * 3 + j] <= c.indices[b * 3 + j - 1]) ascending = false;
    // With zero momentum, δ = η·g before feedback; feedback removes only the kept part.
    let changed = 0;
    for (let i = 0; i < 480; i++) if (Math.abs(c.momentum[i] - Math.fround(0.01) * grad[i]) > 1e-6) changed++;
    const param = new Float32Array(480).fill(0.5);
    const p = await t.demo.apply({ param, shape, updates: [c], lr: 0.01, chunk: 8, weightDecay: 0 });
    return {
      indices: c.indices.length,
      maxIndex: Math.max(...c.indices),
      signs: [...c.values].every((v: number) => v === 1 || v === -1),
      ascending,
      changed,
      moved: [...p].filter((x: number) => x !== 0.5).length,
    };
  });
  expect(r.indices).toBe(36);
  expect(r.maxIndex).toBeLessThan(40);
  expect(r.signs).toBe(true);
  expect(r.ascending).toBe(true);
  expect(r.changed).toBeGreaterThan(0);
  expect(r.moved).toBeGreaterThan(0);
});
