import code from '../../../shaders/matmul.wgsl?raw';
import type { Binding, Dispatch, Gpu } from '../../gpu/gpu';
import { params } from '../../gpu/params';
import { specialize } from '../../gpu/wgsl';

/** nt: y = x·Wᵀ (forward) · nn: dx = dy·W · tn: dW = dyᵀ·x */
export type MatmulLayout = 'nt' | 'nn' | 'tn';

const LAYOUT_ID: Record<MatmulLayout, number> = { nt: 0, nn: 1, tn: 2 };

export interface MatmulTiles {
  wgX: number;
  wgY: number;
  rm: number;
  rn: number;
  tk: number;
}

export const DEFAULT_TILES: MatmulTiles = { wgX: 16, wgY: 16, rm: 4, rn: 4, tk: 16 };

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
  tiles?: MatmulTiles;
}

export function matmulSource(layout: MatmulLayout, t: MatmulTiles = DEFAULT_TILES): string {
  return specialize(code, { LAYOUT: LAYOUT_ID[layout], WG_X: t.wgX, WG_Y: t.wgY, RM: t.rm, RN: t.rn, TK: t.tk });
}

export function matmul(gpu: Gpu, args: MatmulArgs): Dispatch {
  const t = args.tiles ?? DEFAULT_TILES;
  const label = args.label ?? `matmul.${args.layout}`;
  const pipeline = gpu.pipeline(`matmul.${args.layout}`, matmulSource(args.layout, t));
  return {
    label,
    pipeline,
    params: params().u32(args.M).u32(args.N).u32(args.K).f32(args.alpha ?? 1).f32(args.beta ?? 0).bytes(),
    buffers: [args.a, args.b, args.c],
    workgroups: [Math.ceil(args.N / (t.wgX * t.rn)), Math.ceil(args.M / (t.wgY * t.rm))],
  };
}
