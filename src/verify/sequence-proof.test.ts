import { describe, expect, it } from 'vitest';
import { PROOF_ROWS } from '../protocol/update-codec';
import { randomUpdate } from '../protocol/test-helpers';
import { claimedSketch, proofErrorPermille } from './sequence-proof';

describe('sequence proofs', () => {
  it('reads the claimed sketch of each sequence of the range, and nothing outside it', () => {
    const u = randomUpdate([[8, 8]], 4, 2, true, 3);
    expect(u.batchCount).toBe(4);
    expect(Array.from(claimedSketch(u, 2))).toEqual(Array.from(u.proof.slice(2 * PROOF_ROWS, 3 * PROOF_ROWS)));
    expect(() => claimedSketch(u, 4)).toThrow(/outside the update's 4 sequences/);
    expect(() => claimedSketch(u, -1)).toThrow(RangeError);
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
