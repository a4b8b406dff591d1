import type { Gpu } from '../../gpu/gpu';
import { blockGrid, blockOrigin, elementCount } from '../../demo/blocks';
import { idctBlocks } from '../../demo/dct';
import { demoAggregate, demoApply as demoApplyF64 } from '../../demo/demo.ref';
import { offsetOf, type DemoUpdate } from '../../demo/update-format';
import { decayFactorF32, decodeErrorBound, demoApplyExact } from '../../demo/integer-decode';
import { compareArrays, type CompareResult } from '../testing/compare';
import { mulberry32, randomFloats } from '../testing/random';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, toF32, withinTolerance } from '../check';
import { demoApplySparseCheck } from './demo-apply-sparse.check';
import { demoBatchedCheck } from './demo-batched.check';
import { bitMismatches, flatLayout, flatten, makeUpdates, packInOrder } from './demo-check-common';
import { applyOnce } from './demo-once';
import { demoTable, type DemoTable } from './demo-table';

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
  /** Element offset in the flat parameter buffer. */
  offset: number;
  p0: Float32Array;
  updates: DemoUpdate[];
}

/** Tensors in one table over one flat buffer at 256-byte offsets, NaN between them, as the model's parameters are. */
function layout(shapes: number[][], seed: number): { table: DemoTable; tensors: Tensor[]; flat: Float32Array } {
  const { offsets, total } = flatLayout(shapes);
  const table = demoTable(shapes.map((shape, t) => ({ shape, offset: offsets[t] })), CHUNK, TOPK);
  const tensors = table.tensors.map((e, t) => ({
    shape: e.shape, block: e.block, offset: e.offset,
    p0: toF32(randomFloats(elementCount(e.shape), seed + 10 * t, 0.5)), updates: makeUpdates(e.shape, seed + 10 * t + 1, UPDATES, CHUNK, TOPK),
  }));
  return { table, tensors, flat: flatten(tensors.map((t) => t.p0), offsets, total) };
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
  const { table, tensors, flat } = layout(tensorShapes(opts), seed);
  const decay = decayFactorF32(LR, WEIGHT_DECAY);

  // Run 1 in slot order, run 2 in a permuted order from the same parameters (timed).
  const orders = [Array.from({ length: UPDATES }, (_, i) => i), permutation(UPDATES, seed + 7)];
  const outputs: Float32Array[] = [];
  let ms = Number.NaN;
  for (const [i, order] of orders.entries()) {
    const run = { lr: LR, decay, param: flat, packed: packInOrder(table, tensors, order), updates: UPDATES, timeReps: i === 1 ? (opts.reps ?? 3) : undefined };
    const got = await applyOnce(gpu, table, run);
    outputs.push(got.param);
    ms = got.ms;
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
      'DeMo steps 1, 8, 9 (decay, integer aggregate, i32 inverse DCT, sign step) batched over one table of [37,52], [97], [120] and [128,96] in one flat buffer, 4 updates from demoCompress: bit for bit equal to demoApplyExact in slot order and in a permuted order, the NaN guards between the tensors untouched; signs equal the float64 demoApply wherever |idct(A)| exceeds decodeErrorBound; timed: the whole table',
    run: runApplyCheck,
  },
  demoApplySparseCheck,
  demoBatchedCheck,
];
