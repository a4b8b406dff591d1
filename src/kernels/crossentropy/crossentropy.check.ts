import type { Gpu } from '../../gpu/gpu';
import { type CompareResult, compareArrays } from '../testing/compare';
import { randomFloats, randomInts } from '../testing/random';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, timeDispatches, toF32, toF64, withinTolerance } from '../check';
import { CROSSENTROPY_LOSS_LENGTH, crossEntropyBackward, crossEntropyForward } from './crossentropy';
import * as ref from './crossentropy.ref';

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
    targets[r] = ref.IGNORE_INDEX;
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

async function runForwardCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const x = makeInputs(opts);
  const { rows, V } = x;
  const bufs = upload(gpu, x);
  gpu.run('check.crossentropy.forward', crossEntropyForward(gpu, { rows, V, ...bufs, gridLimit: foldingLimit(rows) }));
  const losses = await gpu.readF32(bufs.losses, rows);
  const lse = await gpu.readF32(bufs.lse, rows);
  const loss = await gpu.readF32(bufs.loss, CROSSENTROPY_LOSS_LENGTH);
  const want = ref.crossEntropyForward(toF64(x.logits), x.targets, rows, V);
  // One relative comparison over every output; the count and the zeros of
  // ignored rows must be exact (the relative metric skips zeros).
  const err = compareArrays([...losses, ...lse, loss[0]], [...want.losses, ...want.lse, want.loss]);
  const exact = loss[1] === want.count && x.ignored.every((r) => losses[r] === 0);
  const ms = await timeDispatches(gpu, 'crossentropy.forward', crossEntropyForward(gpu, { rows, V, ...bufs }), opts.reps ?? 3);
  destroy(bufs);
  const checked = failUnless(exact, err);
  return { name: 'crossentropy.forward', shape: shapeString({ rows, V }), ...checked, tolerance, pass: withinTolerance(tolerance, checked), ms };
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
    description: 'fused softmax + cross-entropy: per-row lse and loss, then the fixed-order mean over non-ignored rows (rows with target -100 present; count and their zero losses must be exact)',
    run: runForwardCheck,
  },
  {
    name: 'crossentropy.backward',
    description:
      'dlogits = (softmax − onehot)/count, zero for ignored rows (exactly); out of place, and in place with scale 0.5. Relative error, except that the target entry p − 1 (a cancellation when p → 1) is measured relative to max(|ref|, scale/count)',
    run: runBackwardCheck,
  },
];
