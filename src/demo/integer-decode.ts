/**
 * The exact direction of docs/design.md §4 steps 8–9 ("Replicas must stay
 * bit-identical"). Float sums of the aggregate and the inverse DCT would
 * differ between GPUs (order, FMA, division), so the direction is computed
 * on integers whose every operation is exact: then any summation order, on
 * any device, gives the same integer, and its sign is the direction.
 *
 * Scheme (shaders/demo_apply.wgsl computes exactly this):
 *   B_n  = round(2^8 · C_n)                       integers, built once on the CPU
 *   s, m = Σ of the ±1 values, number of updates that kept a coefficient
 *   Aq   = round(2^5 · s/m), half away from zero,  by exact integer division
 *   T    = B_rᵀ·Aq,  X = T·B_c                     i32 multiply-adds
 *   dir  = sign(X) ∈ {−1, 0, +1}
 *
 * Arithmetic: everything below uses i32 semantics (Math.imul, `| 0`), which
 * are exactly WGSL's i32 semantics (two's complement, wrapping). The proof
 * below shows nothing ever wraps, so these are also the exact integers, and
 * exact integer addition does not depend on order.
 *
 * Why the worst case fits in i32 (blocks up to 64×64, basis ×2^8, values ×2^5):
 *   |Aq| ≤ 32 because |s| ≤ m. For any (i, j),
 *     |X[i,j]| = |Σ_u Σ_v B_r[u,i]·Aq[u,v]·B_c[v,j]| ≤ 32 · L_r · L_c,
 *   where L_n = max_i Σ_u |B_n[u,i]| (largest column ℓ1 norm). Every partial
 *   sum, in any order, and every T[i,v] (|T| ≤ 32·L_r) is bounded by the same
 *   sums of absolute values, so no intermediate can exceed this either. The
 *   same holds for any sum that leaves out terms equal to 0, which is what
 *   the GPU's sparse decode does: T only over the rows u with Aq[u,v] kept
 *   by some update (an Aq nobody kept is 0), X only over the columns v
 *   holding one (another column of T is all 0). Its partial sums are partial
 *   sums of the same terms, and its result is the same integer.
 *   Shape-only bound: |C_n| ≤ √(2/n), so for n = 64 every |B| ≤ round(256/√32)
 *   = round(45.25) = 45 and L ≤ 64·45 = 2880, giving
 *     |X| ≤ 32 · 2880² = 265 420 800 < 2^28 = 2^31 / 8.
 *   Smaller blocks are smaller still (L grows like √n; see columnL1 and the
 *   test that checks every n ≤ 64). With basis ×2^10 the same argument gives
 *   |B| ≤ 181, L ≤ 11 584 and 32·11 584² = 4 294 049 792 ≈ 2^32 > 2^31 − 1:
 *   the proof fails.
 *   The attained worst case (Aq[u,v] = 32·sgn(B_r[u,i])·sgn(B_c[v,j]), i.e.
 *   every update keeps every coefficient with those signs) is smaller:
 *   L_64 = 1850, 32·1850² = 109 520 000 ≈ 2^26.7. For ×2^10 it is
 *   L_64 = 7413, 32·7413² = 1 758 482 208 ≈ 0.82·2^31 — it would just fit,
 *   but with no provable margin from the shape alone; ×2^8 keeps ≥ 8×.
 *   Fixed point of A: 64·|s| + m ≤ 65·m, so m < 2^24 updates keeps it in i32.
 */
import { blockGrid, blockOrigin, blockShape, elementCount, keptPerBlock, type BlockGrid } from './blocks';
import { sharedBasis } from './dct';
import { checkUpdate, forEachKept, type DemoUpdate } from './update-format';

export const BASIS_BITS = 8;
export const VALUE_BITS = 5;
/** Keeps 64·m + m inside i32 in the fixed-point division. */
export const MAX_UPDATES = 1 << 24;

const quantCache = new Map<string, Int32Array>();

/** round(2^bits · C_n), row-major [n, n]; a copy. */
export function quantizedBasis(n: number, bits = BASIS_BITS): Int32Array {
  return sharedQuantized(n, bits).slice();
}

function sharedQuantized(n: number, bits: number): Int32Array {
  if (!Number.isInteger(bits) || bits < 0 || bits > 20) throw new RangeError(`quantizedBasis: bits must be an integer in [0, 20], got ${bits}`);
  const key = `${n}:${bits}`;
  let q = quantCache.get(key);
  if (!q) {
    const c = sharedBasis(n);
    const scale = 2 ** bits; // exact: scaling by a power of 2 does not round
    q = new Int32Array(n * n);
    // Math.round is exact and specified to the bit; the float basis is itself
    // portable (dct.ts), so every replica gets these integers.
    for (let i = 0; i < q.length; i++) q[i] = Math.round(c[i] * scale);
    quantCache.set(key, q);
  }
  return q;
}

/** Per coefficient (tensor layout): s = Σ of the ±1 values kept there, m = how many updates kept it. */
export function aggregateSigns(
  updates: readonly DemoUpdate[],
  shape: readonly number[],
  block: readonly number[],
  topk: number,
): { sum: Int32Array; count: Int32Array } {
  const grid = blockGrid(shape, block);
  const k = keptPerBlock(grid.size, topk);
  if (updates.length >= MAX_UPDATES) throw new RangeError(`aggregateSigns: ${updates.length} updates; at most ${MAX_UPDATES - 1} fit the i32 fixed point`);
  const sum = new Int32Array(grid.R * grid.C);
  const count = new Int32Array(grid.R * grid.C);
  for (let m = 0; m < updates.length; m++) {
    checkUpdate('aggregateSigns', updates[m], m, grid, k, true);
    forEachKept(updates[m], grid, k, (offset, value) => {
      sum[offset] += value;
      count[offset]++;
    });
  }
  return { sum, count };
}

/**
 * Aq = round(2^bits · s/m), ties away from zero, 0 where m = 0. Rounding is
 * done on |s| and the sign put back, so negating every update negates the
 * direction exactly; the division is a floor of non-negative integers, which
 * is what WGSL's u32 `/` does.
 */
export function fixedPointMean(sum: Int32Array, count: Int32Array, bits = VALUE_BITS): Int32Array {
  if (sum.length !== count.length) throw new RangeError(`fixedPointMean: sum has length ${sum.length}, count ${count.length}`);
  if (!Number.isInteger(bits) || bits < 0 || bits > 5) throw new RangeError(`fixedPointMean: bits must be an integer in [0, 5], got ${bits}`);
  const out = new Int32Array(sum.length);
  for (let i = 0; i < sum.length; i++) {
    const m = count[i];
    const s = sum[i];
    if (m < 0 || Math.abs(s) > m) throw new RangeError(`fixedPointMean: entry ${i} has sum ${s} over ${m} updates`);
    if (m === 0) continue;
    const q = floorDiv(2 * (Math.abs(s) << bits) + m, 2 * m);
    out[i] = s < 0 ? -q : q;
  }
  return out;
}

/** ⌊a/b⌋ for 0 ≤ a, 0 < b, exact: the float quotient is corrected by one integer check each way. */
function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  if (q * b > a) q--;
  else if ((q + 1) * b <= a) q++;
  return q;
}

/** The integer inverse transform X = B_rᵀ·Aq·B_c per block (tensor layout), in i32. */
export function inverseIntegers(
  aq: Int32Array,
  shape: readonly number[],
  block: readonly number[],
  basisBits = BASIS_BITS,
): Int32Array {
  const grid = blockGrid(shape, block);
  if (aq.length !== elementCount(shape)) throw new RangeError(`inverseIntegers: input has length ${aq.length}, expected ${elementCount(shape)}`);
  const br = sharedQuantized(grid.cr, basisBits);
  const bc = sharedQuantized(grid.cc, basisBits);
  const out = new Int32Array(aq.length);
  const t = new Int32Array(grid.size);
  for (let b = 0; b < grid.count; b++) inverseBlock(aq, out, t, grid, blockOrigin(grid, b), br, bc);
  return out;
}

function inverseBlock(aq: Int32Array, out: Int32Array, t: Int32Array, grid: BlockGrid, o: number, br: Int32Array, bc: Int32Array): void {
  const { C, cr, cc } = grid;
  t.fill(0);
  // T[i,v] = Σ_u B_r[u,i]·Aq[u,v]; zero coefficients (most of them) are skipped.
  for (let u = 0; u < cr; u++) {
    for (let v = 0; v < cc; v++) {
      const a = aq[o + u * C + v];
      if (a === 0) continue;
      for (let i = 0; i < cr; i++) t[i * cc + v] = (t[i * cc + v] + Math.imul(br[u * cr + i], a)) | 0;
    }
  }
  // X[i,j] = Σ_v T[i,v]·B_c[v,j].
  for (let i = 0; i < cr; i++) {
    for (let j = 0; j < cc; j++) {
      let x = 0;
      for (let v = 0; v < cc; v++) x = (x + Math.imul(t[i * cc + v], bc[v * cc + j])) | 0;
      out[o + i * C + j] = x;
    }
  }
}

/** sign(X) per element: the exact direction of step 9. */
export function signOfInverse(aq: Int32Array, shape: readonly number[], block: readonly number[]): Int8Array {
  const x = inverseIntegers(aq, shape, block);
  const out = new Int8Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] > 0 ? 1 : x[i] < 0 ? -1 : 0;
  return out;
}

/** Steps 8–9's direction from the updates, identical for any order of `updates`. */
export function integerDirection(
  updates: readonly DemoUpdate[],
  shape: readonly number[],
  block: readonly number[],
  topk: number,
): Int8Array {
  const { sum, count } = aggregateSigns(updates, shape, block, topk);
  return signOfInverse(fixedPointMean(sum, count), shape, block);
}

/** Largest column ℓ1 norm of the quantized basis, L_n in the proof above. */
export function columnL1(n: number, bits = BASIS_BITS): number {
  const q = sharedQuantized(n, bits);
  let best = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let u = 0; u < n; u++) s += Math.abs(q[u * n + i]);
    best = Math.max(best, s);
  }
  return best;
}

/** The attained worst |X| for a cr×cc block: 2^valueBits · L_cr · L_cc (plain numbers, may exceed i32). */
export function worstCaseMagnitude(cr: number, cc: number, basisBits = BASIS_BITS, valueBits = VALUE_BITS): number {
  return 2 ** valueBits * columnL1(cr, basisBits) * columnL1(cc, basisBits);
}

/** The shape-only bound of the proof: 2^valueBits · (cr·max|B_r|) · (cc·max|B_c|). */
export function aPrioriBound(cr: number, cc: number, basisBits = BASIS_BITS, valueBits = VALUE_BITS): number {
  const maxAbs = (n: number) => Math.round(2 ** basisBits * (n === 1 ? 1 : Math.sqrt(2 / n)));
  return 2 ** valueBits * cr * maxAbs(cr) * cc * maxAbs(cc);
}

/**
 * Bound on |X·2^−(2·basisBits+valueBits) − idct(A)| for one element of a block
 * whose aggregate has `nonzeros` nonzero coefficients: where the float64 value
 * is farther from 0 than this, the exact sign equals the float64 sign.
 * Per nonzero coefficient, with e = 2^−(basisBits+1) (basis rounding),
 * f = 2^−(valueBits+1) (fixed-point rounding), a = max|C| (1 for n = 1, else
 * √(2/n)) and |A|, |Â| ≤ 1:
 *   |Ĉ_r Â Ĉ_c − C_r A C_c| ≤ e·(a_c+e_c) + a_r·f·(a_c+e_c) + a_r·e_c.
 * Zero coefficients contribute nothing (they quantize to exactly 0).
 */
export function decodeErrorBound(cr: number, cc: number, nonzeros: number, basisBits = BASIS_BITS, valueBits = VALUE_BITS): number {
  const a = (n: number) => (n === 1 ? 1 : Math.sqrt(2 / n));
  const e = 2 ** -(basisBits + 1);
  const f = 2 ** -(valueBits + 1);
  const [ar, ac] = [a(cr), a(cc)];
  return nonzeros * (e * (ac + e) + ar * f * (ac + e) + ar * e);
}

/**
 * The weight-decay factor as the GPU must use it: fround(1 − fround(η·λ)).
 * It is computed here and passed as a uniform, because a shader that wrote
 * 1 − η·λ itself could be contracted into one FMA on some GPUs.
 */
export function decayFactorF32(lr: number, weightDecay: number): number {
  return Math.fround(1 - Math.fround(lr * Math.fround(weightDecay)));
}

export interface DemoApplyExactArgs {
  param: Float32Array;
  shape: readonly number[];
  updates: readonly DemoUpdate[];
  /** η: must be exactly a float32 (the coordinator sends its bits). */
  lr: number;
  chunk: number;
  topk: number;
  /** λ, rounded to float32 as the uniform will be. */
  weightDecay: number;
}

/**
 * Steps 1, 8, 9 with the bits the GPU must produce: p ← fround(p·f), then
 * p ← fround(p − η·dir) with dir from the integer decode. η·dir is ±η or 0,
 * exact, so an FMA there could not change the result either. Computing each
 * operation in float64 and then rounding to float32 gives the correctly
 * rounded float32 result for +, −, × of float32 operands (53 ≥ 2·24 + 2, so
 * the double rounding is innocuous), i.e. exactly what an f32 ALU returns.
 */
export function demoApplyExact(args: DemoApplyExactArgs): Float32Array {
  const { param, shape, updates, lr, chunk, topk, weightDecay } = args;
  const n = elementCount(shape);
  if (param.length !== n) throw new RangeError(`demoApplyExact: param has length ${param.length}, expected ${n}`);
  if (!Number.isFinite(lr) || Math.fround(lr) !== lr) throw new RangeError(`demoApplyExact: lr ${lr} is not exactly a finite float32`);
  if (!Number.isFinite(weightDecay)) throw new RangeError(`demoApplyExact: weightDecay must be finite, got ${weightDecay}`);
  const block = blockShape(shape, chunk);
  const dir = integerDirection(updates, shape, block, topk);
  const factor = decayFactorF32(lr, weightDecay);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const decayed = Math.fround(param[i] * factor);
    out[i] = Math.fround(decayed - lr * dir[i]);
  }
  return out;
}
