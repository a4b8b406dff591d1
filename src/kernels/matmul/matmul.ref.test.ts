import { describe, expect, it } from 'vitest';
import { gradientRelError, numericalGradient, projectionLoss } from '../testing/fd';
import { randomFloats } from '../testing/random';
import { matmulNN, matmulNT, matmulTN } from './matmul.ref';

describe('matmul reference', () => {
  const [M, K, N] = [7, 5, 3];
  const a = randomFloats(M * K, 1);
  const w = randomFloats(N * K, 2);
  const r = randomFloats(M * N, 3);

  it('matmulNT computes a·wᵀ', () => {
    const y = matmulNT(a, w, M, K, N);
    let expected = 0;
    for (let k = 0; k < K; k++) expected += a[4 * K + k] * w[2 * K + k];
    expect(y[4 * N + 2]).toBeCloseTo(expected, 14);
  });

  it('matmulNN is the input gradient of matmulNT', () => {
    const numeric = numericalGradient((x) => projectionLoss(matmulNT(x, w, M, K, N), r), a);
    expect(gradientRelError(matmulNN(r, w, M, N, K), numeric)).toBeLessThan(1e-6);
  });

  it('matmulTN is the weight gradient of matmulNT', () => {
    const numeric = numericalGradient((x) => projectionLoss(matmulNT(a, x, M, K, N), r), w);
    expect(gradientRelError(matmulTN(r, a, M, N, K), numeric)).toBeLessThan(1e-6);
  });

  it('does not mutate inputs and rejects wrong lengths', () => {
    const a0 = Float64Array.from(a);
    matmulNT(a, w, M, K, N);
    expect(a).toEqual(a0);
    expect(() => matmulNT(a, w, M, K + 1, N)).toThrow(RangeError);
  });
});
