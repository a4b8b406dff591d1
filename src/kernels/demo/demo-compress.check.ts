import type { Gpu } from '../../gpu/gpu';
import { blockOrigin, elementCount, type BlockGrid } from '../../demo/blocks';
import { dctBlocks, idctBlocks } from '../../demo/dct';
import { demoCompress as demoCompressF64 } from '../../demo/demo.ref';
import { offsetOf } from '../../demo/update-format';
import { compareArrays, type CompareResult } from '../testing/compare';
import { randomFloats } from '../testing/random';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, toF32, withinTolerance } from '../check';
import { bitMismatches, flatLayout, flatten } from './demo-check-common';
import { compressOnce, type CompressOutput } from './demo-once';
import { demoTable, type DemoTable } from './demo-table';

const CHUNK = 64;
const TOPK = 8;
const LR = Math.fround(3e-3);
const DECAY = Math.fround(0.999);
/** DCT chains in f32: momentum and unquantized values within 1e-4·max|ref|. */
const tolerance = { kind: 'absScaled', value: 1e-4 } as const;
/**
 * Two kept sets may differ only where the coefficients swapped in and out are
 * this close (relative to the block's max |Y|): a few f32 roundings of the
 * two-pass DCT, far below any real gap.
 */
const SWAP_EPS = 1e-5;

/**
 * [37, 52] is one 37×52 block, [120] has 1-D blocks of 60, [R, C] = [128, 96]
 * has several 64×48 blocks (`shape.R`, `shape.C` override it). [12, 10] gets
 * zero gradient and momentum: every |Y| ties at 0, so the kept set must be the
 * lowest k indices and every value +1.
 */
function tensorShapes(opts: CheckOptions): number[][] {
  return [[37, 52], [120], [opts.shape?.R ?? 128, opts.shape?.C ?? 96], TIED_SHAPE];
}

const TIED_SHAPE = [12, 10];

interface Tensor {
  shape: number[];
  block: number[];
  grid: BlockGrid;
  k: number;
  /** Element offset in the flat gradient/momentum buffers, and first entry in the outputs. */
  offset: number;
  out: number;
  grad: Float32Array;
  momentum: Float32Array;
}

/** The tensors in one table over one flat buffer (NaN between them), with their random gradients and momenta. */
function layout(shapes: number[][], seed: number): { table: DemoTable; tensors: Tensor[]; grad: Float32Array; momentum: Float32Array } {
  const { offsets, total } = flatLayout(shapes);
  const table = demoTable(shapes.map((shape, t) => ({ shape, offset: offsets[t] })), CHUNK, TOPK);
  const tensors = table.tensors.map((e, t) => {
    const n = elementCount(e.shape);
    // Momenta a few hundred steps' worth of gradients in size, so decay and new gradient both matter.
    const scale = shapes[t] === TIED_SHAPE ? 0 : 1;
    const grad = toF32(randomFloats(n, seed + 10 * t, scale));
    const momentum = toF32(randomFloats(n, seed + 10 * t + 1, 0.05 * scale));
    return { shape: e.shape, block: e.block, grid: e.grid, k: e.k, offset: e.offset, out: e.out, grad, momentum };
  });
  const flat = (pick: (t: Tensor) => Float32Array) => flatten(tensors.map(pick), offsets, total);
  return { table, tensors, grad: flat((t) => t.grad), momentum: flat((t) => t.momentum) };
}

interface GpuOutput {
  indices: Uint32Array;
  values: Float32Array;
  momentum: Float32Array;
}

/** What the float64 reference says for the GPU's choice of kept set: δ, Y, and δ minus idct of Y on those indices. */
function referenceFor(t: Tensor, indices: Uint32Array): { y: Float64Array; momentum: Float64Array } {
  const n = elementCount(t.shape);
  const delta = new Float64Array(n);
  for (let i = 0; i < n; i++) delta[i] = DECAY * t.momentum[i] + LR * t.grad[i];
  const y = dctBlocks(delta, t.shape, t.block);
  const kept = new Float64Array(n);
  for (let b = 0; b < t.grid.count; b++) {
    const o = blockOrigin(t.grid, b);
    for (let s = 0; s < t.k; s++) {
      const at = offsetOf(t.grid, o, indices[b * t.k + s]);
      kept[at] = y[at];
    }
  }
  const sent = idctBlocks(kept, t.shape, t.block);
  for (let i = 0; i < n; i++) delta[i] -= sent[i];
  return { y, momentum: delta };
}

interface Verdict {
  swaps: number;
  badSwaps: number;
  badSigns: number;
  values: CompareResult;
  momentum: CompareResult;
}

/**
 * Kept sets equal demoCompress's except for near-ties (counted in swaps);
 * values against Y at the GPU's indices; momentum against the reference's
 * feedback of the GPU's kept set (identical to demoCompress's when no swap).
 */
function judge(t: Tensor, got: GpuOutput, quantize: boolean): Verdict {
  const want = demoCompressF64({ shape: t.shape, grad: t.grad, momentum: t.momentum, lr: LR, decay: DECAY, chunk: CHUNK, topk: TOPK, quantize1bit: quantize });
  const ref = referenceFor(t, got.indices);
  let swaps = 0;
  let badSwaps = 0;
  let badSigns = 0;
  const valueRef = new Float64Array(got.values.length);
  for (let b = 0; b < t.grid.count; b++) {
    const o = blockOrigin(t.grid, b);
    const mag = (f: number) => Math.abs(ref.y[offsetOf(t.grid, o, f)]);
    let blockMax = 0;
    for (let f = 0; f < t.grid.size; f++) blockMax = Math.max(blockMax, mag(f));
    const mine = Array.from(got.indices.subarray(b * t.k, (b + 1) * t.k));
    const theirs = Array.from(want.indices.subarray(b * t.k, (b + 1) * t.k));
    const extra = mine.filter((f) => !theirs.includes(f));
    const missing = theirs.filter((f) => !mine.includes(f));
    const ascending = mine.every((f, s) => f < t.grid.size && (s === 0 || f > mine[s - 1]));
    if (!ascending) badSwaps++;
    for (let s = 0; s < extra.length; s++) {
      swaps++;
      // An exact float64 tie has a defined winner (the lower index), so only a near-tie may swap.
      const gap = Math.abs(mag(extra[s]) - mag(missing[s]));
      if (gap === 0 || gap > SWAP_EPS * blockMax) badSwaps++;
    }
    for (let s = 0; s < t.k; s++) {
      const y = ref.y[offsetOf(t.grid, o, mine[s])];
      const v = got.values[b * t.k + s];
      valueRef[b * t.k + s] = quantize ? (y < 0 ? -1 : 1) : y;
      if (quantize && v !== valueRef[b * t.k + s]) badSigns++;
    }
  }
  return { swaps, badSwaps, badSigns, values: compareArrays(got.values, valueRef), momentum: compareArrays(got.momentum, ref.momentum) };
}

function worst(results: CompareResult[]): CompareResult {
  return {
    maxAbsErr: Math.max(...results.map((r) => r.maxAbsErr)),
    maxRelErr: Math.max(...results.map((r) => r.maxRelErr)),
    maxAbsRef: Math.max(...results.map((r) => r.maxAbsRef)),
  };
}

/** Worst error scaled by its own max|ref|, so the momentum and value comparisons of different tensors combine into one number. */
function scaled(r: CompareResult): number {
  return r.maxAbsErr / Math.max(r.maxAbsRef, 1e-30);
}

/** Tensor t's share of a whole-table output. */
function share(t: Tensor, got: CompressOutput): GpuOutput {
  const entries = t.grid.count * t.k;
  return {
    indices: got.indices.subarray(t.out, t.out + entries),
    values: got.values.subarray(t.out, t.out + entries),
    momentum: got.momentum.subarray(t.offset, t.offset + elementCount(t.shape)),
  };
}

async function runCompressCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const seed = opts.seed ?? 1;
  const { table, tensors, grad, momentum } = layout(tensorShapes(opts), seed);
  const comparisons: CompareResult[] = [];
  let swaps = 0;
  let badSwaps = 0;
  let badSigns = 0;
  let nondeterministic = 0;
  let worstScaled = 0;
  let guardsIntact = true;
  let ms = Number.NaN;
  for (const quantize1bit of [true, false]) {
    // Two runs from the same momentum: same bits expected. The last one is timed.
    const run = { quantize1bit, lr: LR, decay: DECAY, grad, momentum };
    const first = await compressOnce(gpu, table, run);
    const second = await compressOnce(gpu, table, { ...run, timeReps: quantize1bit ? undefined : (opts.reps ?? 3) });
    ms = second.ms;
    nondeterministic += bitMismatches(first.indices, second.indices) + bitMismatches(first.values, second.values) + bitMismatches(first.momentum, second.momentum);
    // Nothing between the tensors' ranges may be written.
    guardsIntact &&= tensors.every((t) => Number.isNaN(first.momentum[t.offset - 1]) && Number.isNaN(first.momentum[t.offset + elementCount(t.shape)]));
    for (const t of tensors) {
      const v = judge(t, share(t, first), quantize1bit);
      swaps += v.swaps;
      badSwaps += v.badSwaps;
      badSigns += v.badSigns;
      comparisons.push(v.momentum);
      worstScaled = Math.max(worstScaled, scaled(v.momentum), quantize1bit ? 0 : scaled(v.values));
    }
  }
  // Report the worst per-comparison ratio as maxAbsErr against a max|ref| of 1, so the shared tolerance reads directly.
  const summary = { ...worst(comparisons), maxAbsErr: worstScaled, maxAbsRef: 1 };
  const tensorsText = tensors.map((t) => `[${t.shape.join(',')}]/[${t.block.join(',')}]`).join(' ');
  const shape = shapeString({ chunk: CHUNK, topk: TOPK, nearTieSwaps: swaps, badSwaps, badSigns, nondeterministic });
  return {
    name: 'demo.compress',
    shape: `${tensorsText} 1bit=on,off ${shape}`,
    ...summary,
    tolerance,
    pass: withinTolerance(tolerance, summary) && badSwaps === 0 && badSigns === 0 && nondeterministic === 0 && guardsIntact,
    ms,
  };
}

export const demoCompressChecks: KernelCheck[] = [
  {
    name: 'demo.compress',
    description:
      'DeMo steps 2–7 (momentum, f32 block DCT, per-block top-k ties to the lower index, ±1 or raw values, error feedback) batched over one table of [37,52], [120], [128,96] and an all-zero [12,10] (exact ties) in one flat buffer, β=0.999, η=3e-3, k=8, 1-bit on and off, against the float64 demoCompress: kept sets identical except near-ties (|Y| unequal but within 1e-5·block max, counted; exact ties must go to the lower index), signs identical, raw values and new momentum within 1e-4·max|ref| (reported as maxAbsErr/max|ref| of the worst comparison, max|ref| shown as 1), two runs bit-identical, the NaN guards between the tensors untouched; timed: the whole table',
    run: runCompressCheck,
  },
];
