import code from '../../../shaders/rmsnorm.wgsl?raw';
import type { Binding, Dispatch, Gpu, Workgroups } from '../../gpu/gpu';
import { params } from '../../gpu/params';
import { foldGrid } from '../../gpu/grid';

/** Threads per workgroup; must match WG in shaders/rmsnorm.wgsl. */
const WG = 256;

/**
 * Rows per chunk of the dg column reduction. Pass 1 runs chunks·D threads of
 * up to this many rows each, pass 2 sums chunks per column: 64 keeps both
 * passes short for the row counts of a training batch.
 */
export const RMSNORM_ROWS_PER_CHUNK = 64;

interface RmsnormShape {
  /** Rows to normalize (B·S). */
  rows: number;
  /** Normalized length (hidden_size, q_lora_rank or kv_lora_rank). */
  D: number;
  /** Elements between the starts of consecutive x (and dx) rows; default D. */
  stride?: number;
}

export interface RmsnormForwardArgs extends RmsnormShape {
  /** Input rows [rows, stride], the first D columns of each normalized. */
  x: Binding;
  /** Weight [D]. */
  g: Binding;
  /** Output [rows, D], overwritten. */
  y: Binding;
  /** Saved 1/sqrt(mean(x²)+eps) [rows], overwritten; the backward needs it. */
  rstd: Binding;
  /** rms_norm_eps (1e-6 in the model). */
  eps: number;
}

export interface RmsnormBackwardArgs extends RmsnormShape {
  /** Forward input [rows, stride]. */
  x: Binding;
  /** Weight [D]. */
  g: Binding;
  /** rstd saved by the forward [rows]. */
  rstd: Binding;
  /** Gradient of y [rows, D]. */
  dy: Binding;
  /** Gradient of x, same layout as x [rows, stride]; only the first D columns of each row are written. */
  dx: Binding;
  /** Gradient of g [D]. */
  dg: Binding;
  /** Scratch of at least rmsnormScratchBytes(rows, D, rowsPerChunk) bytes. */
  scratch: Binding;
  /** dx += gradient (e.g. onto the residual stream's gradient) instead of dx = gradient. */
  accumulateDx?: boolean;
  /** dg += gradient (gradient accumulation over micro-batches) instead of dg = gradient. */
  accumulateDg?: boolean;
  /** Rows per chunk of the dg reduction; default RMSNORM_ROWS_PER_CHUNK. */
  rowsPerChunk?: number;
}

/** WebGPU's guaranteed maxComputeWorkgroupsPerDimension; chunks are one grid dimension. */
const MIN_GRID_LIMIT = 65535;

/**
 * Rows per chunk actually used: the requested value, raised if needed so the
 * chunk count fits in one grid dimension on every device.
 */
export function rmsnormRowsPerChunk(rows: number, rowsPerChunk = RMSNORM_ROWS_PER_CHUNK): number {
  if (!Number.isInteger(rowsPerChunk) || rowsPerChunk < 1) throw new RangeError(`rmsnorm: rowsPerChunk must be a positive integer, got ${rowsPerChunk}`);
  return Math.max(rowsPerChunk, Math.ceil(rows / MIN_GRID_LIMIT));
}

/** Bytes of the dg partial-sum scratch [chunks, D] that rmsnormBackward needs. */
export function rmsnormScratchBytes(rows: number, D: number, rowsPerChunk = RMSNORM_ROWS_PER_CHUNK): number {
  return Math.ceil(rows / rmsnormRowsPerChunk(rows, rowsPerChunk)) * D * 4;
}

/** y = g∘x·rstd per row, saving rstd. */
export function rmsnormForward(gpu: Gpu, args: RmsnormForwardArgs): Dispatch {
  return {
    label: 'rmsnorm.forward',
    pipeline: gpu.pipeline('rmsnorm.forward', code, 'forward'),
    params: packParams(args, { eps: args.eps }),
    buffers: [args.x, args.g, args.y, args.rstd],
    workgroups: foldGrid(args.rows, gpu.limits.maxComputeWorkgroupsPerDimension),
  };
}

/**
 * dx per row, then dg by a two-pass column reduction through `scratch`. The
 * three dispatches must run in order (one Recorder pass keeps them ordered).
 */
export function rmsnormBackward(gpu: Gpu, args: RmsnormBackwardArgs): Dispatch[] {
  const rowsPerChunk = rmsnormRowsPerChunk(args.rows, args.rowsPerChunk);
  const chunks = Math.ceil(args.rows / rowsPerChunk);
  const needed = chunks * args.D * 4;
  // A GPUBuffer and a buffer range both carry their usable size.
  if (args.scratch.size < needed) {
    throw new RangeError(`rmsnormBackward: scratch has ${args.scratch.size} bytes, needs rmsnormScratchBytes = ${needed}`);
  }
  const columnGroups = Math.ceil(args.D / WG);
  return [
    {
      label: 'rmsnorm.backward.dx',
      pipeline: gpu.pipeline('rmsnorm.backwardDx', code, 'backwardDx'),
      params: packParams(args, { accumulate: args.accumulateDx }),
      buffers: [args.x, args.g, args.dy, args.rstd, args.dx],
      workgroups: foldGrid(args.rows, gpu.limits.maxComputeWorkgroupsPerDimension),
    },
    {
      label: 'rmsnorm.backward.dgPartial',
      pipeline: gpu.pipeline('rmsnorm.dgPartial', code, 'dgPartial'),
      params: packParams(args, { rowsPerChunk }),
      buffers: [args.x, args.scratch, args.dy, args.rstd],
      workgroups: [columnGroups, chunks],
    },
    {
      label: 'rmsnorm.backward.dgReduce',
      pipeline: gpu.pipeline('rmsnorm.dgReduce', code, 'dgReduce'),
      params: packParams(args, { rowsPerChunk, accumulate: args.accumulateDg }),
      buffers: [args.dg, args.scratch],
      workgroups: [columnGroups],
    },
  ];
}

/** The shader's Params struct; fields an entry point does not read are 0. */
function packParams(shape: RmsnormShape, extra: { eps?: number; accumulate?: boolean; rowsPerChunk?: number }): ArrayBuffer {
  const stride = shape.stride ?? shape.D;
  if (stride < shape.D) throw new RangeError(`rmsnorm: stride ${stride} is less than D ${shape.D}`);
  return params()
    .u32(shape.rows)
    .u32(shape.D)
    .u32(stride)
    .f32(extra.eps ?? 0)
    .u32(extra.accumulate ? 1 : 0)
    .u32(extra.rowsPerChunk ?? 1)
    .bytes();
}

