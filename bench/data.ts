/**
 * Inputs for one benchmark size, shared by every library. B is kept in both
 * storage orders with the same values, so every layout computes the same
 * product and any two results can be compared element by element.
 */
import { randomFloats } from '../src/kernels/testing/random';
import type { Agreement, Reference, Size } from './types';

export interface MatmulData extends Size {
  /** A[M,K] row-major. */
  a: Float32Array;
  /** B[K,N] row-major: the 'nn' operand and ONNX MatMul's B. */
  b: Float32Array;
  /** Bᵀ = W[N,K] row-major: the 'nt' operand, a linear layer's weight. */
  bt: Float32Array;
}

export function matmulData(s: Size, seed = 1): MatmulData {
  const a = Float32Array.from(randomFloats(s.M * s.K, seed));
  const b = Float32Array.from(randomFloats(s.K * s.N, seed + 1));
  return { ...s, a, b, bt: transpose(b, s.K, s.N) };
}

function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}

/** M·N·K up to which the full float64 product is cheap enough to compute on the CPU (well under a second). */
const FULL_REFERENCE_LIMIT = 1 << 25;
const SAMPLES = 512;

/**
 * A float64 reference for C = A·B: all of C for small sizes, else SAMPLES
 * entries spread over C (corners included), so even 4096³ gets an
 * independent check in a fraction of a second.
 */
export function float64Reference(d: MatmulData): Reference {
  if (d.M * d.N * d.K <= FULL_REFERENCE_LIMIT) return { label: 'float64 CPU', values: fullProduct(d) };
  const indices = sampleIndices(d.M * d.N, SAMPLES);
  const values = Float64Array.from(indices, (i) => dotAt(d, Math.floor(i / d.N), i % d.N));
  return { label: `float64 CPU, ${SAMPLES} sampled entries`, values, indices };
}

function fullProduct(d: MatmulData): Float64Array {
  const { M, N, K, a, b } = d;
  const c = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      const av = a[m * K + k];
      for (let n = 0; n < N; n++) c[m * N + n] += av * b[k * N + n];
    }
  }
  return c;
}

function dotAt(d: MatmulData, m: number, n: number): number {
  let s = 0;
  for (let k = 0; k < d.K; k++) s += d.a[m * d.K + k] * d.b[k * d.N + n];
  return s;
}

/** Evenly strided indices plus the last one, where edge-handling bugs show first. */
function sampleIndices(total: number, count: number): Uint32Array {
  const out = new Uint32Array(Math.min(count, total));
  const stride = total / out.length;
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(i * stride + stride / 2);
  out[0] = 0;
  out[out.length - 1] = total - 1;
  return out;
}

/** docs/design.md §3's matmul tolerance: max |got − ref| ≤ 1e-4 · max |ref|. */
export function agreement(got: ArrayLike<number>, ref: Reference): Agreement {
  const n = ref.indices ? ref.indices.length : got.length;
  if (!ref.indices && got.length !== ref.values.length) return { against: ref.label, maxAbsDiff: Infinity, maxAbsRef: 0, ok: false };
  let maxAbsDiff = 0;
  let maxAbsRef = 0;
  for (let i = 0; i < n; i++) {
    const g = got[ref.indices ? ref.indices[i] : i];
    const diff = Math.abs(g - ref.values[i]);
    // NaN must fail the check, and Math.max(NaN, x) would hide it from `<=`.
    maxAbsDiff = Number.isNaN(diff) || g === undefined ? Infinity : Math.max(maxAbsDiff, diff);
    maxAbsRef = Math.max(maxAbsRef, Math.abs(ref.values[i]));
  }
  return { against: ref.label, maxAbsDiff, maxAbsRef, ok: maxAbsDiff <= 1e-4 * Math.max(maxAbsRef, 1e-30) };
}
