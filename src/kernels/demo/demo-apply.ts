import code from '../../../shaders/demo_apply.wgsl?raw';
import type { Binding, Dispatch, Gpu } from '../../gpu/gpu';
import { checkUpdate, type DemoUpdate } from '../../demo/update-format';
import { MAX_UPDATES, quantizedBasis } from '../../demo/integer-decode';
import { demoPasses, demoScratchBytes, requireWords, type DemoTableArgs } from './demo-layout';
import { concatBases, type DemoTable } from './demo-table';

export interface DemoApplyArgs extends DemoTableArgs {
  /** M, the number of agreed updates in `indices` and `signs` (0 leaves only the decay). */
  updates: number;
  /** η as exact f32 bits (the coordinator's value). */
  lr: number;
  /** decayFactorF32(lr, weightDecay): computed on the CPU so the shader cannot fuse 1 − η·λ. */
  decay: number;
  /** f32, the flat parameter buffer: each tensor at its table offset, updated in place. */
  param: Binding;
  /** u32 [M, table.entries] (packDemoUpdates). */
  indices: Binding;
  /** i32 [M, table.entries]: the matching ±1 values (packDemoUpdates). */
  signs: Binding;
  /** i32: demoBasisBuffer(gpu, table). */
  basis: Binding;
  /** Two buffers of demoApplyScratchBytes(table) bytes each (sign sums and column masks; counts and row masks). Only the words of kept coefficients are used, cleared first. */
  scratch: readonly [Binding, Binding];
}

/** One update's share for one tensor: k indices per block, ascending, and their ±1 values. */
export interface DemoTensorUpdate {
  indices: Uint32Array;
  values: ArrayLike<number>;
}

/**
 * Bytes of each of the two scratch buffers `demoApply` needs: per element of
 * the table a sign sum (then Aq) and a count, then the kept-coefficient
 * bitmasks (per block its columns, in the first; per block column its rows,
 * in the second; the larger sets the size of both).
 */
export function demoApplyScratchBytes(table: DemoTable): number {
  return demoScratchBytes(table) + table.maskWords * 4;
}

/** The quantized bases round(2^8·C_n) of every block side of `table`, concatenated as i32; upload once per table. */
export function demoBasisBuffer(gpu: Gpu, table: DemoTable): GPUBuffer {
  return gpu.upload('demo.basis', concatBases(table, new Int32Array(table.basisLength), quantizedBasis));
}

/**
 * The round's agreed updates (each a list of its tensors in table order) in
 * the GPU layout: indices u32 and signs i32 [M, table.entries], in the given
 * order (any order gives the same result). Every tensor of every update is
 * validated first (lengths, indices in range and strictly ascending, values
 * ±1): the kernel trusts its input, and a repeated index would be counted
 * twice. Throws before returning anything.
 */
export function packDemoUpdates(table: DemoTable, updates: readonly (readonly DemoTensorUpdate[])[]): { indices: Uint32Array; signs: Int32Array } {
  if (updates.length * table.entries >= 2 ** 32) throw new RangeError(`packDemoUpdates: ${updates.length} updates of ${table.entries} entries overflow u32 indexing`);
  const indices = new Uint32Array(updates.length * table.entries);
  const signs = new Int32Array(updates.length * table.entries);
  updates.forEach((tensors, m) => {
    if (tensors.length !== table.tensors.length) throw new RangeError(`packDemoUpdates: update ${m} has ${tensors.length} tensors, the table ${table.tensors.length}`);
    table.tensors.forEach((t, i) => {
      const u = tensors[i];
      // checkUpdate only reads values by index, so any numeric array serves.
      checkUpdate(`packDemoUpdates tensor ${i}`, u as DemoUpdate, m, t.grid, t.k, true);
      const at = m * table.entries + t.out;
      indices.set(u.indices, at);
      signs.set(u.values, at);
    });
  });
  return { indices, signs };
}

/**
 * `demo.clear`, `demo.accumulate`, `demo.prepare`, `demo.inverse`:
 * docs/design.md §4 steps 1, 8 and 9 for every tensor of the table, giving
 * exactly demoApplyExact's bits (the integer direction summed over the kept
 * coefficients only, the decay stored before the step). Four dispatches
 * whatever the number of tensors (only `demo.prepare`, the decay, when there
 * are no updates); record them in order.
 */
export function demoApply(gpu: Gpu, args: DemoApplyArgs): Dispatch[] {
  checkArgs(args);
  const pass = demoPasses(gpu, code, args, args);
  const [sum, count] = args.scratch;
  const prepare = pass('demo.prepare', 'prepare', [args.param, sum, count]);
  if (args.updates === 0) return [prepare];
  return [
    pass('demo.clear', 'clear', [args.indices, sum, count], 'entries'),
    pass('demo.accumulate', 'accumulate', [args.indices, sum, count, args.signs], 'entries'),
    prepare,
    pass('demo.inverse', 'inverse', [args.param, sum, count, args.basis]),
  ];
}

function checkArgs(args: DemoApplyArgs): void {
  const { table } = args;
  if (!Number.isInteger(args.updates) || args.updates < 0 || args.updates >= MAX_UPDATES || args.updates * table.entries >= 2 ** 32) {
    throw new RangeError(`demoApply: updates must be an integer in [0, ${MAX_UPDATES}) with updates·entries < 2^32, got ${args.updates}`);
  }
  if (!Number.isFinite(args.lr) || Math.fround(args.lr) !== args.lr) throw new RangeError(`demoApply: lr ${args.lr} is not exactly a finite float32`);
  if (!Number.isFinite(args.decay) || Math.fround(args.decay) !== args.decay) {
    throw new RangeError(`demoApply: decay ${args.decay} is not exactly a finite float32 (use decayFactorF32)`);
  }
  requireWords('demoApply', 'param', args.param, table.span);
  requireWords('demoApply', 'indices', args.indices, args.updates * table.entries);
  requireWords('demoApply', 'signs', args.signs, args.updates * table.entries);
  requireWords('demoApply', 'basis', args.basis, table.basisLength);
  args.scratch.forEach((s, i) => requireWords('demoApply', `scratch ${i}`, s, demoApplyScratchBytes(table) / 4));
}
