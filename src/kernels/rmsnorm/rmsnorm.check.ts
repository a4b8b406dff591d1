import type { Gpu } from '../../gpu/gpu';
import { type CompareResult, compareArrays } from '../testing/compare';
import { randomFloats } from '../testing/random';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, timeDispatches, toF32, toF64, withinTolerance } from '../check';
import { rmsnormBackward, rmsnormForward, rmsnormScratchBytes } from './rmsnorm';
import { rmsnormBackward as rmsnormBackwardRef, rmsnormForward as rmsnormForwardRef } from './rmsnorm.ref';

/**
 * rows = B·S = 14; D = 37 is no multiple of the workgroup; x rows are strided
 * by D + pad (as c_kv inside ckp); 4 rows per dg chunk gives 4 chunks, the
 * last one short.
 */
const DEFAULT_SHAPE = { B: 2, S: 7, D: 37, pad: 3, rowsPerChunk: 4 };
const EPS = 1e-6;

function inputs(opts: CheckOptions) {
  const shape = { ...DEFAULT_SHAPE, ...opts.shape };
  const rows = shape.B * shape.S;
  const stride = shape.D + shape.pad;
  const seed = opts.seed ?? 1;
  const x = toF32(randomFloats(rows * stride, seed));
  // Weights around 1, as trained RMSNorm weights are.
  const g = toF32(randomFloats(shape.D, seed + 1, 0.2).map((v) => 1 + v));
  return { shape, rows, stride, x, g, seed };
}

/** The dense [rows, D] part of strided rows. */
function dense(a: ArrayLike<number>, rows: number, D: number, stride: number): Float64Array {
  const out = new Float64Array(rows * D);
  for (let r = 0; r < rows; r++) for (let d = 0; d < D; d++) out[r * D + d] = a[r * stride + d];
  return out;
}

async function runForwardCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const { shape, rows, stride, x, g } = inputs(opts);
  const D = shape.D;
  const bufs = {
    x: gpu.upload('check.rmsnorm.x', x),
    g: gpu.upload('check.rmsnorm.g', g),
    y: gpu.buffer('check.rmsnorm.y', rows * D * 4),
    rstd: gpu.buffer('check.rmsnorm.rstd', rows * 4),
  };
  const d = rmsnormForward(gpu, { rows, D, stride, eps: EPS, ...bufs });
  gpu.run('check.rmsnorm.forward', [d]);
  const ref = rmsnormForwardRef(dense(x, rows, D, stride), toF64(g), rows, D, EPS);
  const err = worst([
    compareArrays(await gpu.readF32(bufs.y, rows * D), ref.y),
    compareArrays(await gpu.readF32(bufs.rstd, rows), ref.rstd),
  ], 'relative');
  const ms = await timeDispatches(gpu, 'rmsnorm.forward', [d], opts.reps ?? 3);
  for (const buf of Object.values(bufs)) buf.destroy();
  const tolerance = { kind: 'relative', value: 1e-5 } as const;
  return { name: 'rmsnorm.forward', shape: shapeString({ rows, D, stride }), ...err, tolerance, pass: withinTolerance(tolerance, err), ms };
}

async function runBackwardCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const { shape, rows, stride, x, g, seed } = inputs(opts);
  const { D, rowsPerChunk } = shape;
  const x64 = dense(x, rows, D, stride);
  // The backward takes rstd as saved by a forward; feed both sides the same f32 values.
  const rstd = toF32(rmsnormForwardRef(x64, toF64(g), rows, D, EPS).rstd);
  const dy = toF32(randomFloats(rows * D, seed + 2));
  const ref = rmsnormBackwardRef(toF64(dy), x64, toF64(g), toF64(rstd), rows, D);
  const bufs = {
    x: gpu.upload('check.rmsnorm.x', x),
    g: gpu.upload('check.rmsnorm.g', g),
    rstd: gpu.upload('check.rmsnorm.rstd', rstd),
    dy: gpu.upload('check.rmsnorm.dy', dy),
    scratch: gpu.buffer('check.rmsnorm.scratch', rmsnormScratchBytes(rows, D, rowsPerChunk)),
  };
  const run = async (accumulate: boolean, dx0: Float32Array, dg0: Float32Array) => {
    const dx = gpu.upload('check.rmsnorm.dx', dx0);
    const dg = gpu.upload('check.rmsnorm.dg', dg0);
    const ds = rmsnormBackward(gpu, { rows, D, stride, rowsPerChunk, ...bufs, dx, dg, accumulateDx: accumulate, accumulateDg: accumulate });
    gpu.run('check.rmsnorm.backward', ds);
    return { dx: await gpu.readF32(dx, rows * stride), dg: await gpu.readF32(dg, D), ds, outputs: [dx, dg] };
  };
  // Overwrite: stale NaNs must not leak into the result.
  const over = await run(false, new Float32Array(rows * stride).fill(NaN), new Float32Array(D).fill(NaN));
  // Accumulate onto stale values; the whole strided dx is compared, so the
  // pad columns must come back untouched.
  const dx0 = toF32(randomFloats(rows * stride, seed + 3));
  const dg0 = toF32(randomFloats(D, seed + 4));
  const acc = await run(true, dx0, dg0);
  const dxAcc = toF64(dx0);
  for (let r = 0; r < rows; r++) for (let d = 0; d < D; d++) dxAcc[r * stride + d] += ref.dx[r * D + d];
  const err = worst([
    compareArrays(dense(over.dx, rows, D, stride), ref.dx),
    compareArrays(over.dg, ref.dg),
    compareArrays(acc.dx, dxAcc),
    compareArrays(acc.dg, ref.dg.map((v, i) => v + dg0[i])),
  ], 'absScaled');
  const ms = await timeDispatches(gpu, 'rmsnorm.backward', over.ds, opts.reps ?? 3);
  for (const buf of [...Object.values(bufs), ...over.outputs, ...acc.outputs]) buf.destroy();
  const tolerance = { kind: 'absScaled', value: 1e-5 } as const;
  return {
    name: 'rmsnorm.backward',
    shape: shapeString({ rows, D, stride, rowsPerChunk }),
    ...err,
    tolerance,
    pass: withinTolerance(tolerance, err),
    ms,
  };
}

/** The comparison furthest from its tolerance: by relative error, or by error over that output's own max|ref|. */
function worst(results: CompareResult[], kind: 'relative' | 'absScaled'): CompareResult {
  const score = (r: CompareResult) => (kind === 'relative' ? r.maxRelErr : r.maxAbsErr / Math.max(r.maxAbsRef, 1e-30));
  return results.reduce((a, b) => (score(b) > score(a) ? b : a));
}

export const rmsnormChecks: KernelCheck[] = [
  {
    name: 'rmsnorm.forward',
    description: 'y = g∘x·rstd per row (strided x), saving rstd; both outputs checked',
    run: runForwardCheck,
  },
  {
    name: 'rmsnorm.backward',
    description:
      'dx per row and dg by a deterministic two-pass column reduction, in overwrite and accumulate modes. dx = s·g∘dy − c·x ' +
      'and dg (a column sum) cancel to tiny values, so each output is checked as |err| ≤ 1e-5·max|ref| of that output (worst reported)',
    run: runBackwardCheck,
  },
];
