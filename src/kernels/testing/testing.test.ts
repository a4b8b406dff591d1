import { describe, expect, it } from 'vitest';
import { compareArrays } from './compare';
import { gradientRelError, numericalGradient } from './fd';
import { mulberry32, randomFloats, randomInts } from './random';

describe('testing helpers', () => {
  it('random helpers are deterministic per seed and in range', () => {
    expect(Array.from(randomFloats(5, 7))).toEqual(Array.from(randomFloats(5, 7)));
    expect(Array.from(randomFloats(5, 7))).not.toEqual(Array.from(randomFloats(5, 8)));
    const ints = randomInts(1000, 13, 3);
    expect(ints.every((x) => x >= 0 && x < 13)).toBe(true);
    const u = mulberry32(1);
    for (let i = 0; i < 100; i++) {
      const x = u();
      expect(x >= 0 && x < 1).toBe(true);
    }
    const xs = randomFloats(20000, 9, 2);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + b * b, 0) / xs.length);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(sd).toBeCloseTo(2, 1);
  });

  it('numericalGradient differentiates a known function and leaves x alone', () => {
    const x = Float64Array.of(0.3, -1.2, 2);
    const g = numericalGradient((t) => t[0] * t[0] * t[1] + Math.sin(t[2]), x);
    expect(Array.from(x)).toEqual([0.3, -1.2, 2]);
    expect(gradientRelError(g, [2 * 0.3 * -1.2, 0.09, Math.cos(2)])).toBeLessThan(1e-8);
  });

  it('gradientRelError catches a wrong gradient and NaN', () => {
    expect(gradientRelError([1, 2.001], [1, 2])).toBeGreaterThan(1e-4);
    expect(gradientRelError([NaN], [1])).toBe(Infinity);
  });

  it('compareArrays reports abs/rel errors and skips near-zero refs for rel', () => {
    const r = compareArrays([1.1, 1e-9, -2], [1, 0, -2]);
    expect(r.maxAbsRef).toBe(2);
    expect(r.maxAbsErr).toBeCloseTo(0.1, 12);
    expect(r.maxRelErr).toBeCloseTo(0.1, 12);
    expect(compareArrays([NaN], [1]).maxAbsErr).toBe(Infinity);
    expect(compareArrays([0, 0], [0, 0])).toEqual({ maxAbsErr: 0, maxRelErr: 0, maxAbsRef: 0 });
    expect(() => compareArrays([1], [1, 2])).toThrow(RangeError);
  });
});
