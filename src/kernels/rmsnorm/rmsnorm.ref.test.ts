import { describe, expect, it } from 'vitest';
import { gradientRelError, numericalGradient, projectionLoss } from '../testing/fd';
import { randomFloats } from '../testing/random';
import { rmsnormBackward, rmsnormForward } from './rmsnorm.ref';

describe('rmsnorm reference', () => {
  const [rows, D, eps] = [2 * 7, 13, 1e-6];
  const x = randomFloats(rows * D, 20);
  const g = randomFloats(D, 21);
  const r = randomFloats(rows * D, 22);
  const { y, rstd } = rmsnormForward(x, g, rows, D, eps);
  const { dx, dg } = rmsnormBackward(r, x, g, rstd, rows, D);

  it('normalises each row by its root mean square', () => {
    let ss = 0;
    for (let d = 0; d < D; d++) ss += x[5 * D + d] ** 2;
    const s = 1 / Math.sqrt(ss / D + eps);
    expect(rstd[5]).toBeCloseTo(s, 14);
    expect(y[5 * D + 3]).toBeCloseTo(g[3] * x[5 * D + 3] * s, 14);
  });

  it('dx matches finite differences', () => {
    const numeric = numericalGradient((t) => projectionLoss(rmsnormForward(t, g, rows, D, eps).y, r), x);
    expect(gradientRelError(dx, numeric)).toBeLessThan(1e-6);
  });

  it('dg matches finite differences', () => {
    const numeric = numericalGradient((t) => projectionLoss(rmsnormForward(x, t, rows, D, eps).y, r), g);
    expect(gradientRelError(dg, numeric)).toBeLessThan(1e-6);
  });

  it('dx matches finite differences where eps dominates (tiny rows)', () => {
    const small = randomFloats(rows * D, 23, 1e-3);
    const eps2 = 1e-5;
    const s = rmsnormForward(small, g, rows, D, eps2);
    const numeric = numericalGradient(
      (t) => projectionLoss(rmsnormForward(t, g, rows, D, eps2).y, r),
      small,
      1e-7,
    );
    expect(gradientRelError(rmsnormBackward(r, small, g, s.rstd, rows, D).dx, numeric)).toBeLessThan(1e-6);
  });
});
