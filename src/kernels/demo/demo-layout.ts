/**
 * What demo-apply.ts and demo-compress.ts share: the WGSL part both modules
 * start with (shaders/demo_blocks.wgsl: the uniform params, the invocation
 * struct, block addressing), its params packing, the block-size limit and
 * the pass builder.
 */
import blocksPart from '../../../shaders/demo_blocks.wgsl?raw';
import type { Binding, Dispatch, Gpu, Workgroups } from '../../gpu/gpu';
import { foldGrid } from '../../gpu/grid';
import { params } from '../../gpu/params';
import { specialize } from '../../gpu/wgsl';
import { blockGrid, type BlockGrid } from '../../demo/blocks';

/** Threads per workgroup: one tensor element each, or one block per workgroup in top-k. */
export const DEMO_WG = 256;

/** Blocks beyond 64 per side are outside integer-decode.ts's proof that no i32 wraps. */
export const DEMO_MAX_BLOCK_SIDE = 64;

/** The arguments every DeMo tensor op takes. */
export interface DemoTensorArgs {
  /** [R, C] or [n]. */
  shape: readonly number[];
  /** blockShape(shape, chunk): [cr, cc] or [c], at most DEMO_MAX_BLOCK_SIDE per side. */
  block: readonly number[];
  /** Test hook: pretend the device allows at most this many workgroups per grid dimension. */
  gridLimit?: number;
}

/** Bytes of scratch either op needs for a tensor of n elements: two 4-byte values per element. */
export function demoScratchBytes(n: number): number {
  return 2 * n * 4;
}

/** The block grid of args, after checking the block fits DEMO_MAX_BLOCK_SIDE; `why` ends the error message. */
export function demoBlockGrid(op: string, args: DemoTensorArgs, why = ''): BlockGrid {
  const grid = blockGrid(args.shape, args.block);
  if (grid.cr > DEMO_MAX_BLOCK_SIDE || grid.cc > DEMO_MAX_BLOCK_SIDE) {
    throw new RangeError(`${op}: block [${args.block.join(', ')}] exceeds ${DEMO_MAX_BLOCK_SIDE} per side${why}`);
  }
  return grid;
}

/** The uniform fields that differ between the ops; the unused ones stay 0. */
export interface DemoScalars {
  k: number;
  updates?: number;
  quantize?: boolean;
  lr: number;
  decay: number;
}

/** The Params struct of shaders/demo_blocks.wgsl. */
function demoParams(grid: BlockGrid, s: DemoScalars): ArrayBuffer {
  return params()
    .u32(grid.R)
    .u32(grid.C)
    .u32(grid.cr)
    .u32(grid.cc)
    .u32(grid.blocksAcross)
    .u32(grid.count)
    .u32(s.k)
    .u32(grid.R * grid.C)
    .u32(s.updates ?? 0)
    .u32(s.quantize ? 1 : 0)
    .f32(s.lr)
    .f32(s.decay)
    .bytes();
}

/** Which grid a pass runs on: one thread per tensor element, or one workgroup per block. */
export type DemoGrid = 'elements' | 'blocks';

/** Builds the dispatch of one entry point of `variant` (a module's own WGSL, after the shared part). */
export type DemoPass = (label: string, entry: string, buffers: Binding[], grid?: DemoGrid) => Dispatch;

/** A pass builder for one tensor: every pass shares the module, the params and the grids. */
export function demoPasses(gpu: Gpu, variant: string, args: DemoTensorArgs, grid: BlockGrid, scalars: DemoScalars): DemoPass {
  const limit = args.gridLimit ?? gpu.limits.maxComputeWorkgroupsPerDimension;
  const grids: Record<DemoGrid, Workgroups> = {
    elements: foldGrid(Math.ceil(grid.size * grid.count / DEMO_WG), limit),
    blocks: foldGrid(grid.count, limit),
  };
  const shader = specialize(`${blocksPart}\n${variant}`, { WG: DEMO_WG });
  const uniform = demoParams(grid, scalars);
  return (label, entry, buffers, on = 'elements') => ({
    label,
    pipeline: gpu.pipeline(`demo.${entry}`, shader, entry),
    params: uniform,
    buffers,
    workgroups: grids[on],
  });
}
