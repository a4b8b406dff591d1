/**
 * The orthonormal DCT-II of docs/design.md §4 step 4, in float64.
 *
 * C_n[k, j] = a_k·cos(πk(2j+1)/(2n)), a_0 = √(1/n), a_k = √(2/n).
 * Forward per block: Y = C_r·X·C_cᵀ; inverse: X = C_rᵀ·Y·C_c.
 *
 * The basis is the seed of the integer decode (integer-decode.ts), whose bits
 * every replica must share, so it is built only from basic IEEE operations
 * (portableSinCos, a Newton square root) and never from Math.cos/Math.sqrt,
 * which engines are free to approximate differently.
 */
import { portableSinCos } from '../kernels/rope/portable-math';
import { blockGrid, blockOrigin, elementCount, type BlockGrid } from './blocks';

const basisCache = new Map<number, Float64Array>();

/** A copy of the n×n basis (row k = frequency, column j = position), row-major. */
export function dctBasis(n: number): Float64Array {
  return sharedBasis(n).slice();
}

/** The cached basis itself, for this folder's hot loops only: never write to it. */
export function sharedBasis(n: number): Float64Array {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`dctBasis: n must be a positive integer, got ${n}`);
  let basis = basisCache.get(n);
  if (!basis) {
    basis = buildBasis(n);
    basisCache.set(n, basis);
  }
  return basis;
}

function buildBasis(n: number): Float64Array {
  const basis = new Float64Array(n * n);
  const a0 = portableSqrt(1 / n);
  const ak = portableSqrt(2 / n);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      // cos has period 4n in units of π/(2n); reducing the integer first keeps the
      // angle in [0, 2π) so every entry gets the same (best) accuracy.
      const m = (k * (2 * j + 1)) % (4 * n);
      basis[k * n + j] = (k === 0 ? a0 : ak) * portableSinCos((Math.PI * m) / (2 * n)).cos;
    }
  }
  return basis;
}

/**
 * √x for x in (0, 2] by a fixed number of Newton steps from 1. Only +, ÷ and
 * ×½, so the result is the same on every engine (it may differ from the
 * correctly rounded root by an ulp; what matters is that it is the same).
 */
export function portableSqrt(x: number): number {
  if (!(x > 0 && x <= 2)) throw new RangeError(`portableSqrt: ${x} is outside (0, 2]`);
  let y = 1;
  // From 1 the iterate roughly halves until it nears √x, then converges
  // quadratically: 64 steps cover any x ≥ 2^-80 (a block of 2^80 elements).
  for (let i = 0; i < 64; i++) y = (y + x / y) * 0.5;
  return y;
}

/** Forward 2-D DCT of every block; the coefficients sit where the block's elements were. */
export function dctBlocks(x: ArrayLike<number>, shape: readonly number[], block: readonly number[]): Float64Array {
  const grid = checkedGrid('dctBlocks', x, shape, block);
  return transformBlocks(x, grid, sharedBasis(grid.cr), sharedBasis(grid.cc));
}

/** Inverse 2-D DCT of every block (Cᵀ·Y·C). */
export function idctBlocks(y: ArrayLike<number>, shape: readonly number[], block: readonly number[]): Float64Array {
  const grid = checkedGrid('idctBlocks', y, shape, block);
  return transformBlocks(y, grid, transposed(grid.cr), transposed(grid.cc));
}

const transposeCache = new Map<number, Float64Array>();

function transposed(n: number): Float64Array {
  let t = transposeCache.get(n);
  if (!t) {
    const c = sharedBasis(n);
    t = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = c[i * n + j];
    transposeCache.set(n, t);
  }
  return t;
}

/** out = Mr·X·Mcᵀ per block (separable: rows first, then columns). */
function transformBlocks(x: ArrayLike<number>, grid: BlockGrid, mr: Float64Array, mc: Float64Array): Float64Array {
  const { C, cr, cc } = grid;
  const out = new Float64Array(x.length);
  const tmp = new Float64Array(cr * cc);
  for (let b = 0; b < grid.count; b++) {
    const o = blockOrigin(grid, b);
    for (let i = 0; i < cr; i++) {
      for (let v = 0; v < cc; v++) {
        let s = 0;
        for (let j = 0; j < cc; j++) s += x[o + i * C + j] * mc[v * cc + j];
        tmp[i * cc + v] = s;
      }
    }
    for (let u = 0; u < cr; u++) {
      for (let v = 0; v < cc; v++) {
        let s = 0;
        for (let i = 0; i < cr; i++) s += mr[u * cr + i] * tmp[i * cc + v];
        out[o + u * C + v] = s;
      }
    }
  }
  return out;
}

function checkedGrid(op: string, x: ArrayLike<number>, shape: readonly number[], block: readonly number[]): BlockGrid {
  const grid = blockGrid(shape, block);
  if (x.length !== elementCount(shape)) {
    throw new RangeError(`${op}: input has length ${x.length}, shape [${shape.join(', ')}] needs ${elementCount(shape)}`);
  }
  return grid;
}
