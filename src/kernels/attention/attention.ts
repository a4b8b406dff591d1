import shared from '../../../shaders/attention.wgsl?raw';
import forwardPart from '../../../shaders/attention_forward.wgsl?raw';
import backwardPart from '../../../shaders/attention_backward.wgsl?raw';
import type { Dispatch, Gpu } from '../../gpu/gpu';
import { params } from '../../gpu/params';
import { specialize } from '../../gpu/wgsl';

/**
 * Where element (b, s, h, d) of a per-head tensor lives:
 * `offset + (b·S + s)·rowStride + h·headStride + d` (in f32 elements).
 * Contiguous [B,S,H,d] is { rowStride: H·d, headStride: d, offset: 0 }; other
 * values point at a sub-block of a wider tensor, e.g. v inside kv [B,S,H,dn+dv]
 * is { rowStride: H·(dn+dv), headStride: dn+dv, offset: dn }.
 */
export interface HeadView {
  rowStride: number;
  headStride: number;
  offset: number;
}

export function contiguousView(H: number, d: number): HeadView {
  return { rowStride: H * d, headStride: d, offset: 0 };
}

/**
 * rows: rows each workgroup owns (query rows in the forward and the dQ pass,
 * key rows in the dK/dV pass). splits: threads per row, each taking every
 * splits-th staged row of the other operand (workgroup size rows·splits).
 * cols: rows of the other operand staged in workgroup memory per step.
 */
export interface AttentionTiles {
  rows: number;
  cols: number;
  splits: number;
}

/** Measured best (of a few) on an H100 through Dawn/Vulkan with dqk=48, dv=32, S=256…1024. */
export const DEFAULT_FORWARD_TILES: AttentionTiles = { rows: 32, cols: 32, splits: 4 };
export const DEFAULT_BACKWARD_TILES: AttentionTiles = { rows: 64, cols: 32, splits: 2 };

export interface AttentionShape {
  B: number;
  S: number;
  H: number;
  /** Width of q and k per head (dn+dr in MLA). */
  dqk: number;
  /** Width of v and o per head. */
  dv: number;
  /** Score scale; default 1/sqrt(dqk). */
  scale?: number;
  /** Default: DEFAULT_FORWARD_TILES / DEFAULT_BACKWARD_TILES, shrunk to fit the device's workgroup memory. */
  tiles?: AttentionTiles;
}

export interface AttentionForwardArgs extends AttentionShape {
  /** [B,S,H,dqk] (or qView) */
  q: GPUBuffer;
  /** [B,S,H,dqk] (or kView) */
  k: GPUBuffer;
  /** [B,S,H,dv] (or vView) */
  v: GPUBuffer;
  /** out [B,S,H,dv] (or oView) */
  o: GPUBuffer;
  /** out [B,H,S], always contiguous: log-sum-exp of each row's scaled causal scores, for the backward. */
  lse: GPUBuffer;
  qView?: HeadView;
  kView?: HeadView;
  vView?: HeadView;
  oView?: HeadView;
}

export interface AttentionBackwardArgs extends AttentionShape {
  /** [B,S,H,dqk] (or qView) */
  q: GPUBuffer;
  /** [B,S,H,dqk] (or kView) */
  k: GPUBuffer;
  /** [B,S,H,dv] (or vView) */
  v: GPUBuffer;
  /** [B,S,H,dv] (or oView): the forward's output. */
  o: GPUBuffer;
  /** [B,H,S]: the forward's log-sum-exp. */
  lse: GPUBuffer;
  /** [B,S,H,dv] (or dOView): gradient of the loss w.r.t. o. */
  dO: GPUBuffer;
  /** out [B,S,H,dqk] (or dQView), overwritten. */
  dQ: GPUBuffer;
  /** out [B,S,H,dqk] (or dKView), overwritten. */
  dK: GPUBuffer;
  /** out [B,S,H,dv] (or dVView), overwritten. */
  dV: GPUBuffer;
  qView?: HeadView;
  kView?: HeadView;
  vView?: HeadView;
  oView?: HeadView;
  /** Default: oView. */
  dOView?: HeadView;
  /** Default: qView (the gradient laid out like its input). */
  dQView?: HeadView;
  /** Default: kView. */
  dKView?: HeadView;
  /** Default: vView. */
  dVView?: HeadView;
}

/** Head vectors are held as vec4s; the shaders are specialized for these counts. */
function vec4s(d: number): number {
  return Math.ceil(d / 4);
}

/**
 * The WGSL modules: the shared part (constants, params, addressing, key
 * staging; see shaders/attention.wgsl) in front of each pass's entry points.
 */
const MODULES = {
  forward: `${shared}\n${forwardPart}`,
  backward: `${shared}\n${backwardPart}`,
};

const sources = new Map<string, string>();

/** The specialized WGSL (memoized: the model asks for it every layer and step). */
export function attentionSource(pass: 'forward' | 'backward', dqk: number, dv: number, t: AttentionTiles): string {
  const consts = { BR: t.rows, KS: t.splits, BC: t.cols, DQK4: vec4s(dqk), DV4: vec4s(dv) };
  const key = `${pass}:${Object.values(consts).join(',')}`;
  let code = sources.get(key);
  if (code === undefined) {
    code = specialize(MODULES[pass], consts);
    sources.set(key, code);
  }
  return code;
}

/** Workgroup memory of the most demanding pass, in bytes (mirrors the var<workgroup> sizes in the shaders). */
export function attentionWorkgroupBytes(dqk: number, dv: number, t: AttentionTiles): number {
  const [q4, v4] = [vec4s(dqk), vec4s(dv)];
  const rows = Math.max(t.rows, t.cols);
  const forward = 16 * (t.cols * q4 + rows * v4) + 8 * t.rows;
  const dq = 16 * (rows * q4 + t.cols * v4);
  const dkdv = 16 * rows * (q4 + v4) + 8 * t.cols;
  return Math.max(forward, dq, dkdv);
}

/**
 * Causal attention forward (flash style): o = softmax(scale·q·kᵀ + causal mask)·v
 * per (batch, head), and lse per query row. One dispatch, label `attention.forward`.
 */
export function attentionForward(gpu: Gpu, args: AttentionForwardArgs): Dispatch {
  const { B, S, H, dqk, dv } = args;
  const t = attentionTiles(gpu, args, 'forward');
  const views = {
    q: args.qView ?? contiguousView(H, dqk),
    k: args.kView ?? contiguousView(H, dqk),
    v: args.vView ?? contiguousView(H, dv),
    o: args.oView ?? contiguousView(H, dv),
  };
  checkView('q', args.q, views.q, args, dqk);
  checkView('k', args.k, views.k, args, dqk);
  checkView('v', args.v, views.v, args, dv);
  checkView('o', args.o, views.o, args, dv);
  checkSize('lse', args.lse, B * H * S);
  const unused = contiguousView(H, dv);
  return {
    label: 'attention.forward',
    pipeline: gpu.pipeline('attention.forward', attentionSource('forward', dqk, dv, t), 'main'),
    params: packParams(args, [views.q, views.k, views.v, views.o, unused, unused, unused, unused]),
    buffers: [args.q, args.k, args.v, args.o, args.lse],
    workgroups: [Math.ceil(S / t.rows), H, B],
  };
}

/**
 * Causal attention backward without atomics: two dispatches, recorded in
 * this order (no dependency between them), labels `attention.backward.dq`
 * (dQ) and `attention.backward.dkdv` (dK, dV). Needs no scratch buffer:
 * Δ = rowsum(dO∘O) is recomputed inside each pass.
 */
export function attentionBackward(gpu: Gpu, args: AttentionBackwardArgs): Dispatch[] {
  const { B, S, H, dqk, dv } = args;
  const t = attentionTiles(gpu, args, 'backward');
  const q = args.qView ?? contiguousView(H, dqk);
  const k = args.kView ?? contiguousView(H, dqk);
  const v = args.vView ?? contiguousView(H, dv);
  const o = args.oView ?? contiguousView(H, dv);
  const views = [q, k, v, o, args.dOView ?? o, args.dQView ?? q, args.dKView ?? k, args.dVView ?? v];
  const names = ['q', 'k', 'v', 'o', 'dO', 'dQ', 'dK', 'dV'];
  const buffers = [args.q, args.k, args.v, args.o, args.dO, args.dQ, args.dK, args.dV];
  const widths = [dqk, dqk, dv, dv, dv, dqk, dqk, dv];
  views.forEach((view, i) => checkView(names[i], buffers[i], view, args, widths[i]));
  checkSize('lse', args.lse, B * H * S);
  const code = attentionSource('backward', dqk, dv, t);
  const packed = packParams(args, views);
  const grid: [number, number, number] = [Math.ceil(S / t.rows), H, B];
  const inputs = [args.q, args.k, args.v, args.o, args.dO, args.lse];
  return [
    {
      label: 'attention.backward.dq',
      pipeline: gpu.pipeline('attention.backward.dq', code, 'dq'),
      params: packed,
      buffers: [...inputs, args.dQ],
      workgroups: grid,
    },
    {
      label: 'attention.backward.dkdv',
      pipeline: gpu.pipeline('attention.backward.dkdv', code, 'dkdv'),
      params: packed,
      buffers: [...inputs, args.dK, args.dV],
      workgroups: grid,
    },
  ];
}

/** The tiles a pass runs with: shape.tiles if given (checked), else its defaults fitted to the device. */
export function attentionTiles(gpu: Gpu, shape: AttentionShape, pass: 'forward' | 'backward'): AttentionTiles {
  return tilesFor(gpu, shape, pass === 'forward' ? DEFAULT_FORWARD_TILES : DEFAULT_BACKWARD_TILES);
}

/** Order and meaning as `struct Params` in shaders/attention.wgsl. */
function packParams(shape: AttentionShape, views: HeadView[]): ArrayBuffer {
  const pk = params().u32(shape.S).u32(shape.H).u32(shape.dqk).u32(shape.dv).f32(shape.scale ?? 1 / Math.sqrt(shape.dqk));
  for (const view of views) pk.u32(view.rowStride).u32(view.headStride).u32(view.offset);
  return pk.bytes();
}

/**
 * Checks dims and tiles against the device. Explicit tiles must fit; the
 * default tiles shrink (rows, then cols, halving) until the workgroup memory
 * that large head dims need fits the device.
 */
function tilesFor(gpu: Gpu, shape: AttentionShape, defaults: AttentionTiles): AttentionTiles {
  for (const [name, value] of Object.entries({ B: shape.B, S: shape.S, H: shape.H, dqk: shape.dqk, dv: shape.dv })) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`attention: ${name} must be a positive integer, got ${value}`);
  }
  const limit = gpu.limits.maxComputeWorkgroupStorageSize;
  let t = shape.tiles ?? defaults;
  if (!shape.tiles) {
    while (attentionWorkgroupBytes(shape.dqk, shape.dv, t) > limit && Math.max(t.rows, t.cols) > 4) {
      t = t.rows >= t.cols ? { ...t, rows: t.rows / 2 } : { ...t, cols: t.cols / 2 };
    }
  }
  for (const [name, value] of Object.entries(t)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`attention: tiles.${name} must be a positive integer, got ${value}`);
  }
  const threads = t.rows * t.splits;
  if (threads > gpu.limits.maxComputeInvocationsPerWorkgroup || threads > gpu.limits.maxComputeWorkgroupSizeX) {
    throw new RangeError(`attention: tiles.rows·tiles.splits = ${threads} exceeds the device's workgroup size limit`);
  }
  const bytes = attentionWorkgroupBytes(shape.dqk, shape.dv, t);
  if (bytes > limit) {
    throw new RangeError(
      `attention: dqk=${shape.dqk}, dv=${shape.dv} with tiles ${JSON.stringify(t)} need ${bytes} bytes of workgroup memory, ` +
        `over the device limit ${limit}; pass smaller tiles.rows / tiles.cols`,
    );
  }
  return t;
}

/** The largest element a view reaches must lie inside its buffer. */
function checkView(name: string, buf: GPUBuffer, view: HeadView, shape: AttentionShape, width: number): void {
  const { rowStride, headStride, offset } = view;
  for (const value of [rowStride, headStride, offset]) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`attention: ${name} view has a bad stride or offset: ${JSON.stringify(view)}`);
  }
  checkSize(name, buf, offset + (shape.B * shape.S - 1) * rowStride + (shape.H - 1) * headStride + width);
}

function checkSize(name: string, buf: GPUBuffer, elements: number): void {
  if (buf.size < elements * 4) throw new RangeError(`attention: ${name} buffer holds ${buf.size / 4} floats, needs ${elements}`);
}
