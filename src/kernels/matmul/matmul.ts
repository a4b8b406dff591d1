import shared from '../../../shaders/matmul.wgsl?raw';
import scalarPart from '../../../shaders/matmul_scalar.wgsl?raw';
import vec4Part from '../../../shaders/matmul_vec4.wgsl?raw';
import type { Binding, Dispatch, Gpu } from '../../gpu/gpu';
import { params } from '../../gpu/params';
import { specialize } from '../../gpu/wgsl';

/** nt: y = x·Wᵀ (forward) · nn: dx = dy·W · tn: dW = dyᵀ·x */
export type MatmulLayout = 'nt' | 'nn' | 'tn';

const LAYOUT_ID: Record<MatmulLayout, number> = { nt: 0, nn: 1, tn: 2 };

/**
 * A workgroup of wgX×wgY threads computes a (wgY·rm)×(wgX·rn) tile of C,
 * stepping tk along K. rm and rn are 4 or 8 (each thread holds 4×4 blocks in
 * vec4 registers); tk is a multiple of 4.
 */
export interface MatmulTiles {
  wgX: number;
  wgY: number;
  rm: number;
  rn: number;
  tk: number;
}

/**
 * 64×128 tiles, 256 threads with 4×8 outputs each: the best of a sweep on an
 * H100 at 2048–4096³ (15–18 TFLOP/s through Dawn, against 13–16 with 4×4).
 */
export const LARGE_TILES: MatmulTiles = { wgX: 16, wgY: 16, rm: 4, rn: 8, tk: 16 };

/**
 * 32×64 tiles, 64 threads with 4×8 outputs each: 4× as many workgroups as
 * LARGE_TILES, for products too small to fill a GPU with large tiles (and for
 * SwiftShader, which runs workgroups on the CPU's few cores).
 */
export const SMALL_TILES: MatmulTiles = { wgX: 8, wgY: 8, rm: 4, rn: 8, tk: 16 };

/** The tiles tuned for big products; matmul() picks per shape with matmulTiles(). */
export const DEFAULT_TILES: MatmulTiles = LARGE_TILES;

/**
 * Roughly one workgroup per compute unit on the largest GPUs (an H100 has
 * 132 SMs): below this many large tiles, most of a big GPU would idle.
 */
const MIN_LARGE_WORKGROUPS = 128;

/** The tiles matmul() uses for a C of M×N when the caller names none. */
export function matmulTiles(M: number, N: number): MatmulTiles {
  const t = LARGE_TILES;
  const workgroups = Math.ceil(M / (t.wgY * t.rm)) * Math.ceil(N / (t.wgX * t.rn));
  return workgroups >= MIN_LARGE_WORKGROUPS ? LARGE_TILES : SMALL_TILES;
}

/**
 * Whether the vec4 variant (shaders/matmul_vec4.wgsl) can run this shape:
 * every dimension it reads or writes as vec4s must be a multiple of 4. C's
 * rows run along N in every layout; A and B are vectorized along K in nt and
 * nn (A[M,K] and B's rows), along M and N in tn (A[K,M], B[K,N]).
 */
export function matmulVectorizable(layout: MatmulLayout, M: number, N: number, K: number): boolean {
  if (N % 4 !== 0) return false;
  if (layout === 'tn') return M % 4 === 0;
  return K % 4 === 0;
}

export interface MatmulArgs {
  layout: MatmulLayout;
  /** C is M×N; the shared dimension is K. See shaders/matmul.wgsl for A/B shapes per layout. */
  M: number;
  N: number;
  K: number;
  a: Binding;
  b: Binding;
  c: Binding;
  alpha?: number;
  /** 1 accumulates into C (gradient accumulation), 0 overwrites. */
  beta?: number;
  label?: string;
  /** Defaults to matmulTiles(M, N). */
  tiles?: MatmulTiles;
  /**
   * The vec4 kernel when true, the general one when false; by default the
   * vec4 kernel whenever matmulVectorizable allows. True on a shape that does
   * not allow it throws.
   */
  vec4?: boolean;
}

function checkTiles(t: MatmulTiles): void {
  const ok = (t.rm === 4 || t.rm === 8) && (t.rn === 4 || t.rn === 8) && t.tk > 0 && t.tk % 4 === 0 && t.wgX > 0 && t.wgY > 0;
  if (!ok) throw new RangeError(`matmul tiles ${JSON.stringify(t)}: rm and rn must be 4 or 8, tk a multiple of 4`);
}

/**
 * The WGSL modules: how tiles are staged and C is written (scalar or vec4
 * global accesses) put in front of the shared part, which holds the tiling
 * and the inner loop; see shaders/matmul.wgsl.
 */
const MODULES = {
  scalar: `${scalarPart}\n${shared}`,
  vec4: `${vec4Part}\n${shared}`,
};

const sources = new Map<string, string>();

export function matmulSource(layout: MatmulLayout, t: MatmulTiles = DEFAULT_TILES, vec4 = false): string {
  checkTiles(t);
  const key = `${layout}|${vec4}|${t.wgX},${t.wgY},${t.rm},${t.rn},${t.tk}`;
  let src = sources.get(key);
  if (src === undefined) {
    src = specialize(vec4 ? MODULES.vec4 : MODULES.scalar, { LAYOUT: LAYOUT_ID[layout], WG_X: t.wgX, WG_Y: t.wgY, RM: t.rm, RN: t.rn, TK: t.tk });
    sources.set(key, src);
  }
  return src;
}

export function matmul(gpu: Gpu, args: MatmulArgs): Dispatch {
  const { layout, M, N, K } = args;
  const t = args.tiles ?? matmulTiles(M, N);
  const vectorizable = matmulVectorizable(layout, M, N, K);
  if (args.vec4 === true && !vectorizable) {
    throw new RangeError(`matmul.${layout} ${M}×${N}×${K}: the vec4 kernel needs N and ${layout === 'tn' ? 'M' : 'K'} to be multiples of 4`);
  }
  const vec4 = args.vec4 ?? vectorizable;
  const label = args.label ?? `matmul.${layout}`;
  const pipeline = gpu.pipeline(`matmul.${layout}${vec4 ? '.vec4' : ''}`, matmulSource(layout, t, vec4));
  return {
    label,
    pipeline,
    params: params().u32(M).u32(N).u32(K).f32(args.alpha ?? 1).f32(args.beta ?? 0).bytes(),
    buffers: [args.a, args.b, args.c],
    workgroups: [Math.ceil(N / (t.wgX * t.rn)), Math.ceil(M / (t.wgY * t.rm))],
  };
}
