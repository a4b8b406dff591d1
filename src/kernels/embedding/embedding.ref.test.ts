import { describe, expect, it } from 'vitest';
import { gradientRelError, numericalGradient, projectionLoss } from '../testing/fd';
import { randomFloats, randomInts } from '../testing/random';
import { embeddingBackward, embeddingForward } from './embedding.ref';

describe('embedding reference', () => {
  const [V, D] = [11, 5];
  const n = 2 * 7; // B=2, S=7
  const table = randomFloats(V * D, 10);
  // V=11 with 14 ids forces repeats, which the backward must sum.
  const ids = randomInts(n, V, 11);
  const r = randomFloats(n * D, 12);

  it('gathers rows', () => {
    const y = embeddingForward(table, ids, V, D);
    expect(Array.from(y.subarray(3 * D, 4 * D))).toEqual(Array.from(table.subarray(ids[3] * D, ids[3] * D + D)));
  });

  it('backward matches finite differences, with repeated ids', () => {
    expect(new Set(ids).size).toBeLessThan(n);
    const numeric = numericalGradient((t) => projectionLoss(embeddingForward(t, ids, V, D), r), table);
    expect(gradientRelError(embeddingBackward(r, ids, V, D), numeric)).toBeLessThan(1e-6);
  });

  it('leaves rows of unused ids at zero', () => {
    const dTable = embeddingBackward(r.subarray(0, 2 * D), Int32Array.from([2, 2]), V, D);
    expect(dTable.subarray(0, 2 * D).every((v) => v === 0)).toBe(true);
    expect(dTable[2 * D]).toBeCloseTo(r[0] + r[D], 14);
  });

  it('throws on ids out of range', () => {
    expect(() => embeddingForward(table, Int32Array.from([0, V]), V, D)).toThrow(RangeError);
    expect(() => embeddingForward(table, Int32Array.from([-1]), V, D)).toThrow(RangeError);
    expect(() => embeddingBackward(new Float64Array(D), Int32Array.from([V]), V, D)).toThrow(RangeError);
  });
});
