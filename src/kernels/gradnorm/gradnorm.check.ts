import type { Gpu } from '../../gpu/gpu';
import { type CompareResult, compareArrays } from '../testing/compare';
import { randomFloats } from '../testing/random';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, timeDispatches, toF32, toF64, withinTolerance } from '../check';
import { GRADNORM_CHUNK, GRADNORM_OUT_LENGTH, gradClip, gradNorm, gradNormScratchLength } from './gradnorm';
import { clipCoefficient, clipGrads, globalNorm } from './gradnorm.ref';

/**
 * Tensor sizes of an awkward little "model" (a matrix, vectors, a scalar);
 * 18197 elements make 5 chunks, the last one partial. `shape.n` overrides
 * the whole with one tensor of n elements.
 */
const DEFAULT_TENSORS = [37 * 53, 1031, 7, 3 * 4099, 1, 2900];
const GRAD_SCALE = 0.01; // norm ≈ 1.35 at the default size
/** One threshold that clips (coef ≈ 0.37) and one that does not. */
const CASES = [{ maxNorm: 0.5 }, { maxNorm: 10 }];
const tolerance = { kind: 'relative', value: 1e-5 } as const;

/**
 * A per-dimension limit of ceil(sqrt(groups)) forces the 2-D workgroup grid
 * (usually with spare workgroups) that ~100M elements need.
 */
function foldingLimit(groups: number): number {
  return Math.ceil(Math.sqrt(groups));
}

function makeTensors(opts: CheckOptions): Float32Array[] {
  const sizes = opts.shape?.n !== undefined ? [opts.shape.n] : DEFAULT_TENSORS;
  const seed = opts.seed ?? 1;
  return sizes.map((n, i) => toF32(randomFloats(n, seed + i, GRAD_SCALE)));
}

/** Concatenates tensors the way the model lays out its gradients. */
function flatten(arrays: ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(arrays.reduce((s, a) => s + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

function worst(a: CompareResult, b: CompareResult): CompareResult {
  return {
    maxAbsErr: Math.max(a.maxAbsErr, b.maxAbsErr),
    maxRelErr: Math.max(a.maxRelErr, b.maxRelErr),
    maxAbsRef: Math.max(a.maxAbsRef, b.maxAbsRef),
  };
}

interface Run {
  n: number;
  flat: Float32Array;
  grads: GPUBuffer;
  partials: GPUBuffer;
  out: GPUBuffer;
  gridLimit: number;
}

function setUp(gpu: Gpu, tensors: Float32Array[]): Run {
  const flat = toF32(flatten(tensors));
  const n = flat.length;
  return {
    n,
    flat,
    grads: gpu.upload('check.gradnorm.grads', flat),
    partials: gpu.buffer('check.gradnorm.partials', gradNormScratchLength(n) * 4),
    out: gpu.buffer('check.gradnorm.out', GRADNORM_OUT_LENGTH * 4),
    gridLimit: foldingLimit(Math.ceil(n / GRADNORM_CHUNK)),
  };
}

function tearDown(r: Run): void {
  for (const b of [r.grads, r.partials, r.out]) b.destroy();
}

async function runNormCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const tensors = makeTensors(opts);
  const r = setUp(gpu, tensors);
  const norm = globalNorm(tensors.map(toF64));
  let err: CompareResult | null = null;
  const norms: number[] = [];
  for (const { maxNorm } of CASES) {
    gpu.run('check.gradnorm.norm', gradNorm(gpu, { ...r, maxNorm }));
    const got = await gpu.readF32(r.out, GRADNORM_OUT_LENGTH);
    norms.push(got[0]);
    const e = compareArrays(got, [norm, clipCoefficient(norm, maxNorm)]);
    err = err ? worst(err, e) : e;
  }
  // The reduction order is fixed, so every run gives the same bits.
  if (norms.some((x) => x !== norms[0])) err = { ...(err as CompareResult), maxAbsErr: Infinity, maxRelErr: Infinity };
  const ms = await timeDispatches(gpu, 'gradnorm.norm', gradNorm(gpu, { ...r, maxNorm: 1, gridLimit: undefined }), opts.reps ?? 3);
  tearDown(r);
  const checked = err as CompareResult;
  return {
    name: 'gradnorm.norm',
    shape: shapeString({ n: r.n, tensors: tensors.length }),
    ...checked,
    tolerance,
    pass: withinTolerance(tolerance, checked),
    ms,
  };
}

async function runClipCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const tensors = makeTensors(opts);
  let err: CompareResult | null = null;
  let n = 0;
  for (const { maxNorm } of CASES) {
    const r = setUp(gpu, tensors);
    n = r.n;
    gpu.run('check.gradnorm.clip', [...gradNorm(gpu, { ...r, maxNorm }), gradClip(gpu, r)]);
    const got = await gpu.readF32(r.grads, r.n);
    const want = clipGrads(tensors.map(toF64), maxNorm).grads;
    let e = compareArrays(got, flatten(want));
    // Without clipping the gradients must come back bit for bit.
    if (clipCoefficient(globalNorm(tensors.map(toF64)), maxNorm) === 1 && !got.every((v, i) => v === r.flat[i])) {
      e = { ...e, maxAbsErr: Infinity, maxRelErr: Infinity };
    }
    err = err ? worst(err, e) : e;
    tearDown(r);
  }
  // Time the clip alone, with a coefficient < 1 so it does its full work.
  const r = setUp(gpu, tensors);
  gpu.run('check.gradnorm.clip.setup', gradNorm(gpu, { ...r, maxNorm: 1e-3, gridLimit: undefined }));
  const ms = await timeDispatches(gpu, 'gradnorm.clip', [gradClip(gpu, { ...r, gridLimit: undefined })], opts.reps ?? 3);
  tearDown(r);
  const checked = err as CompareResult;
  return {
    name: 'gradnorm.clip',
    shape: shapeString({ n, tensors: tensors.length }),
    ...checked,
    tolerance,
    pass: withinTolerance(tolerance, checked),
    ms,
  };
}

export const gradnormChecks: KernelCheck[] = [
  {
    name: 'gradnorm.norm',
    description: 'global L2 norm of several tensors in one flat buffer (fixed-order partials + total) and the clip coefficient [norm, coef], with a threshold that clips and one that does not',
    run: runNormCheck,
  },
  {
    name: 'gradnorm.clip',
    description: 'gradients scaled in place by the GPU clip coefficient; clipping case, and a non-clipping case that must leave every bit unchanged',
    run: runClipCheck,
  },
];
