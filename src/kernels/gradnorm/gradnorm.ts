import code from '../../../shaders/gradnorm.wgsl?raw';
import type { Dispatch, Gpu, Workgroups } from '../../gpu/gpu';
import { params } from '../../gpu/params';
import { specialize } from '../../gpu/wgsl';
import { foldGrid } from '../../gpu/grid';

const WG = 256;
// 64 elements a thread: a workgroup barrier tree per 16k elements rather than per 4k
// (the partials pass was a third of a 28M-parameter step on SwiftShader).
const PER_THREAD = 64;
/** Gradient elements summed by one workgroup into one partial. */
export const GRADNORM_CHUNK = WG * PER_THREAD;

/** Length in f32 words of the norm output buffer: [norm before clipping, clip coefficient]. */
export const GRADNORM_OUT_LENGTH = 2;

/** Length in f32 words of the partial-sum scratch buffer for `n` gradient elements. */
export function gradNormScratchLength(n: number): number {
  return Math.max(1, chunks(n));
}

function chunks(n: number): number {
  return Math.ceil(n / GRADNORM_CHUNK);
}

export interface GradNormArgs {
  /** Gradient elements: every tensor of the model, concatenated. */
  n: number;
  /** f32 [n], read only. */
  grads: GPUBuffer;
  /** f32 [gradNormScratchLength(n)], scratch (overwritten). */
  partials: GPUBuffer;
  /**
   * f32 [GRADNORM_OUT_LENGTH], written: [norm, coef] with
   * coef = min(1, maxNorm / (norm + 1e-6)); AdamW's clipped step reads coef.
   */
  out: GPUBuffer;
  /** Clip threshold; ≤ 0 (or omitted) only measures: coef = 1. */
  maxNorm?: number;
  /** Test hook: pretend the device allows at most this many workgroups per grid dimension. */
  gridLimit?: number;
}

export interface GradClipArgs {
  n: number;
  /** f32 [n], scaled in place by coef. */
  grads: GPUBuffer;
  /** f32 [GRADNORM_OUT_LENGTH], from gradNorm. */
  out: GPUBuffer;
  gridLimit?: number;
}

function pipeline(gpu: Gpu, entry: string): GPUComputePipeline {
  return gpu.pipeline('gradnorm', specialize(code, { WG, PER_THREAD }), entry);
}

function gnParams(n: number, maxNorm = 0): ArrayBuffer {
  return params().u32(n).u32(chunks(n)).f32(maxNorm).bytes();
}

/**
 * Two dispatches: `gradnorm.partials` (sum of squares per chunk of
 * GRADNORM_CHUNK elements) then `gradnorm.norm` (fixed-order total, norm and
 * clip coefficient, all on the GPU).
 */
export function gradNorm(gpu: Gpu, args: GradNormArgs): Dispatch[] {
  const limit = args.gridLimit ?? gpu.limits.maxComputeWorkgroupsPerDimension;
  const p = gnParams(args.n, args.maxNorm);
  return [
    {
      label: 'gradnorm.partials',
      pipeline: pipeline(gpu, 'partials'),
      params: p,
      buffers: [args.grads, args.partials],
      workgroups: foldGrid(chunks(args.n), limit),
    },
    {
      label: 'gradnorm.norm',
      pipeline: pipeline(gpu, 'norm'),
      params: p,
      buffers: [args.partials, args.out],
      workgroups: [1],
    },
  ];
}

/**
 * `gradnorm.clip`: grads ← coef·grads in place, coef read from `out`. Not
 * needed before AdamW's clipped step, which applies coef as it reads g.
 */
export function gradClip(gpu: Gpu, args: GradClipArgs): Dispatch {
  const limit = args.gridLimit ?? gpu.limits.maxComputeWorkgroupsPerDimension;
  return {
    label: 'gradnorm.clip',
    pipeline: pipeline(gpu, 'clip'),
    params: gnParams(args.n),
    buffers: [args.grads, args.out],
    workgroups: foldGrid(chunks(args.n), limit),
  };
}

