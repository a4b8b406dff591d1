import { describe, expect, it } from 'vitest';
import { gradientRelError, numericalGradient } from '../testing/fd';
import { randomFloats } from '../testing/random';
import { clipCoefficient, clipGrads, globalNorm } from './gradnorm.ref';

describe('gradnorm reference', () => {
  const grads = [randomFloats(7, 70), randomFloats(13, 71, 0.1), randomFloats(3, 72, 5)];

  it('globalNorm is the 2-norm of the concatenation', () => {
    expect(globalNorm([Float64Array.from([3]), Float64Array.from([0, 4])])).toBe(5);
    expect(globalNorm([])).toBe(0);
  });

  it('globalNorm has gradient g / norm (finite differences)', () => {
    const flat = Float64Array.from(grads.flatMap((g) => Array.from(g)));
    const norm = globalNorm(grads);
    const numeric = numericalGradient((t) => globalNorm([t.subarray(0, 7), t.subarray(7, 20), t.subarray(20)]), flat);
    expect(gradientRelError(flat.map((x) => x / norm), numeric)).toBeLessThan(1e-6);
  });

  it('clipCoefficient follows min(1, maxNorm / (norm + 1e-6))', () => {
    expect(clipCoefficient(10, 1)).toBe(1 / (10 + 1e-6));
    expect(clipCoefficient(0.5, 1)).toBe(1);
    expect(clipCoefficient(0, 1)).toBe(1);
  });

  it('clipGrads scales copies to maxNorm and reports the pre-clip norm', () => {
    const norm = globalNorm(grads);
    const before = grads.map((g) => Float64Array.from(g));
    const clipped = clipGrads(grads, 1);
    expect(clipped.norm).toBe(norm);
    expect(globalNorm(clipped.grads)).toBeCloseTo(norm / (norm + 1e-6), 12);
    expect(grads).toEqual(before);
    expect(clipped.grads[1][4]).toBeCloseTo(grads[1][4] / (norm + 1e-6), 15);
  });

  it('clipGrads leaves small gradients unchanged (but copied)', () => {
    const out = clipGrads(grads, 1e6);
    expect(out.grads).toEqual(grads);
    expect(out.grads[0]).not.toBe(grads[0]);
  });
});
