import { describe, expect, it } from 'vitest';
import { copyRef } from './copy.ref';

describe('copyRef', () => {
  it('broadcasts one source row block into every repetition', () => {
    const src = Float64Array.from([1, 2, 3, 4]); // [2 rows, 2 cols]
    const out = copyRef(src, new Float64Array(12), { rows: 2, cols: 2, reps: 2 }, { offset: 0, rowStride: 2, repStride: 0 }, { offset: 1, rowStride: 6, repStride: 3 });
    expect([...out]).toEqual([0, 1, 2, 0, 1, 2, 0, 3, 4, 0, 3, 4]);
  });

  it('accumulates into the destination instead of overwriting', () => {
    const out = copyRef(Float64Array.from([1, 2]), Float64Array.from([10, 20, 30]), { rows: 1, cols: 2, accumulate: true }, { offset: 0, rowStride: 2 }, { offset: 1, rowStride: 2 });
    expect([...out]).toEqual([10, 21, 32]);
  });

  it('rejects a block that reaches past either end', () => {
    expect(() => copyRef(new Float64Array(2), new Float64Array(2), { rows: 1, cols: 3 }, { offset: 0, rowStride: 3 }, { offset: 0, rowStride: 3 })).toThrow(RangeError);
  });
});
