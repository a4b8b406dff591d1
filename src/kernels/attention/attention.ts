import forwardCode from '../../../shaders/attention_forward.wgsl?raw';
import backwardCode from '../../../shaders/attention_backward.wgsl?raw';
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
 * rows: rows each workgroup owns, one per thread (query rows in the forward
 * and the dQ pass, key rows in the dK/dV pass). cols: rows of the other
 * operand staged in workgroup memory per step.
 */
export interface AttentionTiles {
  rows: number;
  cols: number;
}

export const DEFAULT_ATTENTION_TILES: AttentionTiles = { rows: 64, cols: 16 };

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

/** The register and workgroup arrays hold head dims up to maxD; one pipeline per multiple of 16. */
export function attentionMaxD(dqk: number, dv: number): number {
  return Math.max(16, Math.ceil(Math.max(dqk, dv) / 16) * 16);
}

export function attentionSource(pass: 'forward' | 'backward', maxD: number, t: AttentionTiles = DEFAULT_ATTENTION_TILES): string {
  return specialize(pass === 'forward' ? forwardCode : backwardCode, { BR: t.rows, BC: t.cols, MAX_D: maxD });
}

/**
 * Causal attention forward (flash style): o = softmax(scale·q·kᵀ + causal mask)·v
 * per (batch, head), and lse per query row. One dispatch, label `attention.forward`.
 */
export function attentionForward(gpu: Gpu, args: AttentionForwardArgs): Dispatch {
  const { B, S, H, dqk, dv } = args;
  const t = args.tiles ?? DEFAULT_ATTENTION_TILES;
  const maxD = validate(gpu, args, t);
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
    pipeline: gpu.pipeline('attention.forward', attentionSource('forward', maxD, t), 'main'),
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
  const t = args.tiles ?? DEFAULT_ATTENTION_TILES;
  const maxD = validate(gpu, args, t);
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
  const code = attentionSource('backward', maxD, t);
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

/** Order and meaning as `struct Params` in shaders/attention_*.wgsl. */
function packParams(shape: AttentionShape, views: HeadView[]): ArrayBuffer {
  const pk = params().u32(shape.S).u32(shape.H).u32(shape.dqk).u32(shape.dv).f32(shape.scale ?? 1 / Math.sqrt(shape.dqk));
  for (const view of views) pk.u32(view.rowStride).u32(view.headStride).u32(view.offset);
  return pk.bytes();
}

/** Checks dims and tiles against the device; returns the MAX_D to specialize. */
function validate(gpu: Gpu, shape: AttentionShape, t: AttentionTiles): number {
  for (const [name, value] of Object.entries({ B: shape.B, S: shape.S, H: shape.H, dqk: shape.dqk, dv: shape.dv, rows: t.rows, cols: t.cols })) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`attention: ${name} must be a positive integer, got ${value}`);
  }
  const maxD = attentionMaxD(shape.dqk, shape.dv);
  const limits = gpu.limits;
  if (t.rows > limits.maxComputeInvocationsPerWorkgroup || t.rows > limits.maxComputeWorkgroupSizeX) {
    throw new RangeError(`attention: tiles.rows ${t.rows} exceeds the device's workgroup size limit`);
  }
  // The dK/dV pass stages the most: two [cols, maxD] tiles plus lse and Δ.
  const bytes = 4 * t.cols * (2 * maxD + 2);
  if (bytes > limits.maxComputeWorkgroupStorageSize) {
    throw new RangeError(
      `attention: head dim max(dqk=${shape.dqk}, dv=${shape.dv}) needs ${bytes} bytes of workgroup memory with tiles.cols=${t.cols}, ` +
        `over the device limit ${limits.maxComputeWorkgroupStorageSize}; pass smaller tiles.cols`,
    );
  }
  return maxD;
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
