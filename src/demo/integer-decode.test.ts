import { describe, expect, it } from 'vitest';
import { mulberry32, randomFloats } from '../kernels/testing/random';
import { blockGrid, blockOrigin, blockShape } from './blocks';
import { dctBasis, idctBlocks } from './dct';
import { demoAggregate, demoApply, demoCompress } from './demo.ref';
import { offsetOf, type DemoUpdate } from './update-format';
import {
  aPrioriBound,
  columnL1,
  decayFactorF32,
  decodeErrorBound,
  demoApplyExact,
  fixedPointMean,
  integerDirection,
  inverseIntegers,
  quantizedBasis,
  signOfInverse,
  worstCaseMagnitude,
} from './integer-decode';

const I32_MAX = 2 ** 31 - 1;

/** Updates from `clients` random gradients (1-bit), as clients would send them. */
function randomUpdates(shape: number[], chunk: number, topk: number, clients: number, seed: number): DemoUpdate[] {
  const n = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: clients }, (_, c) =>
    demoCompress({ shape, grad: randomFloats(n, seed + c), momentum: new Float64Array(n), lr: 1, decay: 0, chunk, topk, quantize1bit: true }),
  );
}

function permute<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  const rand = mulberry32(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('quantizedBasis', () => {
  it('is round(2^8·C) with |entries| ≤ 45 for n = 64', () => {
    const q = quantizedBasis(64);
    const c = dctBasis(64);
    for (let i = 0; i < q.length; i++) expect(q[i]).toBe(Math.round(256 * c[i]));
    expect(Math.max(...Array.from(q, Math.abs))).toBe(45);
    expect(Array.from(quantizedBasis(1))).toEqual([256]);
  });
});

describe('fixedPointMean', () => {
  it('is round(32·s/m) half away from zero, by exact integer division', () => {
    const cases: [number, number, number][] = [
      [1, 1, 32], [-1, 1, -32], [1, 3, 11], [-1, 3, -11], [2, 3, 21], [1, 64, 1], [-1, 64, -1],
      [1, 65, 0], [-1, 65, 0], [0, 2, 0], [0, 0, 0], [5, 7, 23], [-3, 5, -19],
    ];
    const q = fixedPointMean(Int32Array.from(cases, (c) => c[0]), Int32Array.from(cases, (c) => c[1]));
    expect(Array.from(q)).toEqual(cases.map((c) => c[2]));
  });
  it('rejects a sum larger than its count', () => {
    expect(() => fixedPointMean(Int32Array.of(3), Int32Array.of(2))).toThrow(/sum 3 over 2/);
  });
});

describe('integer decode vs the float64 direction', () => {
  const cases: [number[], number, number, number][] = [
    [[128, 64], 64, 8, 5],
    [[37, 52], 64, 8, 3],
    [[96, 40], 16, 4, 7],
    [[1000], 64, 8, 4],
  ];

  it.each(cases)('sign agrees wherever |idct(A)| exceeds the error bound: shape %j chunk %i k %i, %i clients', (shape, chunk, topk, clients) => {
    const updates = randomUpdates(shape, chunk, topk, clients, 500 + shape[0]);
    const block = blockShape(shape, chunk);
    const grid = blockGrid(shape, block);
    const a = demoAggregate(updates, shape, block, topk);
    const x = idctBlocks(a, shape, block);
    const dir = integerDirection(updates, shape, block, topk);
    let checked = 0;
    let agree = 0;
    for (let b = 0; b < grid.count; b++) {
      const o = blockOrigin(grid, b);
      let nonzeros = 0;
      for (let f = 0; f < grid.size; f++) if (a[offsetOf(grid, o, f)] !== 0) nonzeros++;
      // decodeErrorBound is the stated bound; 1e-12 covers the float64 reference's own rounding.
      const bound = decodeErrorBound(grid.cr, grid.cc, nonzeros) + 1e-12;
      for (let f = 0; f < grid.size; f++) {
        const i = offsetOf(grid, o, f);
        if (dir[i] === Math.sign(x[i])) agree++;
        if (Math.abs(x[i]) > bound) {
          checked++;
          expect(dir[i]).toBe(Math.sign(x[i]));
        }
      }
    }
    // The bound is a worst case, so it must leave a real share of elements to check,
    // and overall the exact sign should almost never differ.
    expect(checked).toBeGreaterThan(0.5 * x.length);
    expect(agree).toBeGreaterThan(0.99 * x.length);
  });

  it('is deterministic and independent of the order the updates arrive in', () => {
    const shape = [128, 64];
    const updates = randomUpdates(shape, 64, 8, 6, 700);
    const ref = integerDirection(updates, shape, [64, 64], 8);
    expect(integerDirection(updates, shape, [64, 64], 8)).toEqual(ref);
    for (let s = 0; s < 4; s++) expect(integerDirection(permute(updates, s), shape, [64, 64], 8)).toEqual(ref);
    const param = Float32Array.from(randomFloats(128 * 64, 701));
    const args = { param, shape, lr: Math.fround(3e-4), chunk: 64, topk: 8, weightDecay: 0.1 };
    const bits = new Uint32Array(demoApplyExact({ ...args, updates }).buffer);
    for (let s = 0; s < 4; s++) {
      expect(new Uint32Array(demoApplyExact({ ...args, updates: permute(updates, 10 + s) }).buffer)).toEqual(bits);
    }
  });

  it('negating every update negates the direction exactly', () => {
    const shape = [64, 64];
    const updates = randomUpdates(shape, 64, 8, 3, 800);
    const flipped = updates.map((u) => ({ indices: u.indices, values: u.values.map((v) => -v) }));
    const d = integerDirection(updates, shape, [64, 64], 8);
    const e = integerDirection(flipped, shape, [64, 64], 8);
    for (let i = 0; i < d.length; i++) expect(e[i]).toBe(-d[i] || 0);
  });

  it('gives 0 where nothing was kept and rejects non-±1 values', () => {
    expect(signOfInverse(new Int32Array(64), [8, 8], [8, 8]).every((v) => v === 0)).toBe(true);
    const u: DemoUpdate = { indices: Uint32Array.of(0, 5), values: Float64Array.of(1, 0.5) };
    expect(() => integerDirection([u], [4, 4], [4, 4], 2)).toThrow(/1-bit/);
  });
});

describe('the i32 worst case', () => {
  it('the shape-only bound proves ×2^8 fits with 8× headroom and fails for ×2^10', () => {
    expect(aPrioriBound(64, 64)).toBe(32 * 2880 * 2880);
    expect(aPrioriBound(64, 64)).toBeLessThan(2 ** 28);
    expect(aPrioriBound(64, 64, 10)).toBeGreaterThan(I32_MAX);
  });

  it('every block size up to 64×64 is bounded by the 64×64 case', () => {
    const l = Array.from({ length: 65 }, (_, n) => (n === 0 ? 0 : columnL1(n)));
    for (let n = 1; n <= 64; n++) expect(l[n]).toBeLessThanOrEqual(l[64]);
    expect(l[64]).toBe(1850);
    expect(worstCaseMagnitude(64, 64)).toBe(109_520_000);
    // For the record: the attained ×2^10 case would fit, with no shape-only proof.
    expect(worstCaseMagnitude(64, 64, 10)).toBe(1_758_482_208);
  });

  /** One update keeping all 4096 coefficients with signs sgn(B[u,i*])·sgn(B[v,j*]). */
  function worstCaseAq(bits: number): { aq: Int32Array; at: number } {
    const n = 64;
    const q = quantizedBasis(n, bits);
    let best = -1;
    let iStar = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let u = 0; u < n; u++) s += Math.abs(q[u * n + i]);
      if (s > best) [best, iStar] = [s, i];
    }
    const sg = (v: number) => (v < 0 ? -1 : 1);
    const update: DemoUpdate = {
      indices: Uint32Array.from({ length: n * n }, (_, f) => f),
      values: Float64Array.from({ length: n * n }, (_, f) => sg(q[Math.floor(f / n) * n + iStar]) * sg(q[(f % n) * n + iStar])),
    };
    const dir = integerDirection([update], [n, n], [n, n], n * n);
    expect(dir[iStar * n + iStar]).toBe(1);
    const aq = Int32Array.from(update.values, (v) => 32 * v);
    return { aq, at: iStar * n + iStar };
  }

  /** The same transform in plain (non-wrapping) numbers: every value here is an exact integer < 2^53. */
  function exactInverse(aq: Int32Array, bits: number, at: number): number {
    const n = 64;
    const q = quantizedBasis(n, bits);
    const [i, j] = [Math.floor(at / n), at % n];
    let x = 0;
    for (let u = 0; u < n; u++) for (let v = 0; v < n; v++) x += q[u * n + i] * aq[u * n + v] * q[v * n + j];
    return x;
  }

  it('the constructed worst case reaches the bound exactly and stays inside i32', () => {
    const { aq, at } = worstCaseAq(8);
    const exact = exactInverse(aq, 8, at);
    expect(exact).toBe(worstCaseMagnitude(64, 64));
    expect(exact).toBeLessThan(I32_MAX);
    expect(inverseIntegers(aq, [64, 64], [64, 64])[at]).toBe(exact);
  });

  it('with too large a scale (×2^11) the i32 transform wraps, which is what the bound prevents', () => {
    const { aq, at } = worstCaseAq(11);
    const exact = exactInverse(aq, 11, at);
    expect(exact).toBeGreaterThan(I32_MAX);
    expect(inverseIntegers(aq, [64, 64], [64, 64], 11)[at]).not.toBe(exact);
  });
});

describe('demoApplyExact', () => {
  const shape = [64, 96];
  const n = 64 * 96;
  const updates = randomUpdates(shape, 64, 8, 4, 900);
  const param = Float32Array.from(randomFloats(n, 901));
  const lr = Math.fround(1e-3);
  const weightDecay = 0.1;

  it('is fround(fround(p·f) − η·dir) with f = fround(1 − fround(η·λ))', () => {
    const out = demoApplyExact({ param, shape, updates, lr, chunk: 64, topk: 8, weightDecay });
    const dir = integerDirection(updates, shape, [64, 48], 8);
    const f = decayFactorF32(lr, weightDecay);
    expect(f).toBe(Math.fround(1 - Math.fround(lr * Math.fround(0.1))));
    for (let i = 0; i < n; i++) expect(out[i]).toBe(Math.fround(Math.fround(param[i] * f) - lr * dir[i]));
  });

  it('matches the float64 demoApply to f32 rounding wherever the signs agree', () => {
    const out = demoApplyExact({ param, shape, updates, lr, chunk: 64, topk: 8, weightDecay });
    const ref = demoApply({ param, shape, updates, lr, chunk: 64, topk: 8, weightDecay });
    let same = 0;
    for (let i = 0; i < n; i++) {
      if (Math.abs(out[i] - ref[i]) <= 2 ** -23 * (Math.abs(ref[i]) + lr)) same++;
    }
    expect(same).toBeGreaterThan(0.97 * n);
  });

  it('requires η to be exactly a float32', () => {
    expect(() => demoApplyExact({ param, shape, updates, lr: 1e-3, chunk: 64, topk: 8, weightDecay })).toThrow(/float32/);
    expect(() => demoApplyExact({ param: param.subarray(1), shape, updates, lr, chunk: 64, topk: 8, weightDecay })).toThrow(/param/);
  });

  it('drives a float32 quadratic to its target, identically in every update order', () => {
    const sh = [16, 24];
    const m = 16 * 24;
    const target = randomFloats(m, 950);
    const run = (shuffleSeed: number | null) => {
      const rand = mulberry32(951);
      let p: Float32Array = new Float32Array(m);
      const momenta = [0, 1, 2].map(() => new Float64Array(m) as Float64Array);
      for (let t = 0; t < 300; t++) {
        const step = Math.fround(0.02 * (1 - t / 300) + 0.0005);
        const grads = momenta.map(() => Float64Array.from(p, (v, i) => v - target[i] + 0.3 * (rand() - 0.5)));
        const ups = momenta.map((mo, c) => {
          const r = demoCompress({ shape: sh, grad: grads[c], momentum: mo, lr: step, decay: 0.999, chunk: 8, topk: 8, quantize1bit: true });
          momenta[c] = r.momentum;
          return r;
        });
        p = demoApplyExact({ param: p, shape: sh, updates: shuffleSeed === null ? ups : permute(ups, shuffleSeed + t), lr: step, chunk: 8, topk: 8, weightDecay: 0 });
      }
      return p;
    };
    const loss = (q: Float32Array) => q.reduce((s, v, i) => s + 0.5 * (v - target[i]) ** 2, 0) / m;
    const start = loss(new Float32Array(m));
    const p = run(null);
    expect(loss(p)).toBeLessThan(1e-3 * start);
    expect(new Uint32Array(run(7).buffer)).toEqual(new Uint32Array(p.buffer));
  });
});
