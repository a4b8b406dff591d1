import code from '../../../shaders/copy.wgsl?raw';
import type { Binding, Dispatch, Gpu } from '../../gpu/gpu';
import { elementGrid } from '../../gpu/grid';
import { params } from '../../gpu/params';
import type { CopyShape, Strided } from './copy-shape';

const WG = 256;

/**
 * dst block (+)= src block, both addressed in f32 elements (see
 * shaders/copy.wgsl). src and dst must be different buffers.
 */
export function copyBlock(
  gpu: Gpu,
  args: CopyShape & { src: Binding; dst: Binding; from: Strided; to: Strided; label?: string },
): Dispatch {
  const reps = args.reps ?? 1;
  if (args.accumulate && reps > 1 && (args.to.repStride ?? 0) === 0) {
    throw new Error('copyBlock: accumulating repetitions into one destination would race; use separate dispatches');
  }
  const grid = elementGrid(gpu, reps * args.rows * args.cols, WG);
  return {
    label: args.label ?? (args.accumulate ? 'copy.accumulate' : 'copy.block'),
    pipeline: gpu.pipeline('copy', code),
    params: params()
      .u32(args.rows)
      .u32(args.cols)
      .u32(reps)
      .u32(args.accumulate ? 1 : 0)
      .u32(args.from.offset)
      .u32(args.from.rowStride)
      .u32(args.from.repStride ?? 0)
      .u32(args.to.offset)
      .u32(args.to.rowStride)
      .u32(args.to.repStride ?? 0)
      .u32(grid[0] * WG)
      .bytes(),
    buffers: [args.src, args.dst],
    workgroups: grid,
  };
}

/** dst (+)= src over n contiguous elements. */
export function copyFlat(gpu: Gpu, src: Binding, dst: Binding, n: number, accumulate = false, label?: string): Dispatch {
  return copyBlock(gpu, { src, dst, rows: 1, cols: n, accumulate, from: { offset: 0, rowStride: n }, to: { offset: 0, rowStride: n }, label });
}
