import code from '../../../shaders/adamw.wgsl?raw';
import type { Dispatch, Gpu, Workgroups } from '../../gpu/gpu';
import { params } from '../../gpu/params';
import { specialize } from '../../gpu/wgsl';
import type { AdamWOptions } from './adamw-options';
import { foldGrid } from '../../gpu/grid';

/** Threads per workgroup, one parameter each. */
export const ADAMW_WG = 256;
const WG = ADAMW_WG;

export interface AdamWArgs extends AdamWOptions {
  /** Elements in each of the four flat buffers (every tensor of the model, concatenated). */
  n: number;
  /** f32 [n], updated in place. */
  param: GPUBuffer;
  /** f32 [n], read only (clipping, if any, is applied as it is read). */
  grad: GPUBuffer;
  /** f32 [n], first moment m, updated in place (zeros before step 1). */
  expAvg: GPUBuffer;
  /** f32 [n], second moment v, updated in place (zeros before step 1). */
  expAvgSq: GPUBuffer;
  /**
   * f32 [GRADNORM_OUT_LENGTH] = [norm, coef] from gradNorm: the step uses
   * coef·g, so clipping costs no pass of its own. Omit to use g as is.
   */
  clip?: GPUBuffer;
  /**
   * Elements [start, end) skip weight decay (e.g. norm gains laid out
   * together). Default: none, so every element decays, as PyTorch does.
   */
  noDecay?: { start: number; end: number };
  /** Test hook: pretend the device allows at most this many workgroups per grid dimension. */
  gridLimit?: number;
}

/**
 * `adamw.step`: one AdamW step over the whole model in one dispatch. Scalars
 * derived from the hyperparameters (bias corrections, 1 − β, the decay
 * factor) are computed here in float64 and passed as f32.
 */
export function adamw(gpu: Gpu, args: AdamWArgs): Dispatch {
  const limit = args.gridLimit ?? gpu.limits.maxComputeWorkgroupsPerDimension;
  const buffers = [args.param, args.grad, args.expAvg, args.expAvgSq];
  return {
    label: 'adamw.step',
    pipeline: gpu.pipeline('adamw', specialize(code, { WG }), args.clip ? 'update_clipped' : 'update'),
    params: adamwParams(args),
    buffers: args.clip ? [...buffers, args.clip] : buffers,
    workgroups: foldGrid(Math.ceil(args.n / WG), limit),
  };
}

function adamwParams(args: AdamWArgs): ArrayBuffer {
  const { lr, beta1, beta2, eps, weightDecay, step } = args;
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`adamw: step must be an integer ≥ 1, got ${step}`);
  const noDecay = args.noDecay ?? { start: 0, end: 0 };
  return params()
    .u32(args.n)
    .f32(1 - lr * weightDecay)
    .f32(lr / (1 - Math.pow(beta1, step)))
    .f32(Math.sqrt(1 - Math.pow(beta2, step)))
    .f32(beta1)
    .f32(1 - beta1)
    .f32(beta2)
    .f32(1 - beta2)
    .f32(eps)
    .u32(noDecay.start)
    .u32(noDecay.end)
    .bytes();
}

