import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../kernels/testing/random';
import type { UpdateTensor } from '../protocol/update-codec';
import { agreementPermille } from './agreement-score';

/** One 2-D tensor of `blocks` 64×64 blocks, k kept per block at the given indices and signs. */
function update(entries: { idx: number; sign: number }[][], k = 8): { tensors: UpdateTensor[] } {
  const indices = new Uint32Array(entries.flatMap((b) => b.map((e) => e.idx)));
  const values = new Float32Array(entries.flatMap((b) => b.map((e) => e.sign)));
  return { tensors: [{ shape: [64, 64 * entries.length], block: [64, 64], k, indices, values }] };
}

function randomBlocks(rand: () => number, blocks: number, k = 8): { idx: number; sign: number }[][] {
  return Array.from({ length: blocks }, () => {
    const idx = new Set<number>();
    while (idx.size < k) idx.add(Math.floor(rand() * 4096));
    return [...idx].sort((a, b) => a - b).map((i) => ({ idx: i, sign: rand() < 0.5 ? -1 : 1 }));
  });
}

describe('agreementPermille', () => {
  const rand = mulberry32(5);
  const own = randomBlocks(rand, 40);

  it('is 1000 for the same update, −1000 for every sign flipped, 0 for nothing shared', () => {
    expect(agreementPermille(update(own), update(own))).toBe(1000);
    expect(agreementPermille(update(own.map((b) => b.map((e) => ({ ...e, sign: -e.sign })))), update(own))).toBe(-1000);
    const at = (base: number) => [Array.from({ length: 8 }, (_, i) => ({ idx: base + i, sign: 1 }))];
    expect(agreementPermille(update(at(0)), update(at(100)))).toBe(0);
  });

  it('counts shared coefficients: 3 of 8 shared with equal signs score 375, with random signs about 0', () => {
    // Keep the first 3 of each block's 8 coefficients in common, the other 5 elsewhere.
    const mixed = (flipRandomly: boolean) =>
      own.map((b) => {
        const common = b.slice(0, 3).map((e) => ({ ...e, sign: flipRandomly && rand() < 0.5 ? -e.sign : e.sign }));
        const others: { idx: number; sign: number }[] = [];
        for (let i = 0; others.length < 5; i++) if (!b.some((e) => e.idx === 4000 - i)) others.push({ idx: 4000 - i, sign: 1 });
        return [...common, ...others].sort((x, y) => x.idx - y.idx);
      });
    expect(agreementPermille(update(mixed(false)), update(own))).toBe(375); // 3 of 8 per block
    expect(Math.abs(agreementPermille(update(mixed(true)), update(own)))).toBeLessThan(120);
  });
});
