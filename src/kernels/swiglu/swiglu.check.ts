import type { Gpu } from '../../gpu/gpu';
import { type CompareResult, compareArrays } from '../testing/compare';
import { randomFloats } from '../testing/random';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, timeDispatches, toF32, toF64, withinTolerance } from '../check';
import { swigluBackward, swigluForward } from './swiglu';
import { swigluBackward as swigluBackwardRef, swigluForward as swigluForwardRef } from './swiglu.ref';

/** n = B·S·I; I = 37 makes n a multiple of no workgroup size. */
const DEFAULT_SHAPE = { B: 2, S: 7, I: 37 };

/**
 * Gates of mixed magnitude plus extremes where a naive sigmoid overflows
 * (exp(±100) is inf in f32) and where silu saturates.
 */
function gateValues(n: number, seed: number): Float32Array {
  const gate = toF32(randomFloats(n, seed, 3));
  const extremes = [-100, -30, -9, 9, 30, 100];
  extremes.forEach((v, i) => {
    if (i * 5 < n) gate[i * 5] = v;
  });
  return gate;
}

function inputs(opts: CheckOptions) {
  const { B, S, I } = { ...DEFAULT_SHAPE, ...opts.shape };
  const n = B * S * I;
  const seed = opts.seed ?? 1;
  return { shape: { B, S, I }, n, gate: gateValues(n, seed), up: toF32(randomFloats(n, seed + 1)), dh: toF32(randomFloats(n, seed + 2)) };
}

async function runForwardCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const { shape, n, gate, up } = inputs(opts);
  const gateBuf = gpu.upload('check.swiglu.gate', gate);
  const upBuf = gpu.upload('check.swiglu.up', up);
  const h = gpu.buffer('check.swiglu.h', n * 4);
  const d = swigluForward(gpu, { n, gate: gateBuf, up: upBuf, h });
  gpu.run('check.swiglu.forward', [d]);
  const err = compareArrays(await gpu.readF32(h, n), swigluForwardRef(toF64(gate), toF64(up)));
  const ms = await timeDispatches(gpu, 'swiglu.forward', [d], opts.reps ?? 3);
  for (const buf of [gateBuf, upBuf, h]) buf.destroy();
  const tolerance = { kind: 'relative', value: 1e-5 } as const;
  return { name: 'swiglu.forward', shape: shapeString(shape), ...err, tolerance, pass: withinTolerance(tolerance, err), ms };
}

async function runBackwardCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const { shape, n, gate, up, dh } = inputs(opts);
  const bufs = {
    gate: gpu.upload('check.swiglu.gate', gate),
    up: gpu.upload('check.swiglu.up', up),
    dh: gpu.upload('check.swiglu.dh', dh),
    dgate: gpu.buffer('check.swiglu.dgate', n * 4),
    dup: gpu.buffer('check.swiglu.dup', n * 4),
  };
  const d = swigluBackward(gpu, { n, ...bufs });
  gpu.run('check.swiglu.backward', [d]);
  const ref = swigluBackwardRef(toF64(gate), toF64(up), toF64(dh));
  const err = worstScaled([
    compareArrays(await gpu.readF32(bufs.dgate, n), ref.dgate),
    compareArrays(await gpu.readF32(bufs.dup, n), ref.dup),
  ]);
  const ms = await timeDispatches(gpu, 'swiglu.backward', [d], opts.reps ?? 3);
  for (const buf of Object.values(bufs)) buf.destroy();
  const tolerance = { kind: 'absScaled', value: 1e-5 } as const;
  return { name: 'swiglu.backward', shape: shapeString(shape), ...err, tolerance, pass: withinTolerance(tolerance, err), ms };
}

/** The output with the largest error relative to its own max|ref|, so each output meets an absScaled bound on its own scale. */
function worstScaled(results: CompareResult[]): CompareResult {
  const ratio = (r: CompareResult) => r.maxAbsErr / Math.max(r.maxAbsRef, 1e-30);
  return results.reduce((a, b) => (ratio(b) > ratio(a) ? b : a));
}

export const swigluChecks: KernelCheck[] = [
  {
    name: 'swiglu.forward',
    description: 'h = silu(gate)∘up with an overflow-safe sigmoid (gates up to ±100)',
    run: runForwardCheck,
  },
  {
    name: 'swiglu.backward',
    description:
      'dgate = dh∘up∘silu′(gate), dup = dh∘silu(gate). silu′ = σ(1 + g(1−σ)) crosses zero at g ≈ −1.28, where it is ' +
      'tiny by cancellation, so each output is checked as |err| ≤ 1e-5·max|ref| of that output (worst output reported)',
    run: runBackwardCheck,
  },
];
