import shared from '../../../shaders/rmsnorm.wgsl?raw';
import subgroupPart from '../../../shaders/rmsnorm_subgroups.wgsl?raw';
import treePart from '../../../shaders/rmsnorm_tree.wgsl?raw';
import type { Binding, Dispatch, Gpu, Workgroups } from '../../gpu/gpu';
import { params } from '../../gpu/params';
import { foldGrid } from '../../gpu/grid';
import { specialize } from '../../gpu/wgsl';

/** Threads per workgroup of the dg passes: WG's default in shaders/rmsnorm.wgsl. */
const WG = 256;

/**
 * Threads per row of the row-reducing passes: the power of two covering D,
 * between 32 and 256. A hidden size of 32 would otherwise leave 224 of 256
 * threads idle through every barrier of the reduction, which dominates the
 * step of a small model (8× slower on SwiftShader, measured).
 */
export function rmsnormRowThreads(D: number): number {
  return Math.min(WG, Math.max(32, 2 ** Math.ceil(Math.log2(Math.max(D, 1)))));
}

/**
 * The WGSL modules: the row reduction (a workgroup tree, or subgroup
 * operations) put in front of the shared part, which holds every entry point;
 * see shaders/rmsnorm.wgsl.
 */
const SOURCES = {
  tree: `${treePart}\n${shared}`,
  subgroups: `${subgroupPart}\n${shared}`,
};

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
  /**
   * Row reductions with subgroup operations (default: whenever the device has
   * the `subgroups` feature); false forces the workgroup-tree fallback, true
   * throws on a device without the feature.
   */
  subgroups?: boolean;
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

/** The pipeline of a row-reducing entry point, from the module that `subgroups` selects. */
function rowPipeline(gpu: Gpu, entry: 'forward' | 'backwardDx', D: number, requested: boolean | undefined, caller: string): GPUComputePipeline {
  if (requested && !gpu.features.subgroups) {
    throw new Error(`${caller}: subgroups: true, but this device lacks the WebGPU "subgroups" feature`);
  }
  const threads = rmsnormRowThreads(D);
  return (requested ?? gpu.features.subgroups)
    ? gpu.pipeline(`rmsnorm.${entry}.subgroups`, specialize(SOURCES.subgroups, { WG: threads }), entry)
    : gpu.pipeline(`rmsnorm.${entry}`, specialize(SOURCES.tree, { WG: threads }), entry);
}

/** y = g∘x·rstd per row, saving rstd. */
export function rmsnormForward(gpu: Gpu, args: RmsnormForwardArgs): Dispatch {
  return {
    label: 'rmsnorm.forward',
    pipeline: rowPipeline(gpu, 'forward', args.D, args.subgroups, 'rmsnormForward'),
    params: packParams(args, { eps: args.eps }),
    buffers: [args.x, args.g, args.y, args.rstd],
    workgroups: foldGrid(args.rows, gpu.limits.maxComputeWorkgroupsPerDimension),
  };
}

/**
 * dx per row, then dg by a two-pass column reduction through `scratch`. The
 * three dispatches must run in order (one Recorder pass keeps them ordered).
 * Only the dx pass reduces within a workgroup, so only it follows `subgroups`.
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
      pipeline: rowPipeline(gpu, 'backwardDx', args.D, args.subgroups, 'rmsnormBackward'),
      params: packParams(args, { accumulate: args.accumulateDx }),
      buffers: [args.x, args.g, args.dy, args.rstd, args.dx],
      workgroups: foldGrid(args.rows, gpu.limits.maxComputeWorkgroupsPerDimension),
    },
    {
      label: 'rmsnorm.backward.dgPartial',
      pipeline: gpu.pipeline('rmsnorm.dgPartial', SOURCES.tree, 'dgPartial'),
      params: packParams(args, { rowsPerChunk }),
      buffers: [args.x, args.scratch, args.dy, args.rstd],
      workgroups: [columnGroups, chunks],
    },
    {
      label: 'rmsnorm.backward.dgReduce',
      pipeline: gpu.pipeline('rmsnorm.dgReduce', SOURCES.tree, 'dgReduce'),
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

