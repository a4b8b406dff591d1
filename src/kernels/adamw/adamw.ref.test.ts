import { describe, expect, it } from 'vitest';
import { randomFloats } from '../testing/random';
import { adamwStep } from './adamw.ref';

describe('adamw reference', () => {
  it('matches a hand-computed scalar over three steps', () => {
    const o = { lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.5 };
    const grads = [0.5, -0.2, 0.3];
    // Expected numbers worked out by plain arithmetic from the formula:
    // step 1: p = 1·(1 − 0.05) = 0.95; m = 0.05; v = 0.0025;
    //   m̂ = 0.05/0.1 = 0.5, √v̂ = √(0.0025/0.01) = 0.5 → p = 0.95 − 0.1·0.5/(0.5+1e-8)
    const p1 = 0.95 - (0.1 * 0.5) / (0.5 + 1e-8);
    // step 2: m = 0.045 − 0.02 = 0.025; v = 0.002475 + 0.0004 = 0.002875
    //   step size 0.1/0.19, √v̂ = √(0.002875/0.0199)
    const p2 = p1 * 0.95 - ((0.1 / 0.19) * 0.025) / (Math.sqrt(0.002875 / 0.0199) + 1e-8);
    // step 3: m = 0.0225 + 0.03 = 0.0525; v = 0.00284625 + 0.0009 = 0.00374625
    //   1 − 0.9³ = 0.271, 1 − 0.99³ = 0.029701
    const p3 = p2 * 0.95 - ((0.1 / 0.271) * 0.0525) / (Math.sqrt(0.00374625 / 0.029701) + 1e-8);
    const expected = [p1, p2, p3];
    const expectedM = [0.05, 0.025, 0.0525];
    const expectedV = [0.0025, 0.002875, 0.00374625];

    let state: { p: Float64Array; m: Float64Array; v: Float64Array } = { p: Float64Array.of(1), m: Float64Array.of(0), v: Float64Array.of(0) };
    for (let t = 1; t <= 3; t++) {
      state = adamwStep(state.p, Float64Array.of(grads[t - 1]), state.m, state.v, { ...o, step: t });
      expect(state.p[0]).toBeCloseTo(expected[t - 1], 14);
      expect(state.m[0]).toBeCloseTo(expectedM[t - 1], 14);
      expect(state.v[0]).toBeCloseTo(expectedV[t - 1], 14);
    }
  });

  it('moves each parameter by about −lr·sign(g) on the first step without decay', () => {
    const n = 23;
    const p = randomFloats(n, 80);
    const g = randomFloats(n, 81);
    const lr = 1e-3;
    const out = adamwStep(p, g, new Float64Array(n), new Float64Array(n), {
      lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1,
    });
    for (let i = 0; i < n; i++) expect(out.p[i] - p[i]).toBeCloseTo(-lr * Math.sign(g[i]), 9);
  });

  it('applies decoupled decay even when the gradient is zero', () => {
    const out = adamwStep(Float64Array.of(2), Float64Array.of(0), Float64Array.of(0), Float64Array.of(0), {
      lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: 1,
    });
    expect(out.p[0]).toBeCloseTo(2 * (1 - 0.001), 15);
  });

  it('does not mutate inputs and rejects step < 1', () => {
    const p = Float64Array.of(1, 2);
    const m = Float64Array.of(0.1, 0.2);
    const v = Float64Array.of(0.01, 0.02);
    const g = Float64Array.of(0.3, -0.4);
    const opts = { lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, step: 2 };
    adamwStep(p, g, m, v, opts);
    expect([...p, ...m, ...v]).toEqual([1, 2, 0.1, 0.2, 0.01, 0.02]);
    expect(() => adamwStep(p, g, m, v, { ...opts, step: 0 })).toThrow(RangeError);
  });
});
