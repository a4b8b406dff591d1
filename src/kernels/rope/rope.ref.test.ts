import { describe, expect, it } from 'vitest';
import { gradientRelError, numericalGradient, projectionLoss } from '../testing/fd';
import { randomFloats } from '../testing/random';
import { ropeAngles } from './rope-angles';
import { ropeBackward, ropeForward } from './rope.ref';

describe('rope reference', () => {
  // q-like layout: heads=3, stride dn+dr = 3+6, rope part at offset dn=3.
  const [B, S, heads, dn, dr, theta] = [2, 7, 3, 3, 6, 10000];
  const stride = dn + dr;
  const n = B * S * heads * stride;
  const x = randomFloats(n, 30);
  const r = randomFloats(n, 31);

  it('rotates pair i at position p by p·theta^(−2i/dr) and passes the rest through', () => {
    const y = ropeForward(x, B, S, heads, stride, dn, dr, theta);
    // b=1, s=4, head 2 → row (1·S + 4)·heads + 2, position 4.
    const row = (1 * S + 4) * heads + 2;
    const i = 2;
    const angle = 4 * Math.pow(theta, (-2 * i) / dr);
    const j = row * stride + dn + 2 * i;
    expect(y[j]).toBeCloseTo(x[j] * Math.cos(angle) - x[j + 1] * Math.sin(angle), 14);
    expect(y[j + 1]).toBeCloseTo(x[j] * Math.sin(angle) + x[j + 1] * Math.cos(angle), 14);
    for (let d = 0; d < dn; d++) expect(y[row * stride + d]).toBe(x[row * stride + d]);
  });

  it('is the identity at position 0', () => {
    const y = ropeForward(x, B, S, heads, stride, dn, dr, theta);
    const row0OfBatch1 = S * heads; // b=1, s=0, head 0
    for (let c = 0; c < stride; c++) expect(y[row0OfBatch1 * stride + c]).toBe(x[row0OfBatch1 * stride + c]);
  });

  it('backward matches finite differences', () => {
    const numeric = numericalGradient((t) => projectionLoss(ropeForward(t, B, S, heads, stride, dn, dr, theta), r), x);
    expect(gradientRelError(ropeBackward(r, B, S, heads, stride, dn, dr, theta), numeric)).toBeLessThan(1e-6);
  });

  it('backward matches finite differences on a k_pe-like slice (heads 1, rope at the end)', () => {
    const [rkv, dr2] = [5, 4];
    const st = rkv + dr2;
    const xk = randomFloats(B * S * st, 32);
    const rk = randomFloats(B * S * st, 33);
    const numeric = numericalGradient((t) => projectionLoss(ropeForward(t, B, S, 1, st, rkv, dr2, 500), rk), xk);
    expect(gradientRelError(ropeBackward(rk, B, S, 1, st, rkv, dr2, 500), numeric)).toBeLessThan(1e-6);
  });

  it('backward inverts forward', () => {
    const back = ropeBackward(ropeForward(x, B, S, heads, stride, dn, dr, theta), B, S, heads, stride, dn, dr, theta);
    for (let i = 0; i < n; i++) expect(back[i]).toBeCloseTo(x[i], 13);
  });

  it('ropeAngles gives [S, dr/2] tables', () => {
    const { cos, sin } = ropeAngles(S, dr, theta);
    expect(cos.length).toBe(S * dr / 2);
    // Built with portable math: equal to Math.* up to a few ulp, not bit for bit.
    const angle = 5 * Math.pow(theta, -2 / dr);
    expect(cos[5 * (dr / 2) + 1]).toBeCloseTo(Math.cos(angle), 14);
    expect(sin[5 * (dr / 2) + 1]).toBeCloseTo(Math.sin(angle), 14);
  });

  it('rejects odd dr and slices past the stride', () => {
    expect(() => ropeAngles(S, 5, theta)).toThrow(RangeError);
    expect(() => ropeForward(x, B, S, heads, stride, dn + 1, dr, theta)).toThrow(RangeError);
  });
});
