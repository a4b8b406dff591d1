import code from '../../../shaders/rope.wgsl?raw';
import type { Binding, Dispatch, Gpu } from '../../gpu/gpu';
import { params } from '../../gpu/params';
import { ropeAngles } from './rope-angles';
import { elementGrid } from '../../gpu/grid';

/** Threads per workgroup; must match WG in shaders/rope.wgsl. */
const WG = 256;

/** cos/sin tables on the GPU, [positions, dr/2] each, for one rope_theta. */
export interface RopeTables {
  cos: GPUBuffer;
  sin: GPUBuffer;
  /** Rows of the tables: the largest S they serve (max_position_embeddings). */
  positions: number;
  dr: number;
}

/**
 * Builds the angle tables once, in float64 on the CPU (ropeAngles), rounded
 * to f32, so every browser rotates by the same angles whatever its GPU's
 * sin/cos. `S` is the number of positions the tables cover.
 */
export function ropeTables(gpu: Gpu, S: number, dr: number, theta: number): RopeTables {
  const { cos, sin } = ropeAngles(S, dr, theta);
  return {
    cos: gpu.upload('rope.cos', Float32Array.from(cos)),
    sin: gpu.upload('rope.sin', Float32Array.from(sin)),
    positions: S,
    dr,
  };
}

export interface RopeArgs {
  B: number;
  S: number;
  /** Heads per token: num_attention_heads for q, 1 for the shared k_pe. */
  heads: number;
  /** Elements per row of x (dn+dr for q, rkv+dr for ckp). */
  stride: number;
  /** Column of the first rope element in each row (dn for q, rkv for ckp). */
  offset: number;
  /** qk_rope_head_dim, even; must equal tables.dr. */
  dr: number;
  /** [B·S·heads, stride] laid out [B, S, heads]; rotated in place. */
  x: Binding;
  /** From ropeTables, with at least S positions. */
  tables: RopeTables;
}

/** Rotates each rope pair by its position's angle, in place. */
export function ropeForward(gpu: Gpu, args: RopeArgs): Dispatch {
  return ropeDispatch(gpu, args, 'rope.forward', 1);
}

/** Gradient of ropeForward, in place on dy: rotation by the negative angle. */
export function ropeBackward(gpu: Gpu, args: RopeArgs): Dispatch {
  return ropeDispatch(gpu, args, 'rope.backward', -1);
}

function ropeDispatch(gpu: Gpu, args: RopeArgs, label: string, sign: 1 | -1): Dispatch {
  checkArgs(label, args);
  const rows = args.B * args.S * args.heads;
  const half = args.dr / 2;
  return {
    label,
    pipeline: gpu.pipeline('rope', code),
    params: params().u32(rows).u32(args.S).u32(args.heads).u32(args.stride).u32(args.offset).u32(half).f32(sign).bytes(),
    buffers: [args.x, args.tables.cos, args.tables.sin],
    workgroups: elementGrid(gpu, rows * half, WG),
  };
}

function checkArgs(label: string, a: RopeArgs): void {
  if (a.dr % 2 !== 0) throw new RangeError(`${label}: dr must be even, got ${a.dr}`);
  if (a.dr !== a.tables.dr) throw new RangeError(`${label}: dr ${a.dr} differs from the tables' dr ${a.tables.dr}`);
  if (a.S > a.tables.positions) throw new RangeError(`${label}: S ${a.S} exceeds the tables' ${a.tables.positions} positions`);
  if (a.offset + a.dr > a.stride) throw new RangeError(`${label}: offset ${a.offset} + dr ${a.dr} exceeds stride ${a.stride}`);
}

