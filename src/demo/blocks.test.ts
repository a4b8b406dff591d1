import { describe, expect, it } from 'vitest';
import { blockGrid, blockOrigin, blockShape, indexBits, largestDivisorAtMost } from './blocks';

describe('blockShape', () => {
  it('keeps dimensions that already fit in one chunk', () => {
    expect(blockShape([37, 52], 64)).toEqual([37, 52]);
    expect(blockShape([97], 64)).toEqual([1]); // 97 is prime and > 64: no divisor but 1 fits
    expect(blockShape([97], 128)).toEqual([97]);
  });

  it('takes the largest divisor ≤ chunk per dimension', () => {
    expect(blockShape([128, 96], 64)).toEqual([64, 48]);
    expect(blockShape([1000], 64)).toEqual([50]);
    expect(blockShape([4096, 1024], 64)).toEqual([64, 64]);
    expect(blockShape([50257, 64], 64)).toEqual([29, 64]); // 50257 = 29·1733
    expect(blockShape([7, 11], 1)).toEqual([1, 1]);
  });

  it('rejects other ranks, empty dimensions and bad chunks', () => {
    expect(() => blockShape([2, 3, 4], 64)).toThrow(RangeError);
    expect(() => blockShape([], 64)).toThrow(/1-D and 2-D/);
    expect(() => blockShape([0, 4], 64)).toThrow(RangeError);
    expect(() => blockShape([4.5], 64)).toThrow(RangeError);
    expect(() => blockShape([8], 0)).toThrow(/chunk/);
    expect(() => blockShape([8], 2.5)).toThrow(/chunk/);
  });

  it('largestDivisorAtMost falls back to 1 for primes above the limit', () => {
    expect(largestDivisorAtMost(97, 64)).toBe(1);
    expect(largestDivisorAtMost(1, 64)).toBe(1);
    expect(largestDivisorAtMost(60, 7)).toBe(6);
  });
});

describe('indexBits', () => {
  it('is the fewest bits that name every element of a block', () => {
    expect([1, 2, 3, 4, 5, 256, 257, 64 * 64, 65536, 65537].map(indexBits)).toEqual([0, 1, 2, 2, 3, 8, 9, 12, 16, 17]);
    expect(indexBits(2 ** 32)).toBe(32);
  });
  it('rejects non-integers and empty blocks', () => {
    expect(() => indexBits(0)).toThrow(RangeError);
    expect(() => indexBits(3.5)).toThrow(RangeError);
    expect(() => indexBits(2 ** 32 + 1)).toThrow(RangeError);
  });
});

describe('blockGrid', () => {
  it('numbers blocks row-major and treats 1-D as one row', () => {
    const g = blockGrid([6, 8], [3, 4]);
    expect(g).toMatchObject({ R: 6, C: 8, cr: 3, cc: 4, blocksDown: 2, blocksAcross: 2, count: 4, size: 12 });
    expect([0, 1, 2, 3].map((b) => blockOrigin(g, b))).toEqual([0, 4, 24, 28]);
    expect(blockGrid([10], [5])).toMatchObject({ R: 1, C: 10, cr: 1, cc: 5, count: 2, size: 5 });
  });
  it('rejects blocks that do not tile the shape', () => {
    expect(() => blockGrid([6, 8], [4, 4])).toThrow(/tile/);
    expect(() => blockGrid([6, 8], [6])).toThrow(/rank/);
  });
});
