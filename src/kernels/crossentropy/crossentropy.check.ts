import type { Gpu } from '../../gpu/gpu';
import { type CompareResult, compareArrays } from '../testing/compare';
import { randomFloats, randomInts } from '../testing/random';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, timeDispatches, toF32, toF64, withinTolerance } from '../check';
import { CROSSENTROPY_LOSS_LENGTH, crossEntropyBackward, crossEntropyForward } from './crossentropy';
import * as ref from './crossentropy.ref';
import { IGNORE_INDEX } from './ignore-index';

/** rows = B·S = 2·7; V is neither a multiple of the workgroup size nor below it. */
const DEFAULT_SHAPE = { rows: 14, V: 1031 };
const tolerance = { kind: 'relative', value: 1e-5 } as const;

/**
 * A per-dimension limit of ceil(sqrt(groups)) forces the 2-D workgroup grid
 * (usually with spare workgroups) that huge row counts need.
 */
function foldingLimit(groups: number): number {
  return Math.ceil(Math.sqrt(groups));
}

interface Inputs {
  rows: number;
  V: number;
  logits: Float32Array;
  targets: Int32Array;
  ignored: number[];
}

function makeInputs(opts: CheckOptions): Inputs {
  const { rows, V } = { ...DEFAULT_SHAPE, ...opts.shape };
  const seed = opts.seed ?? 1;
  // Scale 3 makes the softmax far from uniform, as it is after some training.
  const logits = toF32(randomFloats(rows * V, seed, 3));
  const targets = randomInts(rows, V, seed + 1);
  const ignored: number[] = [];
  for (let r = 2; r < rows; r += 5) {
    targets[r] = IGNORE_INDEX;
    ignored.push(r);
  }
  return { rows, V, logits, targets, ignored };
}

/** A wrong value where the answer is exactly known fails the check outright. */
function failUnless(ok: boolean, err: CompareResult): CompareResult {
  return ok ? err : { ...err, maxAbsErr: Infinity, maxRelErr: Infinity };
}

function worst(a: CompareResult, b: CompareResult): CompareResult {
  return {
    maxAbsErr: Math.max(a.maxAbsErr, b.maxAbsErr),
    maxRelErr: Math.max(a.maxRelErr, b.maxRelErr),
    maxAbsRef: Math.max(a.maxAbsRef, b.maxAbsRef),
  };
}

interface Buffers {
  logits: GPUBuffer;
  targets: GPUBuffer;
  lse: GPUBuffer;
  losses: GPUBuffer;
  loss: GPUBuffer;
}

function upload(gpu: Gpu, x: Inputs): Buffers {
  return {
    logits: gpu.upload('check.crossentropy.logits', x.logits),
    targets: gpu.upload('check.crossentropy.targets', x.targets),
    lse: gpu.buffer('check.crossentropy.lse', x.rows * 4),
    losses: gpu.buffer('check.crossentropy.losses', x.rows * 4),
    loss: gpu.buffer('check.crossentropy.loss', CROSSENTROPY_LOSS_LENGTH * 4),
  };
}

function destroy(bufs: Buffers): void {
  for (const b of Object.values(bufs)) b.destroy();
}

/** Row-reduction paths of the forward: the tree fallback always, subgroups where the device has them. */
function forwardPaths(gpu: Gpu): boolean[] {
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

/** One forward into fresh output buffers; returns [losses, lse, loss] concatenated. */
async function forwardOutputs(gpu: Gpu, x: Inputs, bufs: Buffers, subgroups: boolean): Promise<Float32Array> {
  const { rows, V } = x;
  const out = {
    lse: gpu.buffer('check.crossentropy.lse', rows * 4),
    losses: gpu.buffer('check.crossentropy.losses', rows * 4),
    loss: gpu.buffer('check.crossentropy.loss', CROSSENTROPY_LOSS_LENGTH * 4),
  };
  gpu.run('check.crossentropy.forward', crossEntropyForward(gpu, { rows, V, ...bufs, ...out, gridLimit: foldingLimit(rows), subgroups }));
  const all = new Float32Array(2 * rows + CROSSENTROPY_LOSS_LENGTH);
  all.set(await gpu.readF32(out.losses, rows), 0);
  all.set(await gpu.readF32(out.lse, rows), rows);
  all.set(await gpu.readF32(out.loss, CROSSENTROPY_LOSS_LENGTH), 2 * rows);
  for (const b of Object.values(out)) b.destroy();
  return all;
}

interface PathResult {
  subgroups: boolean;
  err: CompareResult;
  ms: number;
}

/** Checks one path against the reference, and that a second run gives the same bits. */
async function checkForwardPath(gpu: Gpu, x: Inputs, want: ReturnType<typeof ref.crossEntropyForward>, subgroups: boolean, reps: number): Promise<PathResult> {
  const { rows, V } = x;
  const bufs = upload(gpu, x);
  const got = await forwardOutputs(gpu, x, bufs, subgroups);
  const again = await forwardOutputs(gpu, x, bufs, subgroups);
  const losses = got.subarray(0, rows);
  const loss = got.subarray(2 * rows);
  // One relative comparison over every output; the count and the zeros of
  // ignored rows must be exact (the relative metric skips zeros).
  const err = compareArrays(got.subarray(0, 2 * rows + 1), [...want.losses, ...want.lse, want.loss]);
  const exact = loss[1] === want.count && x.ignored.every((r) => losses[r] === 0) && sameBits(got, again);
  const ms = await timeDispatches(gpu, 'crossentropy.forward', crossEntropyForward(gpu, { rows, V, ...bufs, subgroups }), reps);
  destroy(bufs);
  return { subgroups, err: failUnless(exact, err), ms };
}

/** Forcing subgroups on a device without them must fail loudly, not fall back. */
function refusesMissingSubgroups(gpu: Gpu, x: Inputs): boolean {
  if (gpu.features.subgroups) return true;
  const dummy = gpu.buffer('check.crossentropy.dummy', 16);
  const b = { logits: dummy, targets: dummy, lse: dummy, losses: dummy, loss: dummy };
  try {
    crossEntropyForward(gpu, { rows: x.rows, V: x.V, ...b, subgroups: true });
    return false;
  } catch {
    return true;
  } finally {
    dummy.destroy();
  }
}

async function runForwardCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const x = makeInputs(opts);
  const { rows, V } = x;
  const want = ref.crossEntropyForward(toF64(x.logits), x.targets, rows, V);
  const results: PathResult[] = [];
  for (const subgroups of forwardPaths(gpu)) results.push(await checkForwardPath(gpu, x, want, subgroups, opts.reps ?? 3));
  const worse = results.reduce((a, b) => (b.err.maxRelErr > a.err.maxRelErr ? b : a));
  const checked = failUnless(refusesMissingSubgroups(gpu, x), worse.err);
  // The time is the default path's, the last one: the one a model runs.
  const ms = results[results.length - 1].ms;
  const paths = results.map((r) => pathName(r.subgroups)).join('+');
  const shape = `${shapeString({ rows, V })} paths=${paths} worst=${pathName(worse.subgroups)}`;
  return { name: 'crossentropy.forward', shape, ...checked, tolerance, pass: withinTolerance(tolerance, checked), ms };
}

/**
 * compareArrays, except that the entry at a row's target, p − 1, is measured
 * relative to max(|ref|, unit) with unit = scale/count: when p → 1 it is a
 * cancellation of terms of that size, which f32 (and PyTorch) cannot resolve
 * relatively. Every other entry is held to the plain relative error.
 */
function gradError(got: Float32Array, want: Float64Array, x: Inputs, unit: number): CompareResult {
  const base = compareArrays(got, want);
  const threshold = 1e-6 * base.maxAbsRef;
  let maxRelErr = 0;
  for (let i = 0; i < want.length; i++) {
    const onTarget = x.targets[Math.floor(i / x.V)] === i % x.V;
    const denom = onTarget ? Math.max(Math.abs(want[i]), unit) : Math.abs(want[i]);
    const err = Math.abs(got[i] - want[i]);
    if (Number.isNaN(err)) maxRelErr = Infinity;
    else if (denom > threshold) maxRelErr = Math.max(maxRelErr, err / denom);
  }
  return { ...base, maxRelErr };
}

async function runBackwardCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const x = makeInputs(opts);
  const { rows, V } = x;
  const bufs = upload(gpu, x);
  const dlogits = gpu.buffer('check.crossentropy.dlogits', rows * V * 4);
  const inPlace = gpu.upload('check.crossentropy.logits-inplace', x.logits);
  const scale = 0.5; // the in-place run also checks the micro-batch scale
  gpu.run('check.crossentropy.backward', [
    ...crossEntropyForward(gpu, { rows, V, ...bufs, gridLimit: foldingLimit(rows) }),
    crossEntropyBackward(gpu, { rows, V, ...bufs, dlogits, gridLimit: foldingLimit(rows) }),
    crossEntropyBackward(gpu, { rows, V, ...bufs, logits: inPlace, scale, gridLimit: foldingLimit(rows) }),
  ]);
  const got = await gpu.readF32(dlogits, rows * V);
  const gotInPlace = await gpu.readF32(inPlace, rows * V);
  const fwd = ref.crossEntropyForward(toF64(x.logits), x.targets, rows, V);
  const want = ref.crossEntropyBackward(toF64(x.logits), x.targets, fwd.lse, rows, V, fwd.count);
  const wantScaled = want.map((g) => scale * g);
  const zeroRows = (g: Float32Array) => x.ignored.every((r) => g.subarray(r * V, (r + 1) * V).every((v) => v === 0));
  const checked = failUnless(
    zeroRows(got) && zeroRows(gotInPlace),
    worst(gradError(got, want, x, 1 / fwd.count), gradError(gotInPlace, wantScaled, x, scale / fwd.count)),
  );
  const timed = crossEntropyBackward(gpu, { rows, V, ...bufs, dlogits });
  const ms = await timeDispatches(gpu, 'crossentropy.backward', [timed], opts.reps ?? 3);
  destroy(bufs);
  dlogits.destroy();
  inPlace.destroy();
  return { name: 'crossentropy.backward', shape: shapeString({ rows, V }), ...checked, tolerance, pass: withinTolerance(tolerance, checked), ms };
}

export const crossentropyChecks: KernelCheck[] = [
  {
    name: 'crossentropy.forward',
    description:
      'fused softmax + cross-entropy: per-row lse and loss, then the fixed-order mean over non-ignored rows (rows with target -100 present; count and their zero losses must be exact). ' +
      'Runs the workgroup-tree row reduction and, where the device has subgroups, the subgroup one; reports the worse; each must give the same bits on a second run',
    run: runForwardCheck,
  },
  {
    name: 'crossentropy.backward',
    description:
      'dlogits = (softmax − onehot)/count, zero for ignored rows (exactly); out of place, and in place with scale 0.5. Relative error, except that the target entry p − 1 (a cancellation when p → 1) is measured relative to max(|ref|, scale/count)',
    run: runBackwardCheck,
  },
];
