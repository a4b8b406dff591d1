import { describe, expect, it } from 'vitest';
import { PROOF_ROWS } from '../protocol/update-codec';
import { randomUpdate } from '../protocol/test-helpers';
import { claimedSketch, proofErrorPermille, unitRange } from './sequence-proof';

describe('sequence proofs', () => {
  it('reads the claimed sketch of each sequence of the range, and nothing outside it', () => {
    const u = randomUpdate([[8, 8]], 4, 2, true, 3);
    expect(u.batchCount).toBe(4);
    expect(Array.from(claimedSketch(u, 2))).toEqual(Array.from(u.proof.slice(2 * PROOF_ROWS, 3 * PROOF_ROWS)));
    expect(() => claimedSketch(u, 4)).toThrow(/unit 4 is outside the 4 proofs of 4 sequences/);
    expect(() => claimedSketch(u, -1)).toThrow(RangeError);
  });

  it('splits a range into at most 8 units of consecutive sequences that cover it once', () => {
    for (const count of [1, 3, 8, 9, 20, 64, 1001]) {
      const units = Math.min(count, 8);
      const ranges = Array.from({ length: units }, (_, u) => unitRange(count, u));
      expect(ranges[0].start).toBe(0);
      ranges.forEach((r, u) => {
        if (u > 0) expect(r.start).toBe(ranges[u - 1].start + ranges[u - 1].count);
        expect(r.count).toBeGreaterThanOrEqual(Math.floor(count / units));
        expect(r.count).toBeLessThanOrEqual(Math.ceil(count / units));
      });
      expect(ranges[units - 1].start + ranges[units - 1].count).toBe(count);
      expect(() => unitRange(count, units)).toThrow(RangeError);
    }
    expect(unitRange(20, 0)).toEqual({ start: 0, count: 2 });
    expect(unitRange(20, 1)).toEqual({ start: 2, count: 3 });
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
