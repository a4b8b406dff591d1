import type { Gpu } from '../../gpu/gpu';
import { compareArrays } from '../testing/compare';
import { randomFloats } from '../testing/random';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, timeDispatches, toF32, toF64, withinTolerance } from '../check';
import { matmul, type MatmulLayout } from './matmul';
import { matmulNN, matmulNT, matmulTN } from './matmul.ref';

/** Default shapes are awkward on purpose: no size is a multiple of any tile. */
const DEFAULT_SHAPE = { M: 37, N: 53, K: 29 };

/** The reference for C[M,N] in each layout, with A and B in that layout's storage order. */
function reference(layout: MatmulLayout, a: Float64Array, b: Float64Array, M: number, N: number, K: number): Float64Array {
  if (layout === 'nt') return matmulNT(a, b, M, K, N); // a [M,K], b [N,K]
  if (layout === 'nn') return matmulNN(a, b, M, K, N); // a [M,K], b [K,N]: dy·W with W [K,N]
  return matmulTN(a, b, K, M, N); // a [K,M], b [K,N]: C = aᵀ·b
}

async function runMatmulCheck(gpu: Gpu, layout: MatmulLayout, opts: CheckOptions = {}): Promise<CheckResult> {
  const { M, N, K } = { ...DEFAULT_SHAPE, ...opts.shape };
  const seed = opts.seed ?? 1;
  const a32 = toF32(randomFloats(M * K, seed));
  const b32 = toF32(randomFloats(K * N, seed + 1));
  const c0 = toF32(randomFloats(M * N, seed + 2));
  const a = gpu.upload('check.matmul.a', a32);
  const b = gpu.upload('check.matmul.b', b32);
  const c = gpu.upload('check.matmul.c', c0);
  // beta = 0.5 checks the accumulate path against stale C contents too.
  const d = matmul(gpu, { layout, M, N, K, a, b, c, alpha: 1, beta: 0.5 });
  gpu.run(`check.matmul.${layout}`, [d]);
  const got = await gpu.readF32(c, M * N);
  const ref = reference(layout, toF64(a32), toF64(b32), M, N, K);
  for (let i = 0; i < ref.length; i++) ref[i] += 0.5 * c0[i];
  const err = compareArrays(got, ref);
  const timed = matmul(gpu, { layout, M, N, K, a, b, c });
  const ms = await timeDispatches(gpu, `matmul.${layout}`, [timed], opts.reps ?? 3);
  for (const buf of [a, b, c]) buf.destroy();
  const tolerance = { kind: 'absScaled', value: 1e-4 } as const;
  return {
    name: `matmul.${layout}`,
    shape: shapeString({ M, N, K }),
    ...err,
    tolerance,
    pass: withinTolerance(tolerance, err),
    ms,
    gflops: (2 * M * N * K) / (ms * 1e6),
  };
}

const DESCRIPTIONS: Record<MatmulLayout, string> = {
  nt: 'linear forward y = x·Wᵀ (register-tiled)',
  nn: 'linear input gradient dx = dy·W',
  tn: 'linear weight gradient dW = dyᵀ·x',
};

export const matmulChecks: KernelCheck[] = (['nt', 'nn', 'tn'] as const).map((layout) => ({
  name: `matmul.${layout}`,
  description: DESCRIPTIONS[layout],
  run: (gpu, opts) => runMatmulCheck(gpu, layout, opts),
}));
