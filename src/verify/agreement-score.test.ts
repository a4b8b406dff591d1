import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../kernels/testing/random';
import type { UpdateTensor } from '../protocol/update-codec';
import { agreementScore, MAX_SCORE } from './agreement-score';

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

/** `own` with the first `common` coefficients of each block kept (signs flipped at random when asked), the rest moved elsewhere. */
function sharing(own: { idx: number; sign: number }[][], common: number, rand: () => number, randomSigns: boolean) {
  return own.map((b) => {
    const kept = b.slice(0, common).map((e) => ({ ...e, sign: randomSigns && rand() < 0.5 ? -e.sign : e.sign }));
    const others: { idx: number; sign: number }[] = [];
    for (let i = 0; others.length < b.length - common; i++) if (!b.some((e) => e.idx === 4000 - i)) others.push({ idx: 4000 - i, sign: 1 });
    return [...kept, ...others].sort((x, y) => x.idx - y.idx);
  });
}

describe('agreementScore', () => {
  const rand = mulberry32(5);
  const own = randomBlocks(rand, 40);

  it('is 100·z: the same 320 coefficients score 100·320/√321, every sign flipped the negative, nothing shared 0', () => {
    expect(agreementScore(update(own), update(own))).toBe(Math.min(MAX_SCORE, Math.round((100 * 320) / Math.sqrt(321))));
    expect(agreementScore(update(own.map((b) => b.map((e) => ({ ...e, sign: -e.sign })))), update(own))).toBe(-MAX_SCORE);
    const at = (base: number) => [Array.from({ length: 8 }, (_, i) => ({ idx: base + i, sign: 1 }))];
    expect(agreementScore(update(at(0)), update(at(100)))).toBe(0);
  });

  it('2 of 8 shared with equal signs: 100·80/√81; the same shares with made-up signs stay near 0', () => {
    expect(agreementScore(update(sharing(own, 2, rand, false)), update(own))).toBe(Math.round((100 * 80) / 9));
    expect(Math.abs(agreementScore(update(sharing(own, 2, rand, true)), update(own)))).toBeLessThan(300);
  });

  it('made-up signs score about N(0, 100) whatever the overlap: 400 trials at 1, 3 and 8 of 8 shared', () => {
    for (const common of [1, 3, 8]) {
      const scores = Array.from({ length: 400 }, () => agreementScore(update(sharing(own, common, rand, true)), update(own)));
      const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
      const sd = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
      expect(Math.abs(mean), `mean at ${common} of 8`).toBeLessThan(20);
      expect(sd, `sd at ${common} of 8`).toBeGreaterThan(80);
      expect(sd, `sd at ${common} of 8`).toBeLessThan(110);
      // The pass line (250) is 2.5 σ: about 0.6 % of single made-up scores clear it.
      expect(scores.filter((s) => s >= 250).length, `passes at ${common} of 8`).toBeLessThan(12);
    }
  });
});
