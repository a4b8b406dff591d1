import { describe, expect, it } from 'vitest';
import { compareArrays } from '../kernels/testing/compare';
import { randomFloats } from '../kernels/testing/random';
import { blockShape } from './blocks';
import { dctBasis, dctBlocks, idctBlocks, portableSqrt } from './dct';

describe('dctBasis', () => {
  it.each([1, 2, 3, 7, 8, 29, 37, 48, 50, 64])('is orthonormal for n = %i (C·Cᵀ = I to 1e-12)', (n) => {
    const c = dctBasis(n);
    let worst = 0;
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += c[a * n + j] * c[b * n + j];
        worst = Math.max(worst, Math.abs(s - (a === b ? 1 : 0)));
      }
    }
    expect(worst).toBeLessThan(1e-12);
  });

  it('matches the formula evaluated with Math.cos to a few ulp', () => {
    // The angle is reduced mod 2π in integers first, as dctBasis does; the
    // unreduced π·k(2j+1)/(2n) reaches ~196 and its own rounding costs ~1e-14.
    const n = 64;
    const c = dctBasis(n);
    let worst = 0;
    for (let k = 0; k < n; k++) {
      for (let j = 0; j < n; j++) {
        const a = k === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n);
        worst = Math.max(worst, Math.abs(c[k * n + j] - a * Math.cos((Math.PI * ((k * (2 * j + 1)) % (4 * n))) / (2 * n))));
      }
    }
    expect(worst).toBeLessThan(1e-15);
  });

  it('returns a copy, so callers cannot corrupt the cache', () => {
    const c = dctBasis(4);
    c[0] = 42;
    expect(dctBasis(4)[0]).toBe(0.5);
  });

  it('rejects bad sizes', () => {
    expect(() => dctBasis(0)).toThrow(RangeError);
    expect(() => dctBasis(2.5)).toThrow(RangeError);
  });

  it('portableSqrt agrees with Math.sqrt to an ulp', () => {
    for (const x of [2, 1, 0.5, 1 / 3, 1 / 64, 2 / 64, 1 / 4096, 2 / 97]) {
      expect(Math.abs(portableSqrt(x) - Math.sqrt(x))).toBeLessThanOrEqual(Number.EPSILON * Math.sqrt(x));
    }
    expect(() => portableSqrt(0)).toThrow(RangeError);
    expect(() => portableSqrt(3)).toThrow(RangeError);
  });
});

describe('dctBlocks / idctBlocks', () => {
  const cases: [number[], number][] = [
    [[37, 52], 64],
    [[128, 96], 64],
    [[12, 20], 4],
    [[97], 64],
    [[1000], 64],
    [[6], 64],
  ];

  it.each(cases)('round trip idct(dct(x)) = x for shape %j, chunk %i', (shape, chunk) => {
    const block = blockShape(shape, chunk);
    const x = randomFloats(shape.reduce((a, b) => a * b, 1), 100 + shape[0]);
    const y = dctBlocks(x, shape, block);
    const back = idctBlocks(y, shape, block);
    const err = compareArrays(back, x);
    expect(err.maxAbsErr).toBeLessThan(1e-12 * err.maxAbsRef);
    // Orthonormal: energy is preserved block by block, so in total too.
    const e = (a: Float64Array) => a.reduce((s, v) => s + v * v, 0);
    expect(e(y)).toBeCloseTo(e(x), 9);
  });

  it('transforms each block independently: Y = C_r·X·C_cᵀ on every block', () => {
    const shape = [6, 8];
    const block = [3, 4];
    const x = randomFloats(48, 7);
    const y = dctBlocks(x, shape, block);
    const [cr, cc] = [dctBasis(3), dctBasis(4)];
    for (const [bi, bj] of [[0, 0], [1, 1], [0, 1]]) {
      for (let u = 0; u < 3; u++) {
        for (let v = 0; v < 4; v++) {
          let s = 0;
          for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) s += cr[u * 3 + i] * x[(bi * 3 + i) * 8 + bj * 4 + j] * cc[v * 4 + j];
          expect(y[(bi * 3 + u) * 8 + bj * 4 + v]).toBeCloseTo(s, 13);
        }
      }
    }
  });

  it('a constant block has only a DC coefficient', () => {
    const y = dctBlocks(new Float64Array(16).fill(2), [4, 4], [4, 4]);
    expect(y[0]).toBeCloseTo(8, 13); // 2 · √16
    for (let i = 1; i < 16; i++) expect(Math.abs(y[i])).toBeLessThan(1e-14);
  });

  it('rejects a wrong input length or a block that does not tile', () => {
    expect(() => dctBlocks(new Float64Array(5), [2, 3], [2, 3])).toThrow(/length/);
    expect(() => idctBlocks(new Float64Array(6), [2, 3], [2, 2])).toThrow(/tile/);
  });
});
