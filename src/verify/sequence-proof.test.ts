import { describe, expect, it } from 'vitest';
import { PROOF_ROWS } from '../protocol/update-codec';
import { randomUpdate } from '../protocol/test-helpers';
import { claimedSketch, proofErrorPermille, unitRange, updateUnit } from './sequence-proof';

describe('sequence proofs', () => {
  it('reads the claimed sketch of each sequence of the range, and nothing outside it', () => {
    const u = randomUpdate([[8, 8]], 4, 2, true, 3);
    expect(u.batchCount).toBe(4);
    expect(Array.from(claimedSketch(u, 2))).toEqual(Array.from(u.proof.slice(2 * PROOF_ROWS, 3 * PROOF_ROWS)));
    expect(() => claimedSketch(u, 4)).toThrow(/unit 4 is outside the 4 proofs of 4 sequences/);
    expect(() => claimedSketch(u, -1)).toThrow(RangeError);
  });

  it('splits a range into at most 8 units of ⌈count / 8⌉ consecutive sequences, the last cut short, that cover it once', () => {
    for (const count of [1, 3, 8, 9, 20, 64, 1001]) {
      const size = Math.max(1, Math.ceil(count / 8));
      const units = Math.ceil(count / size);
      expect(units).toBeLessThanOrEqual(8);
      const ranges = Array.from({ length: units }, (_, u) => unitRange(count, u));
      expect(ranges[0].start).toBe(0);
      ranges.forEach((r, u) => {
        if (u > 0) expect(r.start).toBe(ranges[u - 1].start + ranges[u - 1].count);
        if (u < units - 1) expect(r.count).toBe(size);
        expect(r.count).toBeGreaterThanOrEqual(1);
        expect(r.count).toBeLessThanOrEqual(size);
      });
      expect(ranges[units - 1].start + ranges[units - 1].count).toBe(count);
      expect(() => unitRange(count, units)).toThrow(RangeError);
    }
    // 20 sequences: units of 3, the seventh holding the last 2.
    expect(unitRange(20, 0)).toEqual({ start: 0, count: 3 });
    expect(unitRange(20, 1)).toEqual({ start: 3, count: 3 });
    expect(unitRange(20, 6)).toEqual({ start: 18, count: 2 });
    expect(() => unitRange(20, 7)).toThrow(/unit 7 is outside the 7 proofs of 20 sequences/);
  });

  it('lays a time-boxed range out in its cap’s units, cut where training stopped', () => {
    // Assigned 20 (units of 3), trained 7: [0, 3), [3, 6), [6, 7).
    expect([0, 1, 2].map((u) => unitRange(7, u, 3))).toEqual([
      { start: 0, count: 3 },
      { start: 3, count: 3 },
      { start: 6, count: 1 },
    ]);
    expect(() => unitRange(7, 3, 3)).toThrow(RangeError);
    // A unit size over the count is one unit.
    expect(unitRange(2, 0, 3)).toEqual({ start: 0, count: 2 });
    expect(() => unitRange(2, 1, 3)).toThrow(RangeError);
    // From an update: its unit size, or the default one when it has none.
    const u = { ...randomUpdate([[8, 8]], 4, 2, true, 3), batchCount: 5, unitSize: 2, proof: new Float32Array(3 * PROOF_ROWS).map((_, i) => i) };
    expect(updateUnit(u, 2)).toEqual({ start: 4, count: 1 });
    expect(Array.from(claimedSketch(u, 2))).toEqual([8, 9, 10, 11]);
    expect(() => claimedSketch(u, 3)).toThrow(/unit 3 is outside the 3 proofs of 5 sequences/);
    expect(updateUnit({ batchCount: 20 }, 1)).toEqual({ start: 3, count: 3 });
  });

  it('measures the relative error in per-mille, rounded up', () => {
    expect(proofErrorPermille([3, 4, 0, 0], [3, 4, 0, 0])).toBe(0);
    // ‖(0.03, 0.04)‖ = 0.05 of a norm of 5: 10‰.
    expect(proofErrorPermille([3.03, 4.04, 0, 0], [3, 4, 0, 0])).toBe(10);
    expect(proofErrorPermille([3.0301, 4.04, 0, 0], [3, 4, 0, 0])).toBe(11);
    // Another sequence's gradient of the same size is far off; so is the sign-flipped one.
    expect(proofErrorPermille([-3, -4, 0, 0], [3, 4, 0, 0])).toBe(2000);
    expect(proofErrorPermille([0, 0, 0, 0], [3, 4, 0, 0])).toBe(1000);
    expect(proofErrorPermille([0, 0, 0, 0], [0, 0, 0, 0])).toBe(0);
    expect(proofErrorPermille([1, 0, 0, 0], [0, 0, 0, 0])).toBe(Number.POSITIVE_INFINITY);
    expect(() => proofErrorPermille([1, 2], [1, 2, 3])).toThrow(RangeError);
  });
});
