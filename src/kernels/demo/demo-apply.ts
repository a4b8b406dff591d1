import code from '../../../shaders/demo_apply.wgsl?raw';
import type { Binding, Dispatch, Gpu } from '../../gpu/gpu';
import { blockGrid, keptPerBlock, type BlockGrid } from '../../demo/blocks';
import { checkUpdate, type DemoUpdate } from '../../demo/demo.ref';
import { MAX_UPDATES, quantizedBasis } from '../../demo/integer-decode';
import { DEMO_WG, demoBlockGrid, demoPasses, demoScratchBytes, type DemoTensorArgs } from './demo-layout';

export { DEMO_MAX_BLOCK_SIDE } from './demo-layout';

/** Threads per workgroup, one tensor element each. */
export const DEMO_APPLY_WG = DEMO_WG;

export interface DemoApplyArgs extends DemoTensorArgs {
  /** k as the updates carry it: keptPerBlock(block elements, topk). */
  k: number;
  /** M, the number of agreed updates in `indices` and `signs` (0 leaves only the decay). */
  updates: number;
  /** η as exact f32 bits (the coordinator's value). */
  lr: number;
  /** decayFactorF32(lr, weightDecay): computed on the CPU so the shader cannot fuse 1 − η·λ. */
  decay: number;
  /** f32 [R·C], this tensor's range of the flat parameter buffer, updated in place. */
  param: Binding;
  /** u32 [M, blockCount, k]: per update, per block, the kept flat indices strictly ascending (packDemoUpdates). */
  indices: Binding;
  /** i32 [M, blockCount, k]: the matching ±1 values (packDemoUpdates). */
  signs: Binding;
  /** i32 [cr, cr]: demoBasisBuffer(gpu, cr). */
  basisRows: Binding;
  /** i32 [cc, cc]: demoBasisBuffer(gpu, cc) (the same buffer when cr = cc). */
  basisCols: Binding;
  /** Scratch of demoApplyScratchBytes(R·C) bytes. */
  scratch: Binding;
}

/** Bytes of scratch `demoApply` needs for a tensor of n elements: Aq and T, i32 each. */
export function demoApplyScratchBytes(n: number): number {
  return demoScratchBytes(n);
}

/** The quantized basis round(2^8·C_n) as an i32 [n, n] buffer; upload once per block size and reuse. */
export function demoBasisBuffer(gpu: Gpu, n: number): GPUBuffer {
  return gpu.upload(`demo.basis${n}`, quantizedBasis(n));
}

/**
 * The round's agreed updates in the GPU layout: indices u32 and signs i32
 * [M, blockCount, k], in the given order (any order gives the same result).
 * Each update is validated first (lengths, indices in range and strictly
 * ascending, values ±1): the kernel trusts its input, and a repeated index
 * would be counted twice.
 */
export function packDemoUpdates(
  updates: readonly DemoUpdate[],
  shape: readonly number[],
  block: readonly number[],
  topk: number,
): { indices: Uint32Array; signs: Int32Array; k: number } {
  const grid = blockGrid(shape, block);
  const k = keptPerBlock(grid.size, topk);
  const per = grid.count * k;
  const indices = new Uint32Array(updates.length * per);
  const signs = new Int32Array(updates.length * per);
  updates.forEach((u, m) => {
    checkUpdate('packDemoUpdates', u, m, grid, k, true);
    indices.set(u.indices, m * per);
    for (let i = 0; i < per; i++) signs[m * per + i] = u.values[i];
  });
  return { indices, signs, k };
}

/**
 * `demo.aggregate`, `demo.inverse_rows`, `demo.apply`: DESIGN.md §4 steps 1,
 * 8 and 9 for one tensor, giving exactly demoApplyExact's bits (integer
 * direction, decay stored before the step). Record the three in order.
 */
export function demoApply(gpu: Gpu, args: DemoApplyArgs): Dispatch[] {
  const grid = checkArgs(args);
  const pass = demoPasses(gpu, code, args, grid, args);
  return [
    pass('demo.aggregate', 'aggregate', [args.param, args.scratch, args.indices, args.signs]),
    pass('demo.inverse_rows', 'inverseRows', [args.scratch, args.basisRows]),
    pass('demo.apply', 'apply', [args.param, args.scratch, args.basisCols]),
  ];
}

function checkArgs(args: DemoApplyArgs): BlockGrid {
  const grid = demoBlockGrid('demoApply', args, ', where i32 is no longer proven not to wrap');
  if (!Number.isInteger(args.k) || args.k < 1 || args.k > grid.size) {
    throw new RangeError(`demoApply: k must be an integer in [1, ${grid.size}], got ${args.k}`);
  }
  if (!Number.isInteger(args.updates) || args.updates < 0 || args.updates >= MAX_UPDATES) {
    throw new RangeError(`demoApply: updates must be an integer in [0, ${MAX_UPDATES}), got ${args.updates}`);
  }
  if (!Number.isFinite(args.lr) || Math.fround(args.lr) !== args.lr) throw new RangeError(`demoApply: lr ${args.lr} is not exactly a finite float32`);
  if (!Number.isFinite(args.decay) || Math.fround(args.decay) !== args.decay) {
    throw new RangeError(`demoApply: decay ${args.decay} is not exactly a finite float32 (use decayFactorF32)`);
  }
  return grid;
}
