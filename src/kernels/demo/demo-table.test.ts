import { describe, expect, it } from 'vitest';
import { dctBasis } from '../../demo/dct';
import { quantizedBasis } from '../../demo/integer-decode';
import { packDemoUpdates } from './demo-apply';
import { concatBases, DEMO_TABLE_WORDS, demoTable } from './demo-table';

const CHUNK = 64;
const TOPK = 8;

describe('demoTable', () => {
  const table = demoTable(
    [
      { shape: [37, 52], offset: 64 },
      { shape: [97], offset: 2048 },
      { shape: [128, 96], offset: 2176 },
      { shape: [1], offset: 14464 },
    ],
    CHUNK,
    TOPK,
  );

  it('concatenates elements, blocks and entries in table order', () => {
    expect(table.tensors.map((t) => t.first)).toEqual([0, 1924, 2021, 14309]);
    expect(table.tensors.map((t) => t.firstBlock)).toEqual([0, 1, 98, 102]);
    // k: 8 for the big blocks, 1 for one-element blocks.
    expect(table.tensors.map((t) => t.k)).toEqual([8, 1, 8, 1]);
    expect(table.tensors.map((t) => t.out)).toEqual([0, 8, 105, 137]);
    expect([table.elements, table.blocks, table.entries, table.span]).toEqual([14310, 103, 138, 14465]);
    // Two mask words per block column: 1·52, 97·1, 4·48 and 1·1 columns.
    expect(table.tensors.map((t) => t.masks)).toEqual([0, 104, 298, 682]);
    expect(table.maskWords).toBe(684);
  });

  it('gives each distinct block side one basis slot and writes the WGSL record order', () => {
    // Sides in first-seen order: 37, 52, 1, 64, 48.
    expect(table.sides).toEqual([37, 52, 1, 64, 48]);
    expect([...table.basisOffset.values()]).toEqual([0, 1369, 4073, 4074, 8170]);
    expect(table.basisLength).toBe(8170 + 48 * 48);
    const third = Array.from(table.records.subarray(2 * DEMO_TABLE_WORDS, 3 * DEMO_TABLE_WORDS));
    // offset, first, firstBlock, out, R, C, cr, cc, blocksAcross, k, basisRows, basisCols, masks
    expect(third).toEqual([2176, 2021, 98, 105, 128, 96, 64, 48, 2, 8, 4074, 8170, 298]);
  });

  it('concatenates the bases at their offsets', () => {
    const f32 = concatBases(table, new Float32Array(table.basisLength), dctBasis);
    expect(Array.from(f32.subarray(4074, 4074 + 64 * 64))).toEqual(Array.from(Float32Array.from(dctBasis(64))));
    const i32 = concatBases(table, new Int32Array(table.basisLength), quantizedBasis);
    expect(Array.from(i32.subarray(8170))).toEqual(Array.from(quantizedBasis(48)));
  });

  it('rejects overlapping ranges, bad chunk or topk, and an empty table', () => {
    expect(() => demoTable([{ shape: [10], offset: 0 }, { shape: [4], offset: 9 }], CHUNK, TOPK)).toThrow(/overlaps/);
    expect(() => demoTable([{ shape: [10], offset: 0 }], 65, TOPK)).toThrow(/chunk/);
    expect(() => demoTable([{ shape: [10], offset: 0 }], CHUNK, 65)).toThrow(/topk/);
    expect(() => demoTable([], CHUNK, TOPK)).toThrow(/no tensors/);
  });
});

describe('packDemoUpdates', () => {
  const table = demoTable([{ shape: [4, 4], offset: 0 }, { shape: [3], offset: 16 }], CHUNK, 2);
  const good = (shift: number) => [
    { indices: Uint32Array.of(1 + shift, 5), values: Float32Array.of(1, -1) },
    { indices: Uint32Array.of(0, 2), values: Float32Array.of(-1, 1) },
  ];

  it('lays the updates out [M, entries], each tensor at its out', () => {
    const { indices, signs } = packDemoUpdates(table, [good(0), good(2)]);
    expect(Array.from(indices)).toEqual([1, 5, 0, 2, 3, 5, 0, 2]);
    expect(Array.from(signs)).toEqual([1, -1, -1, 1, 1, -1, -1, 1]);
  });

  it('throws on a repeated index, a non-±1 value or a missing tensor', () => {
    const repeated = good(0);
    repeated[1] = { indices: Uint32Array.of(2, 2), values: Float32Array.of(1, 1) };
    expect(() => packDemoUpdates(table, [good(0), repeated])).toThrow(/tensor 1.*strictly ascending/);
    const raw = good(0);
    raw[0] = { indices: Uint32Array.of(1, 5), values: Float32Array.of(0.5, 1) };
    expect(() => packDemoUpdates(table, [raw])).toThrow(/±1/);
    expect(() => packDemoUpdates(table, [good(0).slice(0, 1)])).toThrow(/1 tensors, the table 2/);
  });
});
