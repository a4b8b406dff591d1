import { describe, expect, it } from 'vitest';
import { gradientRelError, numericalGradient, projectionLoss } from '../testing/fd';
import { randomFloats } from '../testing/random';
import { attentionBackward, attentionForward } from './attention.ref';

describe('attention reference', () => {
  // MLA-like: dqk = dn+dr = 3+4 = 7, dv = 5.
  const [B, S, H, dqk, dv] = [2, 7, 3, 7, 5];
  const scale = 1 / Math.sqrt(dqk);
  const nqk = B * S * H * dqk;
  const nv = B * S * H * dv;
  // Scale 2 makes the softmax peaky enough that the max-subtraction matters.
  const q = randomFloats(nqk, 40, 2);
  const k = randomFloats(nqk, 41, 2);
  const v = randomFloats(nv, 42);
  const r = randomFloats(nv, 43);
  const fwd = (qq: Float64Array, kk: Float64Array, vv: Float64Array) => attentionForward(qq, kk, vv, B, S, H, dqk, dv, scale);
  const { o, lse } = fwd(q, k, v);
  const grads = attentionBackward(q, k, v, o, lse, r, B, S, H, dqk, dv, scale);

  it('matches a direct softmax for one query row, with lse', () => {
    const [b, s, h] = [1, 4, 2];
    const qi = ((b * S + s) * H + h) * dqk;
    const scores = Array.from({ length: s + 1 }, (_, j) => {
      const kj = ((b * S + j) * H + h) * dqk;
      let dotp = 0;
      for (let d = 0; d < dqk; d++) dotp += q[qi + d] * k[kj + d];
      return dotp * scale;
    });
    const z = scores.reduce((acc, x) => acc + Math.exp(x), 0);
    expect(lse[(b * H + h) * S + s]).toBeCloseTo(Math.log(z), 12);
    for (let d = 0; d < dv; d++) {
      let expected = 0;
      for (let j = 0; j <= s; j++) expected += (Math.exp(scores[j]) / z) * v[((b * S + j) * H + h) * dv + d];
      expect(o[((b * S + s) * H + h) * dv + d]).toBeCloseTo(expected, 12);
    }
  });

  it('is causal: the first position attends only to itself', () => {
    const row = ((1 * S + 0) * H + 1) * dv;
    for (let d = 0; d < dv; d++) expect(o[row + d]).toBeCloseTo(v[row + d], 14);
  });

  it('dq matches finite differences', () => {
    const numeric = numericalGradient((t) => projectionLoss(fwd(t, k, v).o, r), q);
    expect(gradientRelError(grads.dq, numeric)).toBeLessThan(1e-6);
  });

  it('dk matches finite differences', () => {
    const numeric = numericalGradient((t) => projectionLoss(fwd(q, t, v).o, r), k);
    expect(gradientRelError(grads.dk, numeric)).toBeLessThan(1e-6);
  });

  it('dv matches finite differences', () => {
    const numeric = numericalGradient((t) => projectionLoss(fwd(q, k, t).o, r), v);
    expect(gradientRelError(grads.dv, numeric)).toBeLessThan(1e-6);
  });

  it('stays finite for large scores', () => {
    const big = attentionForward(randomFloats(nqk, 44, 100), randomFloats(nqk, 45, 100), v, B, S, H, dqk, dv, scale);
    expect(big.o.every(Number.isFinite) && big.lse.every(Number.isFinite)).toBe(true);
  });
});
