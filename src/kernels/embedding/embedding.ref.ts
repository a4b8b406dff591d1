/** float64 references for the token embedding lookup and its gradient. */
import { expectDim, expectLength } from '../testing/shape';

/** y[n,D] = table[ids[i]] for each of the n = ids.length ids. */
export function embeddingForward(table: Float64Array, ids: Int32Array, V: number, D: number): Float64Array {
  checkArgs('embeddingForward', ids, V, D);
  expectLength('embeddingForward', 'table', table, V * D);
  const y = new Float64Array(ids.length * D);
  for (let i = 0; i < ids.length; i++) y.set(table.subarray(ids[i] * D, ids[i] * D + D), i * D);
  return y;
}

/** dTable[V,D]: row v is the sum of the dy rows whose id is v (in id order, which the GPU's bucketed pass matches). */
export function embeddingBackward(dy: Float64Array, ids: Int32Array, V: number, D: number): Float64Array {
  checkArgs('embeddingBackward', ids, V, D);
  expectLength('embeddingBackward', 'dy', dy, ids.length * D);
  const dTable = new Float64Array(V * D);
  for (let i = 0; i < ids.length; i++) {
    const row = ids[i] * D;
    for (let d = 0; d < D; d++) dTable[row + d] += dy[i * D + d];
  }
  return dTable;
}

function checkArgs(op: string, ids: Int32Array, V: number, D: number): void {
  expectDim(op, 'V', V);
  expectDim(op, 'D', D);
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= V) throw new RangeError(`${op}: ids[${i}] = ${ids[i]} is outside [0, ${V})`);
  }
}
