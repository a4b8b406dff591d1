import code from '../../../shaders/swiglu.wgsl?raw';
import type { Binding, Dispatch, Gpu } from '../../gpu/gpu';
import { params } from '../../gpu/params';
import { elementGrid } from '../../gpu/grid';

/** Threads per workgroup; must match WG in shaders/swiglu.wgsl. */
const WG = 256;

export interface SwigluForwardArgs {
  /** Elements: B·S·intermediate_size. */
  n: number;
  /** gate_proj output [n]. */
  gate: Binding;
  /** up_proj output [n]. */
  up: Binding;
  /** Output h = silu(gate)∘up [n]; overwritten. */
  h: Binding;
}

export interface SwigluBackwardArgs {
  n: number;
  /** Forward inputs [n]. */
  gate: Binding;
  up: Binding;
  /** Gradient of h [n]. */
  dh: Binding;
  /** Outputs [n], overwritten (they feed the matmul backward, which accumulates where needed). */
  dgate: Binding;
  dup: Binding;
}

/** h = silu(gate) ∘ up. */
export function swigluForward(gpu: Gpu, args: SwigluForwardArgs): Dispatch {
  return {
    label: 'swiglu.forward',
    pipeline: gpu.pipeline('swiglu.forward', code, 'forward'),
    params: params().u32(args.n).bytes(),
    buffers: [args.gate, args.up, args.h],
    workgroups: elementGrid(gpu, args.n, WG),
  };
}

/** dgate = dh∘up∘silu'(gate), dup = dh∘silu(gate). */
export function swigluBackward(gpu: Gpu, args: SwigluBackwardArgs): Dispatch {
  return {
    label: 'swiglu.backward',
    pipeline: gpu.pipeline('swiglu.backward', code, 'backward'),
    params: params().u32(args.n).bytes(),
    buffers: [args.gate, args.up, args.dh, args.dgate, args.dup],
    workgroups: elementGrid(gpu, args.n, WG),
  };
}

