import type { Gpu } from '../../gpu/gpu';
import { elementCount } from '../../demo/blocks';
import { decayFactorF32, demoApplyExact } from '../../demo/integer-decode';
import { compareArrays, type CompareResult } from '../testing/compare';
import { randomFloats } from '../testing/random';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, toF32, withinTolerance } from '../check';
import { bitMismatches, flatLayout, flatten, makeUpdates, packInOrder } from './demo-check-common';
import { applyOnce, compressOnce } from './demo-once';
import { demoTable, type DemoTableTensor } from './demo-table';

const CHUNK = 64;
const TOPK = 8;
const UPDATES = 3;
const LR = Math.fround(3e-3);
const DECAY = Math.fround(0.999);
const WEIGHT_DECAY = 0.1;
/** Bit-exact: 0 error allowed. */
const tolerance = { kind: 'absScaled', value: 0 } as const;
/**
 * The batched runs pretend the device allows 16 workgroups per dimension, so
 * both grids fold into 2-D with spare groups at the end (73 element groups
 * → 15×5, 108 blocks → 16×7).
 */
const GRID_LIMIT = 16;

/**
 * Awkward neighbours in one table: one 37×52 block, 97 one-element blocks
 * (k = 1), 1-D blocks of 60, several 64×48 blocks, one full 64×64 block, a
 * lone element, a zero tensor (all |Y| tie), a 3×1 column (k = 3 < topk).
 */
const SHAPES = [[37, 52], [97], [120], [128, 96], [64, 64], [1], [12, 10], [3, 1]];
const ZERO_SHAPE = 6;

interface Mismatches {
  bits: number;
  errors: CompareResult[];
}

function compareExactly(into: Mismatches, got: Float32Array | Uint32Array, want: Float32Array | Uint32Array): void {
  into.bits += bitMismatches(got, want);
  into.errors.push(compareArrays(got, want));
}

/** Tensor t's range of a flat buffer. */
function range(flat: Float32Array, t: DemoTableTensor): Float32Array {
  return flat.subarray(t.offset, t.offset + elementCount(t.shape));
}

function guardsIntact(flat: Float32Array, tensors: readonly DemoTableTensor[]): boolean {
  return tensors.every((t) => Number.isNaN(flat[t.offset - 1]) && Number.isNaN(flat[t.offset + elementCount(t.shape)]));
}

/**
 * Compress of the whole table (folded grids) against each tensor compressed
 * alone through a one-row table: indices, values and momentum bit for bit.
 */
async function compressBatchedVsAlone(gpu: Gpu, seed: number, out: Mismatches, reps: number): Promise<{ guards: boolean; ms: number }> {
  const { offsets, total } = flatLayout(SHAPES);
  const table = demoTable(SHAPES.map((shape, t) => ({ shape, offset: offsets[t] })), CHUNK, TOPK);
  const scale = (t: number) => (t === ZERO_SHAPE ? 0 : 1);
  const grad = flatten(SHAPES.map((s, t) => toF32(randomFloats(elementCount(s), seed + 10 * t, scale(t)))), offsets, total);
  const momentum = flatten(SHAPES.map((s, t) => toF32(randomFloats(elementCount(s), seed + 10 * t + 1, 0.05 * scale(t)))), offsets, total);
  let guards = true;
  let ms = Number.NaN;
  for (const quantize1bit of [true, false]) {
    const run = { quantize1bit, lr: LR, decay: DECAY, grad, momentum };
    const all = await compressOnce(gpu, table, { ...run, gridLimit: GRID_LIMIT, timeReps: quantize1bit ? reps : undefined });
    if (quantize1bit) ms = all.ms;
    guards &&= guardsIntact(all.momentum, table.tensors);
    for (const t of table.tensors) {
      const alone = await compressOnce(gpu, demoTable([{ shape: t.shape, offset: t.offset }], CHUNK, TOPK), run);
      compareExactly(out, all.indices.subarray(t.out, t.out + t.entries), alone.indices);
      compareExactly(out, all.values.subarray(t.out, t.out + t.entries), alone.values);
      compareExactly(out, range(all.momentum, t), range(alone.momentum, t));
    }
  }
  return { guards, ms };
}

/** Apply of the whole table (folded grids) against demoApplyExact of each tensor, bit for bit. */
async function applyBatchedVsExact(gpu: Gpu, seed: number, out: Mismatches): Promise<boolean> {
  const { offsets, total } = flatLayout(SHAPES);
  const table = demoTable(SHAPES.map((shape, t) => ({ shape, offset: offsets[t] })), CHUNK, TOPK);
  const tensors = table.tensors.map((t, i) => ({
    p0: toF32(randomFloats(elementCount(t.shape), seed + 20 * i, 0.5)),
    updates: makeUpdates(t.shape, seed + 20 * i + 1, UPDATES, CHUNK, TOPK),
  }));
  const param = flatten(tensors.map((t) => t.p0), offsets, total);
  const order = Array.from({ length: UPDATES }, (_, i) => i);
  const run = { lr: LR, decay: decayFactorF32(LR, WEIGHT_DECAY), param, packed: packInOrder(table, tensors, order), updates: UPDATES, gridLimit: GRID_LIMIT };
  const got = (await applyOnce(gpu, table, run)).param;
  table.tensors.forEach((t, i) => {
    const { p0, updates } = tensors[i];
    const want = demoApplyExact({ param: p0, shape: t.shape, updates, lr: LR, chunk: CHUNK, topk: TOPK, weightDecay: WEIGHT_DECAY });
    compareExactly(out, range(got, t), want);
  });
  return guardsIntact(got, table.tensors);
}

async function runBatchedCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const seed = opts.seed ?? 1;
  const compress: Mismatches = { bits: 0, errors: [] };
  const apply: Mismatches = { bits: 0, errors: [] };
  const c = await compressBatchedVsAlone(gpu, seed, compress, opts.reps ?? 3);
  const applyGuards = await applyBatchedVsExact(gpu, seed, apply);
  const errors = [...compress.errors, ...apply.errors];
  const summary = {
    maxAbsErr: Math.max(...errors.map((e) => e.maxAbsErr)),
    maxRelErr: Math.max(...errors.map((e) => e.maxRelErr)),
    maxAbsRef: Math.max(...errors.map((e) => e.maxAbsRef)),
  };
  const shapes = SHAPES.map((s) => `[${s.join(',')}]`).join(' ');
  const counts = shapeString({ tensors: SHAPES.length, gridLimit: GRID_LIMIT, compressBitMismatches: compress.bits, applyBitMismatches: apply.bits });
  return {
    name: 'demo.batched',
    shape: `${shapes} ${counts}`,
    ...summary,
    tolerance,
    pass: withinTolerance(tolerance, summary) && compress.bits === 0 && apply.bits === 0 && c.guards && applyGuards,
    ms: c.ms,
  };
}

export const demoBatchedCheck: KernelCheck = {
  name: 'demo.batched',
  description:
    'DeMo compress and apply over one tensor table of [37,52], [97], [120], [128,96], [64,64], [1], an all-zero [12,10] and [3,1] in one flat buffer, grids folded at 16 workgroups per dimension: compress (1-bit on and off) bit for bit equal to each tensor compressed alone through a one-row table; apply (3 updates, λ=0.1) bit for bit equal to demoApplyExact per tensor; the NaN guards between tensors untouched; timed: the batched compress',
  run: runBatchedCheck,
};
