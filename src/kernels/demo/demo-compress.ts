import code from '../../../shaders/demo_compress.wgsl?raw';
import type { Binding, Dispatch, Gpu } from '../../gpu/gpu';
import { dctBasis } from '../../demo/dct';
import { demoPasses, demoScratchBytes, requireWords, type DemoTableArgs } from './demo-layout';
import { concatBases, type DemoTable } from './demo-table';

export interface DemoCompressArgs extends DemoTableArgs {
  /** 1-bit mode: values are ±1 (sign of the coefficient, +1 for ±0); else the coefficients. */
  quantize1bit: boolean;
  /** η. */
  lr: number;
  /** β, the momentum decay. */
  decay: number;
  /** f32, the flat gradient buffer: each tensor at its table offset. */
  grad: Binding;
  /** f32, the persistent momentum δ in the gradient's layout, updated in place (steps 2 and 7). */
  momentum: Binding;
  /** f32: demoDctBasisBuffer(gpu, table). */
  basis: Binding;
  /** u32 [table.entries], written: kept flat indices u·cc+v, ascending within each block, each tensor at its `out`. */
  indices: Binding;
  /** f32 [table.entries], written: the kept values in index order. */
  values: Binding;
  /** Two buffers of demoCompressScratchBytes(table) bytes each (T and Y). */
  scratch: readonly [Binding, Binding];
}

/** Bytes of each of the two scratch buffers `demoCompress` needs: T and Y, f32 per element of the table. */
export function demoCompressScratchBytes(table: DemoTable): number {
  return demoScratchBytes(table);
}

/** The orthonormal DCT-II bases C_n of every block side of `table` (built in float64, rounded to f32), concatenated; upload once per table. */
export function demoDctBasisBuffer(gpu: Gpu, table: DemoTable): GPUBuffer {
  return gpu.upload('demo.dct', concatBases(table, new Float32Array(table.basisLength), dctBasis));
}

/**
 * `demo.momentum`, `demo.forward_rows`, `demo.forward_cols`, `demo.topk`,
 * `demo.feedback`: docs/design.md §4 steps 2–7 for every tensor of the table
 * (momentum, block DCT, top-k with ties to the lower index, optional 1-bit
 * values, error feedback of the unquantized kept coefficients). Five
 * dispatches whatever the number of tensors, one workgroup per block; record
 * them in order.
 */
export function demoCompress(gpu: Gpu, args: DemoCompressArgs): Dispatch[] {
  checkArgs(args);
  const pass = demoPasses(gpu, code, args, { ...args, quantize: args.quantize1bit });
  const [rows, coeffs] = args.scratch;
  return [
    pass('demo.momentum', 'momentum', [args.momentum, args.grad]),
    pass('demo.forward_rows', 'forwardRows', [args.basis, args.momentum, rows]),
    pass('demo.forward_cols', 'forwardCols', [args.basis, rows, coeffs]),
    pass('demo.topk', 'topk', [coeffs, args.indices, args.values]),
    pass('demo.feedback', 'feedback', [args.basis, args.momentum, coeffs, args.indices]),
  ];
}

function checkArgs(args: DemoCompressArgs): void {
  const { table } = args;
  if (!Number.isFinite(args.lr)) throw new RangeError(`demoCompress: lr must be finite, got ${args.lr}`);
  if (!Number.isFinite(args.decay)) throw new RangeError(`demoCompress: decay must be finite, got ${args.decay}`);
  requireWords('demoCompress', 'grad', args.grad, table.span);
  requireWords('demoCompress', 'momentum', args.momentum, table.span);
  requireWords('demoCompress', 'basis', args.basis, table.basisLength);
  requireWords('demoCompress', 'indices', args.indices, table.entries);
  requireWords('demoCompress', 'values', args.values, table.entries);
  args.scratch.forEach((s, i) => requireWords('demoCompress', `scratch ${i}`, s, table.elements));
}
