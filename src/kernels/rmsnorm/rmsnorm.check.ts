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

/** Row-reduction paths: the tree fallback always, subgroups where the device has them. */
function rowPaths(gpu: Gpu): boolean[] {
  return gpu.features.subgroups ? [false, true] : [false];
}

function pathName(subgroups: boolean): string {
  return subgroups ? 'subgroups' : 'tree';
}

/** Same bits, NaNs included. */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return ua.length === ub.length && ua.every((v, i) => v === ub[i]);
}

/** A wrong value where the answer is exactly known fails the check outright. */
function failUnless(ok: boolean, err: CompareResult): CompareResult {
  return ok ? err : { ...err, maxAbsErr: Infinity, maxRelErr: Infinity };
}

interface PathResult {
  subgroups: boolean;
  err: CompareResult;
  ms: number;
}

/**
 * The worse path's error (also failed when forcing subgroups on a device
 * without them does not throw), the default (last) path's time, which is what
 * a model runs, and the paths for the shape string.
 */
function combinePaths(results: PathResult[], kind: 'relative' | 'absScaled', refusesMissing: boolean) {
  const errs = results.map((r) => r.err);
  const worse = results[errs.indexOf(worst(errs, kind))];
  const err = failUnless(refusesMissing, worse.err);
  const paths = `paths=${results.map((r) => pathName(r.subgroups)).join('+')} worst=${pathName(worse.subgroups)}`;
  return { err, ms: results[results.length - 1].ms, paths };
}

/** Forcing subgroups on a device without them must fail loudly, not fall back. */
function refusesMissingSubgroups(gpu: Gpu): boolean {
  if (gpu.features.subgroups) return true;
  const b = gpu.buffer('check.rmsnorm.dummy', 16);
  try {
    rmsnormForward(gpu, { rows: 1, D: 1, eps: EPS, x: b, g: b, y: b, rstd: b, subgroups: true });
    return false;
  } catch {
    return true;
  } finally {
    b.destroy();
  }
}

async function runForwardCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const { shape, rows, stride, x, g } = inputs(opts);
  const D = shape.D;
  const ref = rmsnormForwardRef(dense(x, rows, D, stride), toF64(g), rows, D, EPS);
  const inputsOnGpu = { x: gpu.upload('check.rmsnorm.x', x), g: gpu.upload('check.rmsnorm.g', g) };
  const forward = async (subgroups: boolean) => {
    const out = { y: gpu.buffer('check.rmsnorm.y', rows * D * 4), rstd: gpu.buffer('check.rmsnorm.rstd', rows * 4) };
    const d = rmsnormForward(gpu, { rows, D, stride, eps: EPS, ...inputsOnGpu, ...out, subgroups });
    gpu.run('check.rmsnorm.forward', [d]);
    const got = { y: await gpu.readF32(out.y, rows * D), rstd: await gpu.readF32(out.rstd, rows) };
    return { got, d, out };
  };
  const results: PathResult[] = [];
  for (const subgroups of rowPaths(gpu)) {
    const first = await forward(subgroups);
    // A second run into fresh buffers must give the same bits.
    const second = await forward(subgroups);
    const deterministic = sameBits(first.got.y, second.got.y) && sameBits(first.got.rstd, second.got.rstd);
    const err = worst([compareArrays(first.got.y, ref.y), compareArrays(first.got.rstd, ref.rstd)], 'relative');
    const ms = await timeDispatches(gpu, 'rmsnorm.forward', [first.d], opts.reps ?? 3);
    for (const buf of [...Object.values(first.out), ...Object.values(second.out)]) buf.destroy();
    results.push({ subgroups, err: failUnless(deterministic, err), ms });
  }
  for (const buf of Object.values(inputsOnGpu)) buf.destroy();
  const { err, ms, paths } = combinePaths(results, 'relative', refusesMissingSubgroups(gpu));
  const tolerance = { kind: 'relative', value: 1e-5 } as const;
  return { name: 'rmsnorm.forward', shape: `${shapeString({ rows, D, stride })} ${paths}`, ...err, tolerance, pass: withinTolerance(tolerance, err), ms };
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
  const run = async (subgroups: boolean, accumulate: boolean, dx0: Float32Array, dg0: Float32Array) => {
    const dx = gpu.upload('check.rmsnorm.dx', dx0);
    const dg = gpu.upload('check.rmsnorm.dg', dg0);
    const ds = rmsnormBackward(gpu, { rows, D, stride, rowsPerChunk, ...bufs, dx, dg, accumulateDx: accumulate, accumulateDg: accumulate, subgroups });
    gpu.run('check.rmsnorm.backward', ds);
    return { dx: await gpu.readF32(dx, rows * stride), dg: await gpu.readF32(dg, D), ds, outputs: [dx, dg] };
  };
  const dx0 = toF32(randomFloats(rows * stride, seed + 3));
  const dg0 = toF32(randomFloats(D, seed + 4));
  const dxAcc = toF64(dx0);
  for (let r = 0; r < rows; r++) for (let d = 0; d < D; d++) dxAcc[r * stride + d] += ref.dx[r * D + d];
  const results: PathResult[] = [];
  for (const subgroups of rowPaths(gpu)) {
    // Overwrite: stale NaNs must not leak into the result.
    const nans = () => [new Float32Array(rows * stride).fill(NaN), new Float32Array(D).fill(NaN)] as const;
    const over = await run(subgroups, false, ...nans());
    // The same again must give the same bits.
    const again = await run(subgroups, false, ...nans());
    const deterministic = sameBits(over.dx, again.dx) && sameBits(over.dg, again.dg);
    // Accumulate onto stale values; the whole strided dx is compared, so the
    // pad columns must come back untouched.
    const acc = await run(subgroups, true, dx0, dg0);
    const err = worst([
      compareArrays(dense(over.dx, rows, D, stride), ref.dx),
      compareArrays(over.dg, ref.dg),
      compareArrays(acc.dx, dxAcc),
      compareArrays(acc.dg, ref.dg.map((v, i) => v + dg0[i])),
    ], 'absScaled');
    const ms = await timeDispatches(gpu, 'rmsnorm.backward', over.ds, opts.reps ?? 3);
    for (const buf of [...over.outputs, ...again.outputs, ...acc.outputs]) buf.destroy();
    results.push({ subgroups, err: failUnless(deterministic, err), ms });
  }
  for (const buf of Object.values(bufs)) buf.destroy();
  const { err, ms, paths } = combinePaths(results, 'absScaled', refusesMissingSubgroups(gpu));
  const tolerance = { kind: 'absScaled', value: 1e-5 } as const;
  return {
    name: 'rmsnorm.backward',
    shape: `${shapeString({ rows, D, stride, rowsPerChunk })} ${paths}`,
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
    description:
      'y = g∘x·rstd per row (strided x), saving rstd; both outputs checked. Runs the workgroup-tree row reduction and, where the device has subgroups, ' +
      'the subgroup one; reports the worse; each must give the same bits on a second run',
    run: runForwardCheck,
  },
  {
    name: 'rmsnorm.backward',
    description:
      'dx per row and dg by a deterministic two-pass column reduction, in overwrite and accumulate modes. dx = s·g∘dy − c·x ' +
      'and dg (a column sum) cancel to tiny values, so each output is checked as |err| ≤ 1e-5·max|ref| of that output (worst reported). ' +
      'The dx row reduction runs as a workgroup tree and, where the device has subgroups, with subgroups; worse path reported; each must repeat its bits',
    run: runBackwardCheck,
  },
];
