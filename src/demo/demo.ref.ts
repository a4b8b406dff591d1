/**
 * float64 reference of one DeMo step for one tensor (DESIGN.md §4): what the
 * GPU kernels compute, up to their float rounding. The bit-exact direction
 * of steps 8–9 is in integer-decode.ts.
 */
import { blockGrid, blockOrigin, blockShape, elementCount, keptPerBlock, type BlockGrid } from './blocks';

export { keptPerBlock };
import { dctBlocks, idctBlocks } from './dct';

/** One client's update for one tensor: k coefficients per block, blocks in row-major grid order. */
export interface DemoUpdate {
  /** Flat index u·cc+v within the block, ascending within each block; k per block. */
  indices: Uint32Array;
  /** The kept values in index order: ±1 with 1-bit quantization, else the raw coefficients. */
  values: Float64Array;
}

export interface DemoCompressArgs {
  shape: readonly number[];
  grad: ArrayLike<number>;
  momentum: ArrayLike<number>;
  lr: number;
  /** β, the momentum decay. */
  decay: number;
  chunk: number;
  topk: number;
  quantize1bit: boolean;
}

export interface DemoCompressResult extends DemoUpdate {
  /** δ after this step's error feedback. */
  momentum: Float64Array;
  /** The block shape the indices refer to (blockShape(shape, chunk)). */
  block: number[];
}

export interface DemoApplyArgs {
  param: ArrayLike<number>;
  shape: readonly number[];
  updates: readonly DemoUpdate[];
  lr: number;
  chunk: number;
  topk: number;
  weightDecay: number;
}


/**
 * Indices of the k largest |coeffs|, ties to the lower index, returned
 * ascending (the order they travel in, so receivers can check uniqueness
 * with one comparison per index).
 */
export function selectTopK(coeffs: ArrayLike<number>, k: number): Uint32Array {
  if (!Number.isInteger(k) || k < 0 || k > coeffs.length) {
    throw new RangeError(`selectTopK: k must be an integer in [0, ${coeffs.length}], got ${k}`);
  }
  const order = Array.from({ length: coeffs.length }, (_, i) => i);
  for (const c of order) {
    if (!Number.isFinite(coeffs[c])) throw new RangeError(`selectTopK: coefficient ${c} is ${coeffs[c]}`);
  }
  // Distinct finite doubles never subtract to 0, so equal magnitudes are the only ties.
  order.sort((a, b) => Math.abs(coeffs[b]) - Math.abs(coeffs[a]) || a - b);
  return Uint32Array.from(order.slice(0, k)).sort();
}

/** Steps 2–7 for one tensor: momentum, per-block DCT, top-k, optional 1-bit, error feedback. */
export function demoCompress(args: DemoCompressArgs): DemoCompressResult {
  const { shape, grad, momentum, lr, decay, chunk, topk, quantize1bit } = args;
  const block = blockShape(shape, chunk);
  const grid = blockGrid(shape, block);
  const n = elementCount(shape);
  checkFiniteArray('demoCompress', 'grad', grad, n);
  checkFiniteArray('demoCompress', 'momentum', momentum, n);
  checkFinite('demoCompress', 'lr', lr);
  checkFinite('demoCompress', 'decay', decay);
  const k = keptPerBlock(grid.size, topk);

  const delta = new Float64Array(n);
  for (let i = 0; i < n; i++) delta[i] = decay * momentum[i] + lr * grad[i];
  const y = dctBlocks(delta, shape, block);

  const indices = new Uint32Array(grid.count * k);
  const values = new Float64Array(grid.count * k);
  const kept = new Float64Array(n);
  const coeffs = new Float64Array(grid.size);
  for (let b = 0; b < grid.count; b++) {
    const o = blockOrigin(grid, b);
    for (let f = 0; f < grid.size; f++) coeffs[f] = y[offsetOf(grid, o, f)];
    const top = selectTopK(coeffs, k);
    for (let t = 0; t < k; t++) {
      const f = top[t];
      indices[b * k + t] = f;
      // Sign bit 1 means negative (step 6); −0 and +0 both travel as +1.
      values[b * k + t] = quantize1bit ? (coeffs[f] < 0 ? -1 : 1) : coeffs[f];
      kept[offsetOf(grid, o, f)] = coeffs[f];
    }
  }
  // Step 7 removes the unquantized values, as §4 specifies: the magnitude the
  // sign bit drops is not fed back, so δ's kept coefficients become exactly 0
  // (up to float rounding) rather than Y − sign(Y).
  const sent = idctBlocks(kept, shape, block);
  for (let i = 0; i < n; i++) delta[i] -= sent[i];
  return { indices, values, momentum: delta, block };
}

/**
 * Step 8: per block and coefficient, the mean of the values of the updates
 * that kept it, 0 where none did. Returned in tensor layout (like dctBlocks).
 */
export function demoAggregate(
  updates: readonly DemoUpdate[],
  shape: readonly number[],
  block: readonly number[],
  topk: number,
): Float64Array {
  const grid = blockGrid(shape, block);
  const k = keptPerBlock(grid.size, topk);
  const sum = new Float64Array(grid.R * grid.C);
  const count = new Uint32Array(grid.R * grid.C);
  for (let m = 0; m < updates.length; m++) {
    checkUpdate('demoAggregate', updates[m], m, grid, k, false);
    forEachKept(updates[m], grid, k, (offset, value) => {
      sum[offset] += value;
      count[offset]++;
    });
  }
  for (let i = 0; i < sum.length; i++) if (count[i] > 0) sum[i] /= count[i];
  return sum;
}

/** Steps 1, 8 and 9 in float64: p ← p·(1−ηλ), then p ← p − η·sign(idct(A)). */
export function demoApply(args: DemoApplyArgs): Float64Array {
  const { param, shape, updates, lr, chunk, topk, weightDecay } = args;
  const n = elementCount(shape);
  checkFiniteArray('demoApply', 'param', param, n);
  checkFinite('demoApply', 'lr', lr);
  checkFinite('demoApply', 'weightDecay', weightDecay);
  const block = blockShape(shape, chunk);
  const direction = idctBlocks(demoAggregate(updates, shape, block, topk), shape, block);
  const factor = 1 - lr * weightDecay;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // Two statements on purpose: the GPU must not fuse decay and step (§4).
    const decayed = param[i] * factor;
    out[i] = decayed - lr * Math.sign(direction[i]);
  }
  return out;
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

function checkFinite(op: string, name: string, x: number): void {
  if (!Number.isFinite(x)) throw new RangeError(`${op}: ${name} must be finite, got ${x}`);
}

function checkFiniteArray(op: string, name: string, a: ArrayLike<number>, n: number): void {
  if (a.length !== n) throw new RangeError(`${op}: ${name} has length ${a.length}, expected ${n}`);
  for (let i = 0; i < n; i++) if (!Number.isFinite(a[i])) throw new RangeError(`${op}: ${name}[${i}] is ${a[i]}`);
}
