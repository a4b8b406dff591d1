import { describe, expect, it } from 'vitest';
import { gradientRelError, numericalGradient, projectionLoss } from '../testing/fd';
import { randomFloats } from '../testing/random';
import { swigluBackward, swigluForward } from './swiglu.ref';

describe('swiglu reference', () => {
  const n = 2 * 7 * 11; // B=2, S=7, I=11
  const gate = randomFloats(n, 50, 3);
  const up = randomFloats(n, 51);
  const r = randomFloats(n, 52);
  const { dgate, dup } = swigluBackward(gate, up, r);

  it('computes silu(gate)·up', () => {
    const h = swigluForward(gate, up);
    expect(h[17]).toBeCloseTo((gate[17] / (1 + Math.exp(-gate[17]))) * up[17], 14);
  });

  it('dgate matches finite differences', () => {
    const numeric = numericalGradient((t) => projectionLoss(swigluForward(t, up), r), gate);
    expect(gradientRelError(dgate, numeric)).toBeLessThan(1e-6);
  });

  it('dup matches finite differences', () => {
    const numeric = numericalGradient((t) => projectionLoss(swigluForward(gate, t), r), up);
    expect(gradientRelError(dup, numeric)).toBeLessThan(1e-6);
  });

  it('is finite for extreme gates', () => {
    const g = Float64Array.from([-1000, 1000, 0]);
    const u = Float64Array.from([1, 1, 1]);
    expect(Array.from(swigluForward(g, u))).toEqual([-0, 1000, 0]);
    const grads = swigluBackward(g, u, u);
    expect(grads.dgate.every(Number.isFinite)).toBe(true);
  });
});
