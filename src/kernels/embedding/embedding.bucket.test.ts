import { describe, expect, it } from 'vitest';
import { randomFloats, randomInts } from '../testing/random';
import { bucketTokens, checkTokenIds } from './embedding';
import { embeddingBackward } from './embedding.ref';

describe('bucketTokens', () => {
  it('groups positions by id in CSR form, positions increasing within each bucket', () => {
    const { offsets, positions } = bucketTokens([3, 0, 3, 1, 3, 0], 5);
    expect(Array.from(offsets)).toEqual([0, 2, 3, 3, 6, 6]);
    expect(Array.from(positions)).toEqual([1, 5, 3, 0, 2, 4]);
  });

  it('is a permutation of the positions whose buckets hold exactly their id', () => {
    const V = 17;
    const ids = randomInts(200, V, 3);
    const { offsets, positions } = bucketTokens(ids, V);
    expect(offsets[0]).toBe(0);
    expect(offsets[V]).toBe(ids.length);
    expect(Array.from(positions).sort((a, b) => a - b)).toEqual(Array.from(ids, (_, i) => i));
    for (let v = 0; v < V; v++) {
      for (let k = offsets[v]; k < offsets[v + 1]; k++) {
        expect(ids[positions[k]]).toBe(v);
        if (k > offsets[v]) expect(positions[k]).toBeGreaterThan(positions[k - 1]);
      }
    }
  });

  it('gives the reference gradient when each bucket is summed in order', () => {
    const [V, D, n] = [11, 3, 30];
    const ids = randomInts(n, V, 4);
    const dy = randomFloats(n * D, 5);
    const { offsets, positions } = bucketTokens(ids, V);
    const dTable = new Float64Array(V * D);
    for (let v = 0; v < V; v++) {
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let k = offsets[v]; k < offsets[v + 1]; k++) acc += dy[positions[k] * D + d];
        dTable[v * D + d] = acc;
      }
    }
    // Same summation order as the reference, so exactly equal.
    expect(Array.from(dTable)).toEqual(Array.from(embeddingBackward(dy, ids, V, D)));
  });

  it('handles no tokens', () => {
    const { offsets, positions } = bucketTokens([], 4);
    expect(Array.from(offsets)).toEqual([0, 0, 0, 0, 0]);
    expect(positions.length).toBe(0);
  });

  it('rejects ids outside [0, V) with a message naming the id and position', () => {
    expect(() => bucketTokens([0, 5], 5)).toThrow(/token id 5 at position 1 .*\[0, 5\)/);
    expect(() => bucketTokens(Int32Array.from([-1]), 5)).toThrow(RangeError);
    expect(() => checkTokenIds([1.5], 5)).toThrow(RangeError);
    expect(() => checkTokenIds([0], 0)).toThrow(RangeError);
    expect(() => checkTokenIds([0, 4], 5)).not.toThrow();
  });
});
