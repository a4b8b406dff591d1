import type { Binding, Gpu } from '../../gpu/gpu';
import { compareArrays, type CompareResult } from '../testing/compare';
import { randomFloats } from '../testing/random';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, timeDispatches, toF32, toF64, withinTolerance } from '../check';
import { LARGE_TILES, matmul, matmulVectorizable, SMALL_TILES, type MatmulLayout } from './matmul';
import { matmulNN, matmulNT, matmulTN } from './matmul.ref';

type Shape = { M: number; N: number; K: number };

/** The general kernel's default shape is awkward on purpose: no size is a multiple of any tile or of 4. */
const GENERAL_SHAPE: Shape = { M: 37, N: 53, K: 29 };

/**
 * The vec4 kernel's: multiples of 4 exactly where that layout reads or
 * writes vec4s (see matmulVectorizable), odd everywhere else, and still no
 * multiple of any tile.
 */
const VEC4_SHAPE: Record<MatmulLayout, Shape> = {
  nt: { M: 37, N: 52, K: 28 },
  nn: { M: 37, N: 52, K: 28 },
  tn: { M: 36, N: 52, K: 29 },
};

/** Both tile configurations matmul() chooses between, so each is checked whatever the shape. */
const TILES = [SMALL_TILES, LARGE_TILES];

/** The reference for C[M,N] in each layout, with A and B in that layout's storage order. */
function reference(layout: MatmulLayout, a: Float64Array, b: Float64Array, M: number, N: number, K: number): Float64Array {
  if (layout === 'nt') return matmulNT(a, b, M, K, N); // a [M,K], b [N,K]
  if (layout === 'nn') return matmulNN(a, b, M, K, N); // a [M,K], b [K,N]: dy·W with W [K,N]
  return matmulTN(a, b, K, M, N); // a [K,M], b [K,N]: C = aᵀ·b
}

/**
 * An operand on the GPU. With `offset` > 0 it is a range that starts
 * `offset` bytes into a bigger buffer padded with NaN on both sides, as the
 * model's parameter and activation views are: a kernel that ignored the
 * offset, or read past the range, would show NaN or wrong values.
 */
function operand(gpu: Gpu, label: string, data: Float32Array, offset: number): { binding: Binding; buffer: GPUBuffer; offset: number } {
  if (offset === 0) {
    const buffer = gpu.upload(label, data);
    return { binding: buffer, buffer, offset };
  }
  const padded = new Float32Array(data.length + (2 * offset) / 4).fill(Number.NaN);
  padded.set(data, offset / 4);
  const buffer = gpu.upload(label, padded);
  return { binding: { buffer, offset, size: data.byteLength }, buffer, offset };
}

function worst(a: CompareResult, b: CompareResult): CompareResult {
  return {
    maxAbsErr: Math.max(a.maxAbsErr, b.maxAbsErr),
    maxRelErr: Math.max(a.maxRelErr, b.maxRelErr),
    maxAbsRef: Math.max(a.maxAbsRef, b.maxAbsRef),
  };
}

async function runMatmulCheck(gpu: Gpu, layout: MatmulLayout, vec4: boolean, opts: CheckOptions = {}): Promise<CheckResult> {
  const { M, N, K } = { ...(vec4 ? VEC4_SHAPE[layout] : GENERAL_SHAPE), ...opts.shape };
  if (vec4 && !matmulVectorizable(layout, M, N, K)) {
    throw new RangeError(`matmul.${layout}.vec4 needs N and ${layout === 'tn' ? 'M' : 'K'} to be multiples of 4, got M=${M} N=${N} K=${K}`);
  }
  const seed = opts.seed ?? 1;
  const a32 = toF32(randomFloats(M * K, seed));
  const b32 = toF32(randomFloats(K * N, seed + 1));
  const c0 = toF32(randomFloats(M * N, seed + 2));
  // The vec4 kernel binds ranges at a 256-byte offset (the device's
  // minStorageBufferOffsetAlignment), the general kernel whole buffers.
  const offset = vec4 ? 256 : 0;
  const a = operand(gpu, 'check.matmul.a', a32, offset);
  const b = operand(gpu, 'check.matmul.b', b32, offset);
  const c = operand(gpu, 'check.matmul.c', c0, offset);
  const ref = reference(layout, toF64(a32), toF64(b32), M, N, K);
  for (let i = 0; i < ref.length; i++) ref[i] += 0.5 * c0[i];

  let err: CompareResult | null = null;
  for (const tiles of TILES) {
    gpu.write(c.buffer, c0, c.offset);
    // beta = 0.5 checks the accumulate path against stale C contents too.
    const d = matmul(gpu, { layout, M, N, K, a: a.binding, b: b.binding, c: c.binding, alpha: 1, beta: 0.5, tiles, vec4 });
    gpu.run(`check.matmul.${layout}`, [d]);
    const e = compareArrays(await gpu.readF32(c.buffer, M * N, c.offset / 4), ref);
    err = err ? worst(err, e) : e;
  }
  if (!err) throw new Error('no tile configuration ran');

  const timed = matmul(gpu, { layout, M, N, K, a: a.binding, b: b.binding, c: c.binding, vec4 });
  const ms = await timeDispatches(gpu, timed.label, [timed], opts.reps ?? 3);
  for (const x of [a, b, c]) x.buffer.destroy();
  const tolerance = { kind: 'absScaled', value: 1e-4 } as const;
  return {
    name: `matmul.${layout}${vec4 ? '.vec4' : ''}`,
    shape: shapeString({ M, N, K }),
    ...err,
    tolerance,
    pass: withinTolerance(tolerance, err),
    ms,
    gflops: (2 * M * N * K) / (ms * 1e6),
  };
}

const DESCRIPTIONS: Record<MatmulLayout, string> = {
  nt: 'linear forward y = x·Wᵀ',
  nn: 'linear input gradient dx = dy·W',
  tn: 'linear weight gradient dW = dyᵀ·x',
};

const LAYOUTS = ['nt', 'nn', 'tn'] as const;

export const matmulChecks: KernelCheck[] = [
  ...LAYOUTS.map((layout) => ({
    name: `matmul.${layout}`,
    description: `${DESCRIPTIONS[layout]}: the general kernel (any shape, scalar loads), small and large tiles`,
    run: (gpu: Gpu, opts?: CheckOptions) => runMatmulCheck(gpu, layout, false, opts),
  })),
  ...LAYOUTS.map((layout) => ({
    name: `matmul.${layout}.vec4`,
    description:
      `${DESCRIPTIONS[layout]}: the vec4 kernel (N and ${layout === 'tn' ? 'M' : 'K'} multiples of 4), ` +
      'operands bound as ranges at a 256-byte offset, small and large tiles',
    run: (gpu: Gpu, opts?: CheckOptions) => runMatmulCheck(gpu, layout, true, opts),
  })),
];
