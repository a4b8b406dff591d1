/**
 * float64 reference of one DeMo step for one tensor (docs/design.md §4): what the
 * GPU kernels compute, up to their float rounding. The bit-exact direction
 * of steps 8–9 is in integer-decode.ts.
 */
import { blockGrid, blockOrigin, blockShape, elementCount, keptPerBlock } from './blocks';
import { dctBlocks, idctBlocks } from './dct';
import { checkUpdate, forEachKept, offsetOf, type DemoUpdate } from './update-format';

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

function checkFinite(op: string, name: string, x: number): void {
  if (!Number.isFinite(x)) throw new RangeError(`${op}: ${name} must be finite, got ${x}`);
}

function checkFiniteArray(op: string, name: string, a: ArrayLike<number>, n: number): void {
  if (a.length !== n) throw new RangeError(`${op}: ${name} has length ${a.length}, expected ${n}`);
  for (let i = 0; i < n; i++) if (!Number.isFinite(a[i])) throw new RangeError(`${op}: ${name}[${i}] is ${a[i]}`);
}
