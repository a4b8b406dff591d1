import { mulberry32 } from '../kernels/testing/random';
import { describe, expect, it } from 'vitest';
import { blockCount, blockShape, elementCount, keptPerBlock } from '../demo/blocks';
import { decodeUpdate, encodeUpdate, UPDATE_FORMAT_VERSION, type ClientUpdate, type UpdateTensor } from '../protocol/update-codec';
import { indexOverlap, overlap, overlapPermille, updateKeys } from './overlap';

const SHAPES = [[256, 64], [64], [64, 128], [7], [96, 48], [512, 256], [2048, 128]];
const CHUNK = 64;
const TOPK = 8;

const rng = mulberry32;

/** k distinct ascending indices per block, drawn from [lo, hi) of the block's elements; random signs. */
function randomUpdate(seed: number, range: (size: number) => [number, number] = (size) => [0, size]): ClientUpdate {
  const r = rng(seed);
  const tensors: UpdateTensor[] = SHAPES.map((shape) => {
    const block = blockShape(shape, CHUNK);
    const size = elementCount(block);
    const k = keptPerBlock(size, TOPK);
    const blocks = blockCount(shape, block);
    const [lo, hi] = range(size);
    const indices = new Uint32Array(blocks * k);
    for (let b = 0; b < blocks; b++) {
      const chosen = new Set<number>();
      while (chosen.size < Math.min(k, hi - lo)) chosen.add(lo + Math.floor(r() * (hi - lo)));
      indices.set([...chosen].sort((x, y) => x - y), b * k);
    }
    return { shape, block, k, indices, values: Float32Array.from(indices, () => (r() < 0.5 ? -1 : 1)) };
  });
  return { version: UPDATE_FORMAT_VERSION, runId: new Uint8Array(16), step: 3, batchStart: 10, batchCount: 2, tensors, proof: new Float32Array(8) };
}

function mapValues(u: ClientUpdate, f: (v: number, i: number) => number): ClientUpdate {
  let n = 0;
  return { ...u, tensors: u.tensors.map((t) => ({ ...t, values: Float32Array.from(t.values, (v) => f(v, n++)) })) };
}

const entries = (u: ClientUpdate) => u.tensors.reduce((a, t) => a + t.indices.length, 0);

describe('updateKeys', () => {
  it('gives one distinct key per entry, ascending', () => {
    const u = randomUpdate(1);
    const keys = updateKeys(u);
    expect(keys.length).toBe(entries(u));
    for (let i = 1; i < keys.length; i++) expect(keys[i]).toBeGreaterThan(keys[i - 1]);
  });

  it('is the same for an update and its decoded wire bytes', () => {
    const u = randomUpdate(2);
    const mode = { chunk: CHUNK, topk: TOPK, quantize1bit: true };
    const back = decodeUpdate(encodeUpdate(u, mode), { shapes: SHAPES, chunk: CHUNK, topk: TOPK });
    expect(Array.from(updateKeys(back))).toEqual(Array.from(updateKeys(u)));
  });

  it('tells apart the same block index in different tensors and blocks', () => {
    const u = randomUpdate(3);
    // Every block of every tensor keeps index 0 with sign +1: all those keys must still differ.
    const same: ClientUpdate = {
      ...u,
      tensors: u.tensors.map((t) => ({ ...t, indices: Uint32Array.from(t.indices, (_, i) => i % t.k), values: new Float32Array(t.values.length).fill(1) })),
    };
    const keys = updateKeys(same);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('overlap and indexOverlap', () => {
  const a = randomUpdate(10);
  const ka = updateKeys(a);

  it('are 1 for a copy', () => {
    const copy = { ...a, step: 9, batchStart: 99 };
    expect(overlap(ka, updateKeys(copy))).toBe(1);
    expect(indexOverlap(ka, updateKeys(copy))).toBe(1);
    expect(overlapPermille(ka, updateKeys(copy))).toBe(1000);
  });

  it('are 0.9 and 1 for a copy with every tenth sign flipped', () => {
    const near = updateKeys(mapValues(a, (v, i) => (i % 10 === 0 ? -v : v)));
    const flipped = Math.ceil(entries(a) / 10);
    expect(overlap(ka, near)).toBeCloseTo((entries(a) - flipped) / entries(a), 12);
    expect(overlap(ka, near)).toBeGreaterThan(0.89);
    expect(overlap(ka, near)).toBeLessThan(0.91);
    expect(indexOverlap(ka, near)).toBe(1);
  });

  it('are ≈ 0.9 for a copy whose signs flip with probability 0.1', () => {
    const r = rng(5);
    const near = updateKeys(mapValues(a, (v) => (r() < 0.1 ? -v : v)));
    expect(Math.abs(overlap(ka, near) - 0.9)).toBeLessThan(0.03);
    expect(indexOverlap(ka, near)).toBe(1);
  });

  it('are ≈ 0.5 (signs) and 1 (indices) for the same indices with random signs', () => {
    const r = rng(6);
    const random = updateKeys(mapValues(a, () => (r() < 0.5 ? -1 : 1)));
    // 863 entries: the standard deviation of the share is ≈ 0.017.
    expect(entries(a)).toBeGreaterThan(500);
    expect(Math.abs(overlap(ka, random) - 0.5)).toBeLessThan(0.08);
    expect(indexOverlap(ka, random)).toBe(1);
  });

  it('are 0 for disjoint index sets, whatever the signs', () => {
    // Matrices only: the 7-vector keeps all 7 of its elements, so no two updates are disjoint there.
    const onlyMatrices = (u: ClientUpdate) => ({ ...u, tensors: u.tensors.filter((t) => t.shape.length === 2) });
    const l2 = updateKeys(onlyMatrices(randomUpdate(7, (size) => [0, size / 2])));
    const h2 = updateKeys(onlyMatrices(randomUpdate(8, (size) => [size / 2, size])));
    expect(overlap(l2, h2)).toBe(0);
    expect(indexOverlap(l2, h2)).toBe(0);
  });

  it('are symmetric, and independent random updates overlap little', () => {
    const kb = updateKeys(randomUpdate(11));
    expect(overlap(ka, kb)).toBe(overlap(kb, ka));
    expect(indexOverlap(ka, kb)).toBe(indexOverlap(kb, ka));
    expect(overlap(ka, kb)).toBeLessThan(0.2);
    expect(overlap(ka, kb)).toBeLessThanOrEqual(indexOverlap(ka, kb));
  });

  it('divide by the smaller set', () => {
    const half = ka.filter((_, i) => i % 2 === 0);
    expect(overlap(ka, half)).toBe(1);
    expect(overlap(half, ka)).toBe(1);
    expect(overlap(ka, new Float64Array(0))).toBe(0);
  });
});
