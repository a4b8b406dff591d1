import type { Gpu } from '../../gpu/gpu';
import { compareArrays, type CompareResult } from '../testing/compare';
import { randomFloats } from '../testing/random';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, timeDispatches, toF32, toF64, withinTolerance } from '../check';
import {
  attentionBackward,
  attentionForward,
  type AttentionTiles,
  attentionTiles,
  contiguousView,
  DEFAULT_BACKWARD_TILES,
  DEFAULT_FORWARD_TILES,
  type HeadView,
} from './attention';
import { attentionBackward as refBackward, attentionForward as refForward } from './attention.ref';

/**
 * Shape keys read from opts.shape: B, S, H, dqk, dv, and the tile sizes rows,
 * cols, splits. dqk ≠ dv as in MLA (dn+dr vs dv).
 */
interface Shape {
  B: number;
  S: number;
  H: number;
  dqk: number;
  dv: number;
}

interface Variant {
  suffix: string;
  description: string;
  shape: Shape;
  /** Undefined: the wrapper's defaults for each pass. */
  tiles?: AttentionTiles;
  /** Place every tensor as a padded, offset sub-block of a wider buffer (exercises the views). */
  strided: boolean;
}

const VARIANTS: Variant[] = [
  {
    suffix: '',
    description: 'one query block and one key block per (batch, head); contiguous [B,S,H,d] tensors',
    shape: { B: 2, S: 7, H: 3, dqk: 7, dv: 5 },
    strided: false,
  },
  {
    suffix: '.blocks',
    description:
      'S=37 with 8-row, 6-column, 3-split tiles, so many query and key blocks whose edges do not line up; ' +
      'every tensor a padded, offset sub-block of a wider buffer',
    shape: { B: 2, S: 37, H: 3, dqk: 7, dv: 5 },
    tiles: { rows: 8, cols: 6, splits: 3 },
    strided: true,
  },
];

const TOLERANCE = { kind: 'absScaled', value: 1e-4 } as const;

/** Each output is checked on its own scale; the result reports the output nearest its bound. */
function combine(outputs: Record<string, CompareResult>): { err: CompareResult; worst: string; pass: boolean } {
  let worst = '';
  let ratio = -1;
  let pass = true;
  for (const [name, err] of Object.entries(outputs)) {
    pass &&= withinTolerance(TOLERANCE, err);
    const r = err.maxAbsErr / Math.max(err.maxAbsRef, 1e-30);
    if (!(r <= ratio)) {
      ratio = r;
      worst = name;
    }
  }
  return { err: outputs[worst], worst, pass };
}

interface Problem extends Shape {
  /** Undefined: let the wrapper choose (its defaults, fitted to the device). */
  tiles?: AttentionTiles;
  scale: number;
  strided: boolean;
}

function problem(v: Variant, opts: CheckOptions, defaults: AttentionTiles): Problem {
  const o = opts.shape ?? {};
  const shape = { ...v.shape, ...pick(o, ['B', 'S', 'H', 'dqk', 'dv']) };
  const override = pick(o, ['rows', 'cols', 'splits']);
  const tiles = v.tiles || Object.keys(override).length ? { ...(v.tiles ?? defaults), ...override } : undefined;
  return { ...shape, tiles, scale: 1 / Math.sqrt(shape.dqk), strided: v.strided };
}

function pick(from: Record<string, number>, keys: string[]): Record<string, number> {
  return Object.fromEntries(keys.filter((k) => k in from).map((k) => [k, from[k]]));
}

/** A view for a tensor of width d: contiguous, or (strided) padded with an offset, so stray indexing reads NaN. */
function viewFor(pr: Problem, d: number, pad: number): HeadView {
  if (!pr.strided) return contiguousView(pr.H, d);
  return { rowStride: pr.H * (d + pad) + 1, headStride: d + pad, offset: pad + 1 };
}

function viewLength(pr: Problem, view: HeadView, d: number): number {
  return view.offset + (pr.B * pr.S - 1) * view.rowStride + (pr.H - 1) * view.headStride + d;
}

/** Contiguous [B·S, H, d] data placed by `view` into a NaN-filled buffer image. */
function scatter(pr: Problem, data: ArrayLike<number>, d: number, view: HeadView): Float32Array {
  const out = new Float32Array(viewLength(pr, view, d)).fill(NaN);
  forEachRow(pr, d, view, (src, dst) => {
    for (let c = 0; c < d; c++) out[dst + c] = data[src + c];
  });
  return out;
}

function gather(pr: Problem, image: Float32Array, d: number, view: HeadView): Float32Array {
  const out = new Float32Array(pr.B * pr.S * pr.H * d);
  forEachRow(pr, d, view, (src, dst) => {
    for (let c = 0; c < d; c++) out[src + c] = image[dst + c];
  });
  return out;
}

function forEachRow(pr: Problem, d: number, view: HeadView, f: (contiguous: number, viewed: number) => void): void {
  for (let t = 0; t < pr.B * pr.S; t++) {
    for (let h = 0; h < pr.H; h++) f((t * pr.H + h) * d, view.offset + t * view.rowStride + h * view.headStride);
  }
}

interface Inputs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
}

/** q and k at scale 2 make the softmax peaky, so the running-max rescaling matters. */
function randomInputs(pr: Problem, seed: number): Inputs {
  const nqk = pr.B * pr.S * pr.H * pr.dqk;
  const nv = pr.B * pr.S * pr.H * pr.dv;
  return { q: toF32(randomFloats(nqk, seed, 2)), k: toF32(randomFloats(nqk, seed + 1, 2)), v: toF32(randomFloats(nv, seed + 2)) };
}

function pairs(pr: Problem): number {
  return (pr.B * pr.H * pr.S * (pr.S + 1)) / 2;
}

function shapeOf(gpu: Gpu, pr: Problem, pass: 'forward' | 'backward', worst: string): string {
  const { B, S, H, dqk, dv } = pr;
  return `${shapeString({ B, S, H, dqk, dv, ...attentionTiles(gpu, pr, pass) })}${pr.strided ? ' strided' : ''} worst=${worst}`;
}

async function runForwardCheck(gpu: Gpu, v: Variant, opts: CheckOptions = {}): Promise<CheckResult> {
  const pr = problem(v, opts, DEFAULT_FORWARD_TILES);
  const { B, S, H, dqk, dv, scale, tiles } = pr;
  const x = randomInputs(pr, opts.seed ?? 1);
  const views = { q: viewFor(pr, dqk, 2), k: viewFor(pr, dqk, 3), v: viewFor(pr, dv, 2), o: viewFor(pr, dv, 1) };
  const q = gpu.upload('check.attention.q', scatter(pr, x.q, dqk, views.q));
  const k = gpu.upload('check.attention.k', scatter(pr, x.k, dqk, views.k));
  const vb = gpu.upload('check.attention.v', scatter(pr, x.v, dv, views.v));
  // NaN-filled outputs: an element no thread writes fails the comparison.
  const oImage = scatter(pr, new Float32Array(B * S * H * dv).fill(NaN), dv, views.o);
  const o = gpu.upload('check.attention.o', oImage);
  const lse = gpu.upload('check.attention.lse', new Float32Array(B * H * S).fill(NaN));
  const args = { B, S, H, dqk, dv, scale, tiles, q, k, v: vb, o, lse, qView: views.q, kView: views.k, vView: views.v, oView: views.o };
  const d = attentionForward(gpu, args);
  gpu.run('check.attention.forward', [d]);
  const gotO = gather(pr, await gpu.readF32(o, oImage.length), dv, views.o);
  const gotLse = await gpu.readF32(lse, B * H * S);
  const ref = refForward(toF64(x.q), toF64(x.k), toF64(x.v), B, S, H, dqk, dv, scale);
  const { err, worst, pass } = combine({ o: compareArrays(gotO, ref.o), lse: compareArrays(gotLse, ref.lse) });
  const ms = await timeDispatches(gpu, 'attention.forward', [d], opts.reps ?? 3);
  for (const buf of [q, k, vb, o, lse]) buf.destroy();
  return {
    name: `attention.forward${v.suffix}`,
    shape: shapeOf(gpu, pr, 'forward', worst),
    ...err,
    tolerance: TOLERANCE,
    pass,
    ms,
    // Timestamps can round a tiny run to 0 ms.
    gflops: ms > 0 ? (2 * pairs(pr) * (dqk + dv)) / (ms * 1e6) : undefined,
  };
}

async function runBackwardCheck(gpu: Gpu, v: Variant, opts: CheckOptions = {}): Promise<CheckResult> {
  const pr = problem(v, opts, DEFAULT_BACKWARD_TILES);
  const { B, S, H, dqk, dv, scale, tiles } = pr;
  const seed = opts.seed ?? 1;
  const x = randomInputs(pr, seed);
  const dO32 = toF32(randomFloats(B * S * H * dv, seed + 3));
  // The backward is checked on its own: o and lse come from the float64
  // forward, rounded to f32 exactly as they are uploaded.
  const fwd = refForward(toF64(x.q), toF64(x.k), toF64(x.v), B, S, H, dqk, dv, scale);
  const o32 = toF32(fwd.o);
  const lse32 = toF32(fwd.lse);
  const views = {
    q: viewFor(pr, dqk, 2),
    k: viewFor(pr, dqk, 3),
    v: viewFor(pr, dv, 2),
    o: viewFor(pr, dv, 1),
    dO: viewFor(pr, dv, 3),
    dQ: viewFor(pr, dqk, 1),
    dK: viewFor(pr, dqk, 2),
    dV: viewFor(pr, dv, 3),
  };
  const up = (name: string, data: ArrayLike<number>, d: number, view: HeadView) => gpu.upload(`check.attention.${name}`, scatter(pr, data, d, view));
  const nan = (d: number) => new Float32Array(B * S * H * d).fill(NaN);
  const bufs = {
    q: up('q', x.q, dqk, views.q),
    k: up('k', x.k, dqk, views.k),
    v: up('v', x.v, dv, views.v),
    o: up('o', o32, dv, views.o),
    dO: up('dO', dO32, dv, views.dO),
    lse: gpu.upload('check.attention.lse', lse32),
    dQ: up('dQ', nan(dqk), dqk, views.dQ),
    dK: up('dK', nan(dqk), dqk, views.dK),
    dV: up('dV', nan(dv), dv, views.dV),
  };
  const ds = attentionBackward(gpu, {
    B, S, H, dqk, dv, scale, tiles,
    ...bufs,
    qView: views.q, kView: views.k, vView: views.v, oView: views.o,
    dOView: views.dO, dQView: views.dQ, dKView: views.dK, dVView: views.dV,
  });
  gpu.run('check.attention.backward', ds);
  const read = async (buf: GPUBuffer, d: number, view: HeadView) => gather(pr, await gpu.readF32(buf, viewLength(pr, view, d)), d, view);
  const got = { dq: await read(bufs.dQ, dqk, views.dQ), dk: await read(bufs.dK, dqk, views.dK), dv: await read(bufs.dV, dv, views.dV) };
  const ref = refBackward(toF64(x.q), toF64(x.k), toF64(x.v), toF64(o32), toF64(lse32), toF64(dO32), B, S, H, dqk, dv, scale);
  const { err, worst, pass } = combine({
    dq: compareArrays(got.dq, ref.dq),
    dk: compareArrays(got.dk, ref.dk),
    dv: compareArrays(got.dv, ref.dv),
  });
  const ms = await timeDispatches(gpu, 'attention.backward', ds, opts.reps ?? 3);
  for (const buf of Object.values(bufs)) buf.destroy();
  return {
    name: `attention.backward${v.suffix}`,
    shape: shapeOf(gpu, pr, 'backward', worst),
    ...err,
    tolerance: TOLERANCE,
    pass,
    ms,
    gflops: ms > 0 ? (pairs(pr) * (8 * dqk + 6 * dv)) / (ms * 1e6) : undefined,
  };
}

export const attentionChecks: KernelCheck[] = VARIANTS.flatMap((v) => [
  {
    name: `attention.forward${v.suffix}`,
    description: `causal flash attention forward, o and lse each within 1e-4·max|ref|: ${v.description}`,
    run: (gpu: Gpu, opts?: CheckOptions) => runForwardCheck(gpu, v, opts),
  },
  {
    name: `attention.backward${v.suffix}`,
    description: `causal attention backward (dQ pass, dK/dV pass), dq, dk, dv each within 1e-4·max|ref|: ${v.description}`,
    run: (gpu: Gpu, opts?: CheckOptions) => runBackwardCheck(gpu, v, opts),
  },
]);
