/**
 * One client's DeMo update for one tensor (docs/design.md §4) and the rules every
 * receiver holds it to. Shared by the float64 reference, the exact integer
 * decode and the GPU apply, so they accept and address updates identically.
 */
import { blockOrigin, type BlockGrid } from './blocks';

/** k coefficients per block, blocks in row-major grid order. */
export interface DemoUpdate {
  /** Flat index u·cc+v within the block, ascending within each block; k per block. */
  indices: Uint32Array;
  /** The kept values in index order: ±1 with 1-bit quantization, else the raw coefficients. */
  values: Float64Array;
}

/** Tensor offset of flat in-block index f = u·cc+v of the block at origin o. */
export function offsetOf(grid: BlockGrid, o: number, f: number): number {
  const u = Math.floor(f / grid.cc);
  return o + u * grid.C + (f - u * grid.cc);
}

/** Calls visit(tensorOffset, value) for every kept coefficient of an already checked update. */
export function forEachKept(
  update: DemoUpdate,
  grid: BlockGrid,
  k: number,
  visit: (offset: number, value: number) => void,
): void {
  for (let b = 0; b < grid.count; b++) {
    const o = blockOrigin(grid, b);
    for (let t = 0; t < k; t++) visit(offsetOf(grid, o, update.indices[b * k + t]), update.values[b * k + t]);
  }
}

/**
 * Rejects what would silently corrupt an aggregate: wrong lengths, indices out
 * of the block or not strictly ascending (so repeated), non-finite values,
 * and (for the exact decode) values other than ±1.
 */
export function checkUpdate(op: string, u: DemoUpdate, m: number, grid: BlockGrid, k: number, signsOnly: boolean): void {
  const want = grid.count * k;
  if (u.indices.length !== want || u.values.length !== want) {
    throw new RangeError(
      `${op}: update ${m} has ${u.indices.length} indices and ${u.values.length} values, expected ${want} (${grid.count} blocks × k=${k})`,
    );
  }
  for (let b = 0; b < grid.count; b++) {
    for (let t = 0; t < k; t++) {
      const i = b * k + t;
      const f = u.indices[i];
      if (f >= grid.size) throw new RangeError(`${op}: update ${m} block ${b} index ${f} is outside the block of ${grid.size}`);
      if (t > 0 && f <= u.indices[i - 1]) {
        throw new RangeError(`${op}: update ${m} block ${b} indices are not strictly ascending at position ${t} (${u.indices[i - 1]}, ${f})`);
      }
      const v = u.values[i];
      if (!Number.isFinite(v)) throw new RangeError(`${op}: update ${m} block ${b} value ${t} is ${v}`);
      if (signsOnly && v !== 1 && v !== -1) {
        throw new RangeError(`${op}: update ${m} block ${b} value ${t} is ${v}; the exact decode takes 1-bit (±1) values only`);
      }
    }
  }
}
