import { describe, expect, it } from 'vitest';
import { referenceSlots } from './references';

describe('referenceSlots', () => {
  it('starts with its own slot, then trusted slots after it in slot order, wrapping', () => {
    expect(referenceSlots(3, [0, 1, 4, 6], 9, 8, 10)).toEqual([3, 4, 6, 0, 1]);
  });

  it('never names the candidate, repeats nothing, and stops at max', () => {
    expect(referenceSlots(3, [4, 4, 5, 6, 7], 5, 3, 10)).toEqual([3, 4, 6]);
    expect(referenceSlots(3, [3, 4], 4, 8, 10)).toEqual([3]);
  });

  it('gives nothing when the candidate is its own slot or max is 0', () => {
    expect(referenceSlots(2, [1, 2, 3], 2, 8, 4)).toEqual([]);
    expect(referenceSlots(2, [1, 3], 1, 0, 4)).toEqual([]);
  });
});
