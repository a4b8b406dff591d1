import { describe, expect, it } from 'vitest';
import { mulberry32, randomFloats } from '../kernels/testing/random';
import { blockGrid, blockOrigin, blockShape, keptPerBlock } from './blocks';
import { dctBlocks, idctBlocks } from './dct';
import { demoAggregate, demoApply, demoCompress, selectTopK } from './demo.ref';
import { offsetOf, type DemoUpdate } from './update-format';

describe('selectTopK', () => {
  it('picks the k largest magnitudes and returns them ascending', () => {
    expect(Array.from(selectTopK([0.1, -5, 2, 9, -0.3, 4], 3))).toEqual([1, 3, 5]);
    expect(Array.from(selectTopK([0.1, -5, 2, 9, -0.3, 4], 6))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(selectTopK([1, 2], 0))).toEqual([]);
  });

  it('breaks ties in |value| toward the lower index, whatever the sign', () => {
    expect(Array.from(selectTopK([1, -3, 3, 2, -3, 0.5], 2))).toEqual([1, 2]);
    expect(Array.from(selectTopK([1, -3, 3, 2, -3, 0.5], 3))).toEqual([1, 2, 4]);
    expect(Array.from(selectTopK([3, -3, 3, -3], 2))).toEqual([0, 1]);
    expect(Array.from(selectTopK([0, -0, 0, 0], 2))).toEqual([0, 1]);
    expect(Array.from(selectTopK([0, 0, 0, 7, -7], 3))).toEqual([0, 3, 4]);
  });

  it('rejects a bad k and non-finite coefficients', () => {
    expect(() => selectTopK([1, 2], 3)).toThrow(RangeError);
    expect(() => selectTopK([1, 2], -1)).toThrow(RangeError);
    expect(() => selectTopK([1, NaN], 1)).toThrow(/NaN/);
  });
});

describe('demoCompress', () => {
  const shape = [16, 24];
  const chunk = 8;
  const topk = 4;
  const grad = randomFloats(16 * 24, 1);
  const momentum = randomFloats(16 * 24, 2, 0.1);
  const [lr, decay] = [0.01, 0.9];
  const raw = demoCompress({ shape, grad, momentum, lr, decay, chunk, topk, quantize1bit: false });
  const bits = demoCompress({ shape, grad, momentum, lr, decay, chunk, topk, quantize1bit: true });
  const block = blockShape(shape, chunk);
  const grid = blockGrid(shape, block);
  const delta = grad.map((g, i) => decay * momentum[i] + lr * g);
  const y = dctBlocks(delta, shape, block);
  const maxY = y.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

  it('sends k ascending in-block indices per block: the k largest |Y|', () => {
    expect(raw.block).toEqual([8, 8]);
    expect(raw.indices.length).toBe(grid.count * topk);
    for (let b = 0; b < grid.count; b++) {
      const o = blockOrigin(grid, b);
      const mags = Array.from({ length: grid.size }, (_, f) => Math.abs(y[offsetOf(grid, o, f)]));
      const kept = Array.from(raw.indices.subarray(b * topk, (b + 1) * topk));
      expect(kept).toEqual([...kept].sort((a, c) => a - c));
      const threshold = Math.min(...kept.map((f) => mags[f]));
      for (let f = 0; f < grid.size; f++) if (!kept.includes(f)) expect(mags[f]).toBeLessThanOrEqual(threshold);
    }
  });

  it('sends the unquantized coefficients, or their signs with 1-bit on', () => {
    expect(Array.from(bits.indices)).toEqual(Array.from(raw.indices));
    for (let b = 0; b < grid.count; b++) {
      for (let t = 0; t < topk; t++) {
        const f = raw.indices[b * topk + t];
        const yv = y[offsetOf(grid, blockOrigin(grid, b), f)];
        expect(raw.values[b * topk + t]).toBeCloseTo(yv, 14);
        expect(bits.values[b * topk + t]).toBe(yv < 0 ? -1 : 1);
      }
    }
  });

  it('error feedback zeroes exactly the kept coefficients, with their unquantized values', () => {
    for (const result of [raw, bits]) {
      const after = dctBlocks(result.momentum, shape, block);
      const keptAt = new Set<number>();
      for (let b = 0; b < grid.count; b++) {
        for (let t = 0; t < topk; t++) keptAt.add(offsetOf(grid, blockOrigin(grid, b), result.indices[b * topk + t]));
      }
      for (let i = 0; i < after.length; i++) {
        // "Exact" up to the float64 round trip through idct and dct.
        if (keptAt.has(i)) expect(Math.abs(after[i])).toBeLessThan(1e-13 * maxY);
        else expect(Math.abs(after[i] - y[i])).toBeLessThan(1e-13 * maxY);
      }
    }
    expect(Array.from(raw.momentum)).toEqual(Array.from(bits.momentum));
  });

  it('ties go to the lower flat index u·cc+v inside the transform too', () => {
    // A block with zero gradient has Y = ±0 everywhere, an exact k-way tie;
    // its kept zeros travel as +1 (sign bit set only for Y < 0).
    const g = Float64Array.of(0, 0, 3, -1, 0, 0, 2, 5);
    const r = demoCompress({ shape: [2, 4], grad: g, momentum: new Float64Array(8), lr: 1, decay: 0, chunk: 2, topk: 3, quantize1bit: true });
    expect(dctBlocks(g, [2, 4], [2, 2]).subarray(0, 2).every((v) => v === 0)).toBe(true);
    expect(Array.from(r.indices.subarray(0, 3))).toEqual([0, 1, 2]);
    expect(Array.from(r.values.subarray(0, 3))).toEqual([1, 1, 1]);
  });

  it('keeps every coefficient of a block smaller than k; 1-D tensors work', () => {
    expect(keptPerBlock(3, 8)).toBe(3);
    const r = demoCompress({ shape: [97], grad: randomFloats(97, 3), momentum: new Float64Array(97), lr: 1, decay: 0.9, chunk: 64, topk: 8, quantize1bit: true });
    expect(r.block).toEqual([1]);
    expect(r.indices.length).toBe(97);
    // A 1-element block keeps everything, so δ is fully sent.
    expect(r.momentum.every((v) => Math.abs(v) < 1e-15)).toBe(true);
  });

  it('rejects bad arguments', () => {
    const base = { shape, grad, momentum, lr, decay, chunk, topk, quantize1bit: true };
    expect(() => demoCompress({ ...base, grad: grad.subarray(1) })).toThrow(/grad has length/);
    expect(() => demoCompress({ ...base, grad: Float64Array.of(...grad.subarray(1), NaN) })).toThrow(/NaN/);
    expect(() => demoCompress({ ...base, topk: 0 })).toThrow(/topk/);
    expect(() => demoCompress({ ...base, lr: Infinity })).toThrow(/lr/);
    expect(() => demoCompress({ ...base, shape: [2, 2, 96] })).toThrow(/1-D and 2-D/);
  });
});

describe('demoAggregate', () => {
  // [2, 4] with blocks [2, 2]: block 0 is columns 0–1, block 1 columns 2–3; f = u·2+v.
  const shape = [2, 4];
  const block = [2, 2];
  const u1: DemoUpdate = { indices: Uint32Array.of(0, 3, 1, 2), values: Float64Array.of(1, -1, 1, 1) };
  const u2: DemoUpdate = { indices: Uint32Array.of(0, 1, 2, 3), values: Float64Array.of(1, 1, -1, 1) };
  const u3: DemoUpdate = { indices: Uint32Array.of(0, 3, 0, 1), values: Float64Array.of(-1, -1, 1, 1) };
  const at = (a: Float64Array, b: number, f: number) => a[(f >> 1) * 4 + (f & 1) + 2 * b];

  it('averages over the updates that kept each coefficient, 0 where none did', () => {
    const a = demoAggregate([u1, u2, u3], shape, block, 2);
    expect([0, 1, 2, 3].map((f) => at(a, 0, f))).toEqual([1 / 3, 1, 0, -1]);
    expect([0, 1, 2, 3].map((f) => at(a, 1, f))).toEqual([1, 1, 0, 1]);
  });

  it('averages unquantized values too', () => {
    const v: DemoUpdate = { indices: Uint32Array.of(0, 3, 1, 2), values: Float64Array.of(0.5, 2, -1, 4) };
    const w: DemoUpdate = { indices: Uint32Array.of(0, 1, 2, 3), values: Float64Array.of(0.25, 3, 1, 1) };
    const a = demoAggregate([v, w], shape, block, 2);
    expect([0, 1, 2, 3].map((f) => at(a, 0, f))).toEqual([0.375, 3, 0, 2]);
    expect([0, 1, 2, 3].map((f) => at(a, 1, f))).toEqual([0, -1, 2.5, 1]);
  });

  it('is all zeros without updates', () => {
    expect(demoAggregate([], shape, block, 2).every((v) => v === 0)).toBe(true);
  });

  it('rejects malformed updates, naming the problem', () => {
    const bad = (indices: number[], values: number[]) => () =>
      demoAggregate([u1, { indices: Uint32Array.from(indices), values: Float64Array.from(values) }], shape, block, 2);
    expect(bad([0, 3, 1], [1, 1, 1])).toThrow(/update 1 has 3 indices/);
    expect(bad([0, 4, 1, 2], [1, 1, 1, 1])).toThrow(/outside the block/);
    expect(bad([0, 3, 2, 2], [1, 1, 1, 1])).toThrow(/not strictly ascending/);
    expect(bad([3, 0, 1, 2], [1, 1, 1, 1])).toThrow(/not strictly ascending/);
    expect(bad([0, 3, 1, 2], [1, NaN, 1, 1])).toThrow(/NaN/);
  });
});

describe('demoApply', () => {
  const shape = [16, 24];
  const param = randomFloats(16 * 24, 9);
  const mk = (seed: number) =>
    demoCompress({ shape, grad: randomFloats(16 * 24, seed), momentum: new Float64Array(16 * 24), lr: 0.1, decay: 0.9, chunk: 8, topk: 8, quantize1bit: true });
  const updates = [mk(10), mk(11), mk(12)];

  it('decays, then steps by η against sign(idct(A))', () => {
    const [lr, weightDecay] = [0.01, 0.1];
    const p = demoApply({ param, shape, updates, lr, chunk: 8, topk: 8, weightDecay });
    const dir = idctBlocks(demoAggregate(updates, shape, [8, 8], 8), shape, [8, 8]);
    let moved = 0;
    for (let i = 0; i < p.length; i++) {
      expect(p[i]).toBe(param[i] * (1 - lr * weightDecay) - lr * Math.sign(dir[i]));
      if (dir[i] !== 0) moved++;
    }
    expect(moved).toBeGreaterThan(p.length / 2);
  });

  it('uses sign(0) = 0: without updates only the decay acts', () => {
    const p = demoApply({ param, shape, updates: [], lr: 0.01, chunk: 8, topk: 8, weightDecay: 0 });
    expect(Array.from(p)).toEqual(Array.from(param));
  });

  it('rejects a param of the wrong length', () => {
    expect(() => demoApply({ param: param.subarray(1), shape, updates, lr: 0.01, chunk: 8, topk: 8, weightDecay: 0 })).toThrow(/param/);
  });
});

describe('DeMo end to end on a quadratic', () => {
  it('three clients with noisy gradients drive p to the target', () => {
    const shape = [16, 24];
    const n = 16 * 24;
    const target = randomFloats(n, 40);
    const rand = mulberry32(41);
    let p: Float64Array = new Float64Array(n);
    const momenta = [0, 1, 2].map(() => new Float64Array(n) as Float64Array);
    const loss = (q: Float64Array) => q.reduce((s, v, i) => s + 0.5 * (v - target[i]) ** 2, 0) / n;
    const start = loss(p);
    const steps = 300;
    for (let t = 0; t < steps; t++) {
      const lr = 0.02 * (1 - t / steps) + 0.0005; // linear decay: sign steps need a shrinking η to settle
      const updates = momenta.map((m, c) => {
        const grad = p.map((v, i) => v - target[i] + 0.3 * (rand() - 0.5));
        const r = demoCompress({ shape, grad, momentum: m, lr, decay: 0.999, chunk: 8, topk: 8, quantize1bit: true });
        momenta[c] = r.momentum;
        return r;
      });
      p = demoApply({ param: p, shape, updates, lr, chunk: 8, topk: 8, weightDecay: 0 });
    }
    expect(loss(p)).toBeLessThan(1e-3 * start);
  });
});
