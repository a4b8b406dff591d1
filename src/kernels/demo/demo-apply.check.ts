import type { Binding, Gpu } from '../../gpu/gpu';
import { blockGrid, blockOrigin, blockShape, elementCount } from '../../demo/blocks';
import { idctBlocks } from '../../demo/dct';
import { demoAggregate, demoApply as demoApplyF64, demoCompress, offsetOf, type DemoUpdate } from '../../demo/demo.ref';
import { decayFactorF32, decodeErrorBound, demoApplyExact } from '../../demo/integer-decode';
import { compareArrays, type CompareResult } from '../testing/compare';
import { mulberry32, randomFloats } from '../testing/random';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, timeDispatches, toF32, withinTolerance } from '../check';
import { demoApply, demoApplyScratchBytes, demoBasisBuffer, packDemoUpdates } from './demo-apply';

const CHUNK = 64;
const TOPK = 8;
const UPDATES = 4;
/** An f32 η large enough that ±η moves every element visibly; λ as in real runs. */
const LR = Math.fround(3e-3);
const WEIGHT_DECAY = 0.1;
/** Bit-exact: 0 error allowed (withinTolerance accepts 0 ≤ 0·max|ref|). */
const tolerance = { kind: 'absScaled', value: 0 } as const;

/**
 * Awkward tensors: [37, 52] is one 37×52 block (no divisor ≤ 64 but itself),
 * [97] is prime so its blocks are single elements (k = 1), [120] has blocks
 * of 60, and [R, C] = [128, 96] has several 64×48 blocks (`shape.R`, `shape.C`
 * override it).
 */
function tensorShapes(opts: CheckOptions): number[][] {
  return [[37, 52], [97], [120], [opts.shape?.R ?? 128, opts.shape?.C ?? 96]];
}

/**
 * Updates from the reference compressor on correlated random gradients: a
 * shared part (negated in the last update) makes updates keep the same
 * coefficients often with mixed signs, so the fixed-point mean sees m = 1..4
 * and non-integer quotients like 2^5·1/3.
 */
function makeUpdates(shape: number[], seed: number): DemoUpdate[] {
  const n = elementCount(shape);
  const shared = randomFloats(n, seed, 1);
  return Array.from({ length: UPDATES }, (_, m) => {
    const noise = randomFloats(n, seed + 100 + m, 0.5);
    const sign = m === UPDATES - 1 ? -1 : 1;
    const grad = shared.map((x, i) => sign * x + noise[i]);
    const args = { shape, grad, momentum: new Float64Array(n), lr: 1, decay: 0.999, chunk: CHUNK, topk: TOPK, quantize1bit: true };
    const { indices, values } = demoCompress(args);
    return { indices, values };
  });
}

/** A fixed shuffle of [0, n) that is not the identity (for n > 1). */
function permutation(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.every((v, i) => v === i) ? order.reverse() : order;
}

interface Tensor {
  shape: number[];
  block: number[];
  /** Element offset in the flat parameter buffer: a multiple of 64 (256 bytes). */
  offset: number;
  p0: Float32Array;
  updates: DemoUpdate[];
}

/** Tensors laid out in one flat buffer at 256-byte offsets, NaN between them, as the model's parameters are. */
function layout(shapes: number[][], seed: number): { tensors: Tensor[]; total: number } {
  let offset = 64;
  const tensors = shapes.map((shape, t) => {
    const n = elementCount(shape);
    const tensor = { shape, block: blockShape(shape, CHUNK), offset, p0: toF32(randomFloats(n, seed + 10 * t, 0.5)), updates: makeUpdates(shape, seed + 10 * t + 1) };
    offset += Math.ceil((n + 1) / 64) * 64;
    return tensor;
  });
  return { tensors, total: offset + 64 };
}

function flatParams(tensors: Tensor[], total: number): Float32Array {
  const flat = new Float32Array(total).fill(Number.NaN);
  for (const t of tensors) flat.set(t.p0, t.offset);
  return flat;
}

/** Everything one tensor's apply needs on the GPU, for a given update order. */
function gpuInputs(gpu: Gpu, t: Tensor, order: number[], param: GPUBuffer, basis: (n: number) => GPUBuffer) {
  const n = elementCount(t.shape);
  const grid = blockGrid(t.shape, t.block);
  const packed = packDemoUpdates(order.map((i) => t.updates[i]), t.shape, t.block, TOPK);
  const indices = gpu.upload('check.demo.indices', packed.indices);
  const signs = gpu.upload('check.demo.signs', packed.signs);
  const scratch = gpu.buffer('check.demo.scratch', demoApplyScratchBytes(n));
  const paramRange: Binding = { buffer: param, offset: t.offset * 4, size: n * 4 };
  const args = {
    shape: t.shape, block: t.block, k: packed.k, updates: order.length, lr: LR, decay: decayFactorF32(LR, WEIGHT_DECAY),
    param: paramRange, indices, signs, scratch, basisRows: basis(grid.cr), basisCols: basis(grid.cc),
  };
  return { args, owned: [indices, signs, scratch] };
}

/** Bits of `got` that differ from `want`. */
function bitMismatches(got: Float32Array, want: Float32Array): number {
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  let bad = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) bad++;
  return bad;
}

/**
 * Against the float64 demoApply: where |idct(A)| exceeds decodeErrorBound for
 * its block, the exact sign must equal the float64 sign. Returns how many
 * elements were that clear and how many of those disagreed.
 */
function signAgreement(t: Tensor, got: Float32Array): { clear: number; wrong: number } {
  const grid = blockGrid(t.shape, t.block);
  const agg = demoAggregate(t.updates, t.shape, t.block, TOPK);
  const direction = idctBlocks(agg, t.shape, t.block);
  const ref = demoApplyF64({ param: t.p0, shape: t.shape, updates: t.updates, lr: LR, chunk: CHUNK, topk: TOPK, weightDecay: WEIGHT_DECAY });
  const factor = 1 - LR * WEIGHT_DECAY;
  const decay = decayFactorF32(LR, WEIGHT_DECAY);
  let clear = 0;
  let wrong = 0;
  for (let b = 0; b < grid.count; b++) {
    const o = blockOrigin(grid, b);
    let nonzeros = 0;
    for (let f = 0; f < grid.size; f++) if (agg[offsetOf(grid, o, f)] !== 0) nonzeros++;
    const bound = decodeErrorBound(grid.cr, grid.cc, nonzeros);
    for (let f = 0; f < grid.size; f++) {
      const i = offsetOf(grid, o, f);
      if (Math.abs(direction[i]) <= bound) continue;
      clear++;
      const refSign = Math.sign(t.p0[i] * factor - ref[i]);
      const decayed = Math.fround(t.p0[i] * decay);
      const gpuSign = got[i] === decayed ? 0 : got[i] < decayed ? 1 : -1;
      if (gpuSign !== refSign) wrong++;
    }
  }
  return { clear, wrong };
}

function worst(results: CompareResult[]): CompareResult {
  return {
    maxAbsErr: Math.max(...results.map((r) => r.maxAbsErr)),
    maxRelErr: Math.max(...results.map((r) => r.maxRelErr)),
    maxAbsRef: Math.max(...results.map((r) => r.maxAbsRef)),
  };
}

async function runApplyCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const seed = opts.seed ?? 1;
  const { tensors, total } = layout(tensorShapes(opts), seed);
  const flat = flatParams(tensors, total);
  const param = gpu.upload('check.demo.param', flat);
  const bases = new Map<number, GPUBuffer>();
  const basis = (n: number) => bases.get(n) ?? bases.set(n, demoBasisBuffer(gpu, n)).get(n)!;
  const owned: GPUBuffer[] = [param];

  // Run 1 in slot order, run 2 in a permuted order from the same parameters.
  const orders = [Array.from({ length: UPDATES }, (_, i) => i), permutation(UPDATES, seed + 7)];
  const outputs: Float32Array[] = [];
  let timed: ReturnType<typeof demoApply> = [];
  for (const order of orders) {
    gpu.write(param, flat);
    const dispatches = tensors.flatMap((t) => {
      const inputs = gpuInputs(gpu, t, order, param, basis);
      owned.push(...inputs.owned);
      return demoApply(gpu, inputs.args);
    });
    gpu.run('check.demo.apply', dispatches);
    outputs.push(await gpu.readF32(param, total));
    timed = dispatches.slice(-3);
  }

  const errors: CompareResult[] = [];
  let mismatched = 0;
  let clear = 0;
  let wrong = 0;
  let elements = 0;
  for (const t of tensors) {
    const n = elementCount(t.shape);
    const want = demoApplyExact({ param: t.p0, shape: t.shape, updates: t.updates, lr: LR, chunk: CHUNK, topk: TOPK, weightDecay: WEIGHT_DECAY });
    const [first, second] = outputs.map((o) => o.slice(t.offset, t.offset + n));
    errors.push(compareArrays(first, want), compareArrays(second, want));
    mismatched += bitMismatches(first, want) + bitMismatches(second, first);
    const agreement = signAgreement(t, first);
    clear += agreement.clear;
    wrong += agreement.wrong;
    elements += n;
  }
  // The NaN guards around every range must be untouched.
  const guardsIntact = outputs.every((o) => tensors.every((t) => Number.isNaN(o[t.offset - 1]) && Number.isNaN(o[t.offset + elementCount(t.shape)])));
  const checked = worst(errors);

  const ms = await timeDispatches(gpu, 'demo.apply', timed, opts.reps ?? 3);
  for (const b of [...owned, ...bases.values()]) b.destroy();
  const agreementPct = clear === 0 ? 'n/a' : `${((100 * (clear - wrong)) / clear).toFixed(2)}%`;
  const shape = shapeString({ updates: UPDATES, chunk: CHUNK, topk: TOPK, elements, bitMismatches: mismatched });
  const tensorsText = tensors.map((t) => `[${t.shape.join(',')}]/[${t.block.join(',')}]`).join(' ');
  return {
    name: 'demo.apply',
    shape: `${tensorsText} ${shape} float64-sign-agreement=${agreementPct} of ${clear}/${elements} beyond the decode bound`,
    ...checked,
    tolerance,
    pass: withinTolerance(tolerance, checked) && mismatched === 0 && wrong === 0 && guardsIntact,
    ms,
  };
}

export const demoApplyChecks: KernelCheck[] = [
  {
    name: 'demo.apply',
    description:
      'DeMo steps 1, 8, 9 (decay, integer aggregate, i32 inverse DCT, sign step) on [37,52], [97], [120] and [128,96] ranges of one flat buffer, 4 updates from demoCompress: bit for bit equal to demoApplyExact in slot order and in a permuted order; signs equal the float64 demoApply wherever |idct(A)| exceeds decodeErrorBound',
    run: runApplyCheck,
  },
];
