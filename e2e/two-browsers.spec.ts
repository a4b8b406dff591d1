/**
 * Two separate Chromium processes applying the same DeMo updates (in
 * different arrival orders) end with the same parameter bits, and the same
 * checkpoint gives the same GPU checksum in both.
 */
import { chromium, expect, test, type Page } from '@playwright/test';
import { chromiumLaunchOptions } from './chromium';

async function open(page: Page): Promise<void> {
  await page.goto('/#/model');
  await page.waitForFunction(() => 'tessera' in globalThis);
}

test('same updates, two browsers, any order: identical bits and checksums', async ({ page, baseURL }) => {
  const other = await chromium.launch(chromiumLaunchOptions());
  try {
    const page2 = await (await other.newContext({ baseURL })).newPage();
    await Promise.all([open(page), open(page2)]);
    const shape = [48, 40];
    // Browser A makes three clients' updates on its GPU.
    const updates = await page.evaluate(async (shape) => {
      const t = (globalThis as any).tessera;
      let seed = 99;
      const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
      const out = [];
      for (let c = 0; c < 3; c++) {
        const grad = Float32Array.from({ length: 48 * 40 }, rand);
        const u = await t.demo.compress({ shape, grad, momentum: new Float32Array(48 * 40), lr: 0.01, decay: 0.999, chunk: 16, topk: 4, quantize1bit: true });
        out.push({ indices: [...u.indices], values: [...u.values] });
      }
      return out;
    }, shape);
    const applyIn = (p: Page, order: number[]) =>
      p.evaluate(
        async ({ shape, updates, order }) => {
          const t = (globalThis as any).tessera;
          const param = Float32Array.from({ length: 48 * 40 }, (_, i) => Math.sin(i) * 0.5);
          const ordered = order.map((i) => ({ indices: Uint32Array.from(updates[i].indices), values: Float32Array.from(updates[i].values) }));
          const out: Float32Array = await t.demo.apply({ param, shape, updates: ordered, lr: 0.01, chunk: 16, weightDecay: 0.1 });
          return [...new Uint32Array(out.buffer)];
        },
        { shape, updates, order },
      );
    const [bitsA, bitsB] = await Promise.all([applyIn(page, [0, 1, 2]), applyIn(page2, [2, 0, 1])]);
    expect(bitsA.length).toBe(48 * 40);
    expect(bitsB).toEqual(bitsA);

    // One checkpoint, loaded in both browsers: the GPU checksums agree.
    const bytes = await page.evaluate(async () => {
      const m = await (globalThis as any).tessera.model.create('tiny', 3);
      const b: Uint8Array = await m.toSafetensors();
      m.dispose();
      return [...b];
    });
    const checksumOf = (p: Page) =>
      p.evaluate(async (bytes) => {
        const m = await (globalThis as any).tessera.model.fromSafetensors(Uint8Array.from(bytes));
        const sum = await m.checksum();
        m.dispose();
        return sum;
      }, bytes);
    const [sumA, sumB] = await Promise.all([checksumOf(page), checksumOf(page2)]);
    expect(sumA).toMatch(/^[0-9a-f]{16}$/);
    expect(sumB).toBe(sumA);
  } finally {
    await other.close();
  }
});
