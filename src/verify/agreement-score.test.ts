import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../kernels/testing/random';
import type { UpdateTensor } from '../protocol/update-codec';
import { updateKeys } from './overlap';
import { agreementScore, agreementScoreOfKeys, MAX_SCORE } from './agreement-score';

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

/** `own` with the first `common` coefficients of each block kept, the rest moved elsewhere; with randomSigns every sign is a fair coin. */
function sharing(own: { idx: number; sign: number }[][], common: number, rand: () => number, randomSigns: boolean) {
  return own.map((b) => {
    const kept = b.slice(0, common).map((e) => ({ ...e, sign: randomSigns && rand() < 0.5 ? -e.sign : e.sign }));
    const others: { idx: number; sign: number }[] = [];
    for (let i = 0; others.length < b.length - common; i++) {
      if (!b.some((e) => e.idx === 4000 - i)) others.push({ idx: 4000 - i, sign: randomSigns && rand() < 0.5 ? -1 : 1 });
    }
    return [...kept, ...others].sort((x, y) => x.idx - y.idx);
  });
}

describe('agreementScore', () => {
  const rand = mulberry32(5);
  const own = randomBlocks(rand, 40);

  it('is 100·z: the same 320 coefficients score 100·320/√321, every sign flipped the negative, nothing shared 0', () => {
    expect(agreementScore(update(own), [update(own)])).toBe(Math.min(MAX_SCORE, Math.round((100 * 320) / Math.sqrt(321))));
    expect(agreementScore(update(own.map((b) => b.map((e) => ({ ...e, sign: -e.sign })))), [update(own)])).toBe(-MAX_SCORE);
    const at = (base: number) => [Array.from({ length: 8 }, (_, i) => ({ idx: base + i, sign: 1 }))];
    expect(agreementScore(update(at(0)), [update(at(100))])).toBe(0);
  });

  it('2 of 8 shared with equal signs: 100·80/√81; the same shares with made-up signs stay near 0', () => {
    expect(agreementScore(update(sharing(own, 2, rand, false)), [update(own)])).toBe(Math.round((100 * 80) / 9));
    expect(Math.abs(agreementScore(update(sharing(own, 2, rand, true)), [update(own)]))).toBeLessThan(300);
  });

  it('constant signs where the references lean that way score well: the score cannot reject them, so the proofs must', () => {
    const plus = own.map((b) => b.map((e) => ({ ...e, sign: 1 })));
    const leaning = own.map((b) => b.map((e, i) => ({ ...e, sign: i < 6 ? 1 : e.sign })));
    const refs = [update(leaning), update(leaning), update(own)];
    // Σ s·w ≈ 40 blocks × 6 coefficients × 2 (the leaning references agree, the third is a coin), over √(Σ w²) ≈ √(40 · 48).
    expect(agreementScore(update(plus), refs)).toBeGreaterThan(800);
  });

  it('made-up signs score about N(0, 100) whatever the overlap: 400 trials at 1, 3 and 8 of 8 shared', () => {
    for (const common of [1, 3, 8]) {
      const scores = Array.from({ length: 400 }, () => agreementScore(update(sharing(own, common, rand, true)), [update(own)]));
      const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
      const sd = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
      expect(Math.abs(mean), `mean at ${common} of 8`).toBeLessThan(20);
      expect(sd, `sd at ${common} of 8`).toBeGreaterThan(80);
      expect(sd, `sd at ${common} of 8`).toBeLessThan(110);
      // The pass line (200) is 2 σ: about 2.3 % of single made-up scores clear it.
      expect(scores.filter((s) => s >= 200).length, `passes at ${common} of 8`).toBeLessThan(25);
    }
  });

  /** `base` with each sign kept with probability `agree`, else flipped: a noisy honest neighbour. */
  const noisy = (base: { idx: number; sign: number }[][], agree: number) => base.map((b) => b.map((e) => ({ ...e, sign: rand() < agree ? e.sign : -e.sign })));

  it('sums over references: by hand for two references, and no references score 0', () => {
    const c = [[{ idx: 1, sign: 1 }, { idx: 2, sign: -1 }, { idx: 3, sign: 1 }]];
    const r1 = [[{ idx: 1, sign: 1 }, { idx: 2, sign: 1 }, { idx: 9, sign: 1 }]];
    const r2 = [[{ idx: 1, sign: 1 }, { idx: 3, sign: 1 }, { idx: 9, sign: -1 }]];
    // w = (2, 1, 1) at indices 1, 2, 3; Σ s·w = 2 − 1 + 1 = 2, Σ w² = 6: 100·2/√7 = 76.
    expect(agreementScore(update(c, 3), [update(r1, 3), update(r2, 3)])).toBe(Math.round((100 * 2) / Math.sqrt(7)));
    expect(agreementScore(update(c, 3), [])).toBe(0);
    const half = update(sharing(own, 4, rand, true));
    expect(agreementScoreOfKeys(updateKeys(half), [updateKeys(update(own))])).toBe(agreementScore(half, [update(own)]));
  });

  it('several noisy honest references separate better than one: a candidate near the line with one clears 2.5 σ far more often with five', () => {
    const trials = 200;
    let passOne = 0;
    let passFive = 0;
    for (let t = 0; t < trials; t++) {
      // A shared direction; the candidate and each reference see it through 75 % sign agreement (62.5 % with each other), sharing 2 of 8 per block: about 2.2 σ against one.
      const truth = randomBlocks(rand, 40);
      const cand = update(noisy(sharing(truth, 2, rand, false), 0.75));
      const refs = Array.from({ length: 5 }, () => update(noisy(truth, 0.75)));
      if (agreementScore(cand, refs.slice(0, 1)) >= 250) passOne++;
      if (agreementScore(cand, refs) >= 250) passFive++;
    }
    expect(passFive).toBeGreaterThan(passOne + trials / 4);
  });

  it('made-up signs stay about N(0, 100) against five references', () => {
    const refs = Array.from({ length: 5 }, () => update(noisy(own, 0.8)));
    const scores = Array.from({ length: 400 }, () => agreementScore(update(sharing(own, 8, rand, true)), refs));
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    const sd = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
    expect(Math.abs(mean)).toBeLessThan(20);
    expect(sd).toBeGreaterThan(80);
    expect(sd).toBeLessThan(120);
    expect(scores.filter((x) => x >= 250).length).toBeLessThan(12);
  });
});
