import code from '../../../shaders/demo_compress.wgsl?raw';
import type { Binding, Dispatch, Gpu } from '../../gpu/gpu';
import { foldGrid } from '../../gpu/grid';
import { params } from '../../gpu/params';
import { specialize } from '../../gpu/wgsl';
import { blockGrid, type BlockGrid } from '../../demo/blocks';
import { dctBasis } from '../../demo/dct';
import { DEMO_MAX_BLOCK_SIDE } from './demo-apply';

/** Threads per workgroup: one tensor element each, or one block per workgroup in top-k. */
export const DEMO_COMPRESS_WG = 256;
const WG = DEMO_COMPRESS_WG;

/** Most coefficients kept per block (the top-k workgroup holds its picks in a fixed array). */
export const DEMO_MAX_TOPK = 64;

export interface DemoCompressArgs {
  /** [R, C] or [n]. */
  shape: readonly number[];
  /** blockShape(shape, chunk): [cr, cc] or [c], at most 64 per side. */
  block: readonly number[];
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
  /** Test hook: pretend the device allows at most this many workgroups per grid dimension. */
  gridLimit?: number;
}

/** Bytes of scratch `demoCompress` needs for a tensor of n elements: T and Y, f32 each. */
export function demoCompressScratchBytes(n: number): number {
  return 2 * n * 4;
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
  const limit = args.gridLimit ?? gpu.limits.maxComputeWorkgroupsPerDimension;
  const elements = foldGrid(Math.ceil(grid.size * grid.count / WG), limit);
  const blocks = foldGrid(grid.count, limit);
  const shader = specialize(code, { WG });
  const uniform = compressParams(args, grid);
  const pass = (label: string, entry: string, buffers: Binding[], workgroups = elements): Dispatch => ({
    label,
    pipeline: gpu.pipeline(`demo.${entry}`, shader, entry),
    params: uniform,
    buffers,
    workgroups,
  });
  return [
    pass('demo.momentum', 'momentum', [args.momentum, args.grad]),
    pass('demo.forward_rows', 'forwardRows', [args.momentum, args.scratch, args.basisCols]),
    pass('demo.forward_cols', 'forwardCols', [args.scratch, args.basisRows]),
    pass('demo.topk', 'topk', [args.scratch, args.indices, args.values], blocks),
    pass('demo.feedback', 'feedback', [args.momentum, args.scratch, args.indices, args.basisRows, args.basisCols]),
  ];
}

function checkArgs(args: DemoCompressArgs): BlockGrid {
  const grid = blockGrid(args.shape, args.block);
  if (grid.cr > DEMO_MAX_BLOCK_SIDE || grid.cc > DEMO_MAX_BLOCK_SIDE) {
    throw new RangeError(`demoCompress: block [${args.block.join(', ')}] exceeds ${DEMO_MAX_BLOCK_SIDE} per side`);
  }
  const maxK = Math.min(DEMO_MAX_TOPK, grid.size);
  if (!Number.isInteger(args.k) || args.k < 1 || args.k > maxK) {
    throw new RangeError(`demoCompress: k must be an integer in [1, ${maxK}], got ${args.k}`);
  }
  if (!Number.isFinite(args.lr)) throw new RangeError(`demoCompress: lr must be finite, got ${args.lr}`);
  if (!Number.isFinite(args.decay)) throw new RangeError(`demoCompress: decay must be finite, got ${args.decay}`);
  return grid;
}

function compressParams(args: DemoCompressArgs, grid: BlockGrid): ArrayBuffer {
  return params()
    .u32(grid.R)
    .u32(grid.C)
    .u32(grid.cr)
    .u32(grid.cc)
    .u32(grid.blocksAcross)
    .u32(grid.count)
    .u32(args.k)
    .u32(grid.R * grid.C)
    .u32(args.quantize1bit ? 1 : 0)
    .f32(args.lr)
    .f32(args.decay)
    .bytes();
}
