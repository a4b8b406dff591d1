import { describe, expect, it } from 'vitest';
import { randomFloats } from '../testing/random';
import { SKETCH_ROWS, sketchHash, sketchSeed } from './grad-sketch';
import { gradSketchRef } from './grad-sketch.ref';

/** lowbias32(p ^ seed·0x9e3779b9) in exact BigInt arithmetic mod 2³², independent of Math.imul. */
function hashBig(seed: number, p: number): number {
  const M = 0xffffffffn;
  let h = BigInt(p) ^ ((BigInt(seed) * 0x9e3779b9n) & M);
  h ^= h >> 16n;
  h = (h * 0x7feb352dn) & M;
  h ^= h >> 15n;
  h = (h * 0x846ca68bn) & M;
  h ^= h >> 16n;
  return Number(h);
}

/** σ_r(p) ∈ {+1, −1} for every p < n. */
function signs(seed: number, r: number, n: number): Int8Array {
  const out = new Int8Array(n);
  for (let p = 0; p < n; p++) out[p] = (sketchHash(seed, p) >>> r) & 1 ? -1 : 1;
  return out;
}

function dot(a: Int8Array, b: Int8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

const N = 100000;
/** Five standard deviations of a sum of N independent ±1. */
const FIVE_SIGMA = 5 * Math.sqrt(N);
const SEEDS = [0, 1, 2, 0xffffffff, sketchSeed(0), sketchSeed(1), sketchSeed(12345)];

describe('sketchHash', () => {
  it('is the u32 lowbias32(p ^ seed·0x9e3779b9), as exact integer arithmetic computes it', () => {
    for (const seed of SEEDS) {
      for (const p of [0, 1, 2, 3, 255, 16383, 16384, 0x7fffffff, 0x80000000, 0xffffffff]) {
        const h = sketchHash(seed, p);
        expect(h).toBe(hashBig(seed, p));
        expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true);
      }
    }
  });

  it('gives adjacent indices unrelated signs', () => {
    for (let r = 0; r < SKETCH_ROWS; r++) {
      const s = signs(sketchSeed(7), r, N + 1);
      expect(Math.abs(dot(s.subarray(0, N), s.subarray(1)))).toBeLessThan(FIVE_SIGMA);
    }
  });
});

describe('sketchSeed', () => {
  it('gives every step its own u32 seed', () => {
    const seeds = new Set<number>();
    for (let step = 0; step < 10000; step++) {
      const s = sketchSeed(step);
      expect(Number.isInteger(s) && s >= 0 && s <= 0xffffffff).toBe(true);
      seeds.add(s);
    }
    expect(seeds.size).toBe(10000);
    expect(sketchSeed(0)).not.toBe(0);
  });

  it('refuses steps that are not u32', () => {
    for (const bad of [-1, 0.5, 2 ** 32, NaN]) expect(() => sketchSeed(bad)).toThrow(RangeError);
  });
});

describe('gradSketchRef', () => {
  it('matches a hand-worked case: powers of two make each row spell out its signs', () => {
    // g = [1, 2, 4]: out[r] = ±1 ± 2 ± 4, and the eight sign patterns give eight different sums.
    const seed = 0x1234abcd;
    const g = Float64Array.from([1, 2, 4]);
    const out = gradSketchRef(g, seed);
    expect(out.length).toBe(SKETCH_ROWS);
    for (let r = 0; r < SKETCH_ROWS; r++) {
      let want = 0;
      for (let p = 0; p < 3; p++) want += (hashBig(seed, p) >>> r) & 1 ? -g[p] : g[p];
      expect(out[r]).toBe(want);
    }
    // Seed 0, index 0: the key and lowbias32(0) are both 0, so every row takes +g[0].
    expect(Array.from(gradSketchRef(Float64Array.from([3]), 0))).toEqual([3, 3, 3, 3]);
    expect(Array.from(gradSketchRef(new Float64Array(0), seed))).toEqual([0, 0, 0, 0]);
  });

  it('is linear', () => {
    const a = randomFloats(5000, 1);
    const b = randomFloats(5000, 2, 3);
    const sum = a.map((x, i) => 2 * x - 0.5 * b[i]);
    const [sa, sb, ssum] = [a, b, sum].map((v) => gradSketchRef(v, sketchSeed(3)));
    for (let r = 0; r < SKETCH_ROWS; r++) expect(ssum[r]).toBeCloseTo(2 * sa[r] - 0.5 * sb[r], 9);
  });

  it('takes f32 input as the values it holds', () => {
    const g64 = randomFloats(1000, 3);
    const g32 = Float32Array.from(g64);
    expect(gradSketchRef(g32, 9)).toEqual(gradSketchRef(Float64Array.from(g32), 9));
  });

  it('balances the signs of every row', () => {
    // The sketch of all ones is Σ σ_r = (#plus) − (#minus).
    const ones = new Float64Array(N).fill(1);
    for (const seed of SEEDS) {
      for (const v of gradSketchRef(ones, seed)) expect(Math.abs(v)).toBeLessThan(FIVE_SIGMA);
    }
  });

  it('has nearly uncorrelated rows', () => {
    for (const seed of SEEDS) {
      const rows = Array.from({ length: SKETCH_ROWS }, (_, r) => signs(seed, r, N));
      for (let r = 0; r < SKETCH_ROWS; r++) {
        for (let s = r + 1; s < SKETCH_ROWS; s++) expect(Math.abs(dot(rows[r], rows[s]))).toBeLessThan(FIVE_SIGMA);
      }
    }
  });

  it('draws unrelated signs for different seeds, neighbouring ones included', () => {
    const pairs = [[0, 1], [1, 2], [41, 42], [0xfffffffe, 0xffffffff], [sketchSeed(0), sketchSeed(1)], [sketchSeed(5), sketchSeed(6)]];
    for (const [a, b] of pairs) {
      for (let r = 0; r < SKETCH_ROWS; r++) expect(Math.abs(dot(signs(a, r, N), signs(b, r, N)))).toBeLessThan(FIVE_SIGMA);
    }
    const g = randomFloats(1000, 4);
    expect(gradSketchRef(g, 1)).not.toEqual(gradSketchRef(g, 2));
  });
});
