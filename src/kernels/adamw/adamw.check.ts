import type { Gpu } from '../../gpu/gpu';
import { type CompareResult, compareArrays } from '../testing/compare';
import { randomFloats } from '../testing/random';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, timeDispatches, toF32, toF64, withinTolerance } from '../check';
import { ADAMW_WG, adamw } from './adamw';
import type { AdamWOptions } from './adamw-options';
import { adamwStep } from './adamw.ref';

/** Not a multiple of the workgroup size; `shape.n` overrides. */
const DEFAULT_N = 4099;
/** Large lr and wd so that decay and update both move p visibly in 3 steps. */
const HYPER = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };
/** Step 3 reads a clip coefficient the way it would come from gradnorm.norm. */
const STEPS = [{ coef: null }, { coef: null }, { coef: 0.37 }] as const;
const tolerance = { kind: 'absScaled', value: 1e-5 } as const;

/**
 * A per-dimension limit of ceil(sqrt(groups)) forces the 2-D workgroup grid
 * (usually with spare workgroups) that ~100M parameters need.
 */
function foldingLimit(groups: number): number {
  return Math.ceil(Math.sqrt(groups));
}

interface State {
  p: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/** The reference step with a no-decay range and a clip coefficient applied to g. */
function referenceStep(s: State, g: Float64Array, opts: AdamWOptions, coef: number, noDecay: { start: number; end: number }): State {
  const scaled = g.map((x) => x * coef);
  const decayed = adamwStep(s.p, scaled, s.m, s.v, opts);
  const plain = adamwStep(s.p, scaled, s.m, s.v, { ...opts, weightDecay: 0 });
  decayed.p.set(plain.p.subarray(noDecay.start, noDecay.end), noDecay.start);
  return decayed;
}

/**
 * m and p pass through zero by cancellation, where no f32 result is
 * relatively accurate, so each array is held to |err| ≤ 1e-5·max|ref| on its
 * own scale; the result reports the array with the worst ratio.
 */
function worstScaled(results: CompareResult[]): CompareResult {
  const ratio = (e: CompareResult) => e.maxAbsErr / Math.max(e.maxAbsRef, 1e-30);
  const byRatio = [...results].sort((a, b) => ratio(b) - ratio(a));
  return { ...byRatio[0], maxRelErr: Math.max(...results.map((e) => e.maxRelErr)) };
}

async function runStepCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const n = opts.shape?.n ?? DEFAULT_N;
  const seed = opts.seed ?? 1;
  const noDecay = { start: Math.floor(n / 4), end: Math.floor(n / 3) };
  const p0 = toF32(randomFloats(n, seed, 0.5));
  const param = gpu.upload('check.adamw.param', p0);
  const grad = gpu.buffer('check.adamw.grad', n * 4);
  const expAvg = gpu.upload('check.adamw.exp-avg', new Float32Array(n));
  const expAvgSq = gpu.upload('check.adamw.exp-avg-sq', new Float32Array(n));
  const clip = gpu.buffer('check.adamw.clip', 2 * 4);
  const gridLimit = foldingLimit(Math.ceil(n / ADAMW_WG));
  let want: State = { p: toF64(p0), m: new Float64Array(n), v: new Float64Array(n) };
  for (let t = 1; t <= STEPS.length; t++) {
    const { coef } = STEPS[t - 1];
    const g = toF32(randomFloats(n, seed + 10 * t, 1e-2));
    gpu.write(grad, g);
    if (coef !== null) gpu.write(clip, new Float32Array([1.234, coef]));
    const step = { ...HYPER, step: t };
    const buffers = { param, grad, expAvg, expAvgSq, ...(coef !== null && { clip }) };
    gpu.run('check.adamw.step', [adamw(gpu, { ...step, ...buffers, n, noDecay, gridLimit })]);
    want = referenceStep(want, toF64(g), step, coef === null ? 1 : Math.fround(coef), noDecay);
  }
  const [p, m, v] = await Promise.all([param, expAvg, expAvgSq].map((b) => gpu.readF32(b, n)));
  const checked = worstScaled([compareArrays(p, want.p), compareArrays(m, want.m), compareArrays(v, want.v)]);
  const timed = adamw(gpu, { ...HYPER, step: 4, n, param, grad, expAvg, expAvgSq });
  const ms = await timeDispatches(gpu, 'adamw.step', [timed], opts.reps ?? 3);
  for (const b of [param, grad, expAvg, expAvgSq, clip]) b.destroy();
  return { name: 'adamw.step', shape: shapeString({ n, steps: STEPS.length }), ...checked, tolerance, pass: withinTolerance(tolerance, checked), ms };
}

export const adamwChecks: KernelCheck[] = [
  {
    name: 'adamw.step',
    description:
      'PyTorch AdamW, 3 steps from zero moments vs adamwStep (step 3 reads a clip coefficient, a middle range skips weight decay); p, m, v each within 1e-5·max|ref| on its own scale because m and p cross zero by cancellation',
    run: runStepCheck,
  },
];
