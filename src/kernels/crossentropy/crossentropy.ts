import shared from '../../../shaders/crossentropy.wgsl?raw';
import subgroupPart from '../../../shaders/crossentropy_subgroups.wgsl?raw';
import treePart from '../../../shaders/crossentropy_tree.wgsl?raw';
import type { Dispatch, Gpu, Workgroups } from '../../gpu/gpu';
import { params } from '../../gpu/params';
import { specialize } from '../../gpu/wgsl';
import { foldGrid } from '../../gpu/grid';

/** Length in f32 words of the `loss` buffer: [mean loss, count of non-ignored rows]. */
export const CROSSENTROPY_LOSS_LENGTH = 2;

/** Threads per workgroup; one workgroup per row (forward, backward) or in all (mean). */
export const CROSSENTROPY_WG = 256;

export interface CrossEntropyForwardArgs {
  rows: number;
  V: number;
  /** f32 [rows, V], read only. */
  logits: GPUBuffer;
  /** i32 [rows]; -100 (or any value outside [0, V)) ignores the row. */
  targets: GPUBuffer;
  /** f32 [rows], written: log-sum-exp of every row (ignored rows too); backward reads it. */
  lse: GPUBuffer;
  /** f32 [rows], written: per-row loss, 0 for ignored rows. */
  losses: GPUBuffer;
  /**
   * f32 [CROSSENTROPY_LOSS_LENGTH], written: [mean loss over non-ignored rows
   * (0 if none), their count]. The count is computed on the GPU from the
   * targets, so backward reads it from here without a CPU round trip.
   */
  loss: GPUBuffer;
  /** Test hook: pretend the device allows at most this many workgroups per grid dimension. */
  gridLimit?: number;
  /**
   * Row reduction with subgroup operations (default: whenever the device has
   * the `subgroups` feature); false forces the workgroup-tree fallback, true
   * throws on a device without the feature.
   */
  subgroups?: boolean;
}

export interface CrossEntropyBackwardArgs {
  rows: number;
  V: number;
  /** f32 [rows, V], the forward's logits. */
  logits: GPUBuffer;
  /** i32 [rows], as in forward. */
  targets: GPUBuffer;
  /** f32 [rows], from crossEntropyForward. */
  lse: GPUBuffer;
  /** f32 [CROSSENTROPY_LOSS_LENGTH], from crossEntropyForward (its count divides the gradient). */
  loss: GPUBuffer;
  /**
   * f32 [rows, V], written: d mean-loss / d logits. Omit it (or pass `logits`)
   * to overwrite the logits in place, which saves the largest activation of
   * the model; the logits are then gone.
   */
  dlogits?: GPUBuffer;
  /** Multiplies the gradient, e.g. 1/k when averaging k micro-batches (default 1). */
  scale?: number;
  gridLimit?: number;
}

/**
 * The WGSL module: the row reduction of forward (a workgroup tree, or
 * subgroup operations) put in front of the shared part, which holds every
 * entry point; see shaders/crossentropy.wgsl.
 */
const SOURCES = {
  tree: `${treePart}\n${shared}`,
  subgroups: `${subgroupPart}\n${shared}`,
};

/**
 * Threads per row of forward: about four logits per thread, a power of two
 * between 32 and CROSSENTROPY_WG. A byte vocabulary (256) then spends 6
 * barrier levels of 64 threads instead of 8 of 256, which dominated a small
 * model's step (measured on SwiftShader).
 */
export function crossEntropyRowThreads(V: number): number {
  return Math.min(CROSSENTROPY_WG, Math.max(32, 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(V / 4))))));
}

/** Whether forward reduces rows with subgroup operations. */
function useSubgroups(gpu: Gpu, requested: boolean | undefined): boolean {
  if (requested && !gpu.features.subgroups) {
    throw new Error('crossEntropyForward: subgroups: true, but this device lacks the WebGPU "subgroups" feature');
  }
  return requested ?? gpu.features.subgroups;
}

/** Entry points that do not reduce rows always come from the tree module, so they compile once. */
function pipeline(gpu: Gpu, entry: string, subgroups = false, threads = CROSSENTROPY_WG): GPUComputePipeline {
  return subgroups
    ? gpu.pipeline('crossentropy.subgroups', specialize(SOURCES.subgroups, { WG: threads }), entry)
    : gpu.pipeline('crossentropy', specialize(SOURCES.tree, { WG: threads }), entry);
}

function ceParams(rows: number, V: number, scale = 1): ArrayBuffer {
  return params().u32(rows).u32(V).f32(scale).bytes();
}

/**
 * Two dispatches: `crossentropy.forward` (lse and per-row losses, one
 * workgroup per row) then `crossentropy.mean` (fixed-order sum and count).
 */
export function crossEntropyForward(gpu: Gpu, args: CrossEntropyForwardArgs): Dispatch[] {
  const { rows, V } = args;
  const limit = args.gridLimit ?? gpu.limits.maxComputeWorkgroupsPerDimension;
  return [
    {
      label: 'crossentropy.forward',
      pipeline: pipeline(gpu, 'forward', useSubgroups(gpu, args.subgroups), crossEntropyRowThreads(V)),
      params: ceParams(rows, V),
      buffers: [args.logits, args.targets, args.lse, args.losses],
      workgroups: foldGrid(rows, limit),
    },
    {
      label: 'crossentropy.mean',
      pipeline: pipeline(gpu, 'mean'),
      params: ceParams(rows, V),
      buffers: [args.losses, args.targets, args.loss],
      workgroups: [1],
    },
  ];
}

/** `crossentropy.backward`: dlogits = scale·(softmax − onehot)/count, zero rows where ignored. */
export function crossEntropyBackward(gpu: Gpu, args: CrossEntropyBackwardArgs): Dispatch {
  const { rows, V } = args;
  const limit = args.gridLimit ?? gpu.limits.maxComputeWorkgroupsPerDimension;
  const inPlace = args.dlogits === undefined || args.dlogits === args.logits;
  const shared = [args.logits, args.targets, args.lse, args.loss];
  return {
    label: 'crossentropy.backward',
    pipeline: pipeline(gpu, inPlace ? 'backward_inplace' : 'backward'),
    params: ceParams(rows, V, args.scale ?? 1),
    buffers: inPlace ? shared : [...shared, args.dlogits as GPUBuffer],
    workgroups: foldGrid(rows, limit),
  };
}

