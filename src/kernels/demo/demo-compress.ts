import code from '../../../shaders/demo_compress.wgsl?raw';
import type { Binding, Dispatch, Gpu } from '../../gpu/gpu';
import type { BlockGrid } from '../../demo/blocks';
import { dctBasis } from '../../demo/dct';
import { DEMO_WG, demoBlockGrid, demoPasses, demoScratchBytes, type DemoTensorArgs } from './demo-layout';

/** Threads per workgroup: one tensor element each, or one block per workgroup in top-k. */
export const DEMO_COMPRESS_WG = DEMO_WG;

/** Most coefficients kept per block (the top-k workgroup holds its picks in a fixed array). */
export const DEMO_MAX_TOPK = 64;

export interface DemoCompressArgs extends DemoTensorArgs {
  /** keptPerBlock(block elements, topk), at most DEMO_MAX_TOPK. */
  k: number;
  /** 1-bit mode: values are ±1 (sign of the coefficient, +1 for ±0); else the coefficients. */
  quantize1bit: boolean;
  /** η. */
  lr: number;
  /** β, the momentum decay. */
  decay: number;
  /** f32 [R·C], this tensor's range of the flat gradient buffer. */
  grad: Binding;
  /** f32 [R·C], the tensor's persistent momentum δ, updated in place (steps 2 and 7). */
  momentum: Binding;
  /** f32 [cr, cr]: demoDctBasisBuffer(gpu, cr). */
  basisRows: Binding;
  /** f32 [cc, cc]: demoDctBasisBuffer(gpu, cc) (the same buffer when cr = cc). */
  basisCols: Binding;
  /** u32 [blockCount, k], written: kept flat indices u·cc+v, ascending within each block. */
  indices: Binding;
  /** f32 [blockCount, k], written: the kept values in index order. */
  values: Binding;
  /** Scratch of demoCompressScratchBytes(R·C) bytes. */
  scratch: Binding;
}

/** Bytes of scratch `demoCompress` needs for a tensor of n elements: T and Y, f32 each. */
export function demoCompressScratchBytes(n: number): number {
  return demoScratchBytes(n);
}

/** The orthonormal DCT-II basis C_n (built in float64, rounded to f32) as an f32 [n, n] buffer; upload once per block size. */
export function demoDctBasisBuffer(gpu: Gpu, n: number): GPUBuffer {
  return gpu.upload(`demo.dct${n}`, Float32Array.from(dctBasis(n)));
}

/**
 * `demo.momentum`, `demo.forward_rows`, `demo.forward_cols`, `demo.topk`,
 * `demo.feedback`: DESIGN.md §4 steps 2–7 for one tensor (momentum, block
 * DCT, top-k with ties to the lower index, optional 1-bit values, error
 * feedback of the unquantized kept coefficients). Record the five in order.
 */
export function demoCompress(gpu: Gpu, args: DemoCompressArgs): Dispatch[] {
  const grid = checkArgs(args);
  const pass = demoPasses(gpu, code, args, grid, { ...args, quantize: args.quantize1bit });
  return [
    pass('demo.momentum', 'momentum', [args.momentum, args.grad]),
    pass('demo.forward_rows', 'forwardRows', [args.momentum, args.scratch, args.basisCols]),
    pass('demo.forward_cols', 'forwardCols', [args.scratch, args.basisRows]),
    pass('demo.topk', 'topk', [args.scratch, args.indices, args.values], 'blocks'),
    pass('demo.feedback', 'feedback', [args.momentum, args.scratch, args.indices, args.basisRows, args.basisCols]),
  ];
}

function checkArgs(args: DemoCompressArgs): BlockGrid {
  const grid = demoBlockGrid('demoCompress', args);
  const maxK = Math.min(DEMO_MAX_TOPK, grid.size);
  if (!Number.isInteger(args.k) || args.k < 1 || args.k > maxK) {
    throw new RangeError(`demoCompress: k must be an integer in [1, ${maxK}], got ${args.k}`);
  }
  if (!Number.isFinite(args.lr)) throw new RangeError(`demoCompress: lr must be finite, got ${args.lr}`);
  if (!Number.isFinite(args.decay)) throw new RangeError(`demoCompress: decay must be finite, got ${args.decay}`);
  return grid;
}
