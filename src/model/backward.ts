/**
 * The MLA backward pass on the GPU: the forward of src/model/forward.ts in
 * reverse. Weight gradients are overwritten (beta 0) or added to (beta 1, for
 * gradient accumulation over micro-batches); activation gradients live in
 * shared scratch buffers reused by every layer.
 */
import type { Recorder } from '../gpu/gpu';
import { attentionBackward } from '../kernels/attention/attention';
import { copyBlock } from '../kernels/copy/copy';
import { crossEntropyBackward } from '../kernels/crossentropy/crossentropy';
import { embeddingBackward } from '../kernels/embedding/embedding';
import { matmul } from '../kernels/matmul/matmul';
import { rmsnormBackward, rmsnormScratchBytes } from '../kernels/rmsnorm/rmsnorm';
import { ropeBackward } from '../kernels/rope/rope';
import { swigluBackward } from '../kernels/swiglu/swiglu';
import { type BatchShape, finalActs, grad, layerActs, layerNames, type ModelContext, param, vView } from './model-context';

export interface BackwardOptions {
  /** Add to the gradient buffer instead of overwriting it. */
  accumulate: boolean;
  /** Multiplies the loss gradient (1/k when averaging k micro-batches). */
  scale: number;
  /** Token-id buckets for the embedding gradient, already uploaded. */
  offsets: GPUBuffer;
  positions: GPUBuffer;
}

/** Activation-gradient scratch, shared by all layers (counted by batch-memory.ts too). */
export function backwardScratch(ctx: ModelContext, { B, S }: BatchShape) {
  const T = B * S;
  const d = ctx.dims;
  const get = (name: string, floats: number) => ctx.pool.get(`grad.${name}`, floats);
  const normFloats = Math.max(...[d.D, d.rq, d.rkv].map((n) => rmsnormScratchBytes(T, Math.max(n, 1)) / 4));
  return {
    dh: get('dh', T * d.D),
    dhn: get('dhn', T * d.D),
    da: get('da', T * d.D),
    dm: get('dm', T * d.D),
    dact: get('dact', T * d.I),
    dgate: get('dgate', T * d.I),
    dup: get('dup', T * d.I),
    dO: get('dO', T * d.oIn),
    dq: get('dq', T * d.qOut),
    dk: get('dk', T * d.qOut),
    dkv: get('dkv', T * d.kvbOut),
    dckp: get('dckp', T * d.kvaOut),
    dckvNorm: get('dckvNorm', T * d.rkv),
    dqaNorm: get('dqaNorm', T * Math.max(d.rq, 1)),
    dqa: get('dqa', T * Math.max(d.rq, 1)),
    norm: get('normScratch', normFloats),
  };
}

export function recordBackward(ctx: ModelContext, rec: Recorder, shape: BatchShape, opts: BackwardOptions): void {
  const { gpu, dims: d } = ctx;
  const T = shape.B * shape.S;
  const fin = finalActs(ctx, shape);
  const g = backwardScratch(ctx, shape);
  const beta = opts.accumulate ? 1 : 0;

  // dlogits overwrite the logits in place: they are the largest activation.
  rec.dispatch(crossEntropyBackward(gpu, { rows: T, V: d.V, logits: fin.logits, targets: fin.targets, lse: fin.ceLse, loss: fin.loss, scale: opts.scale }));
  const dlogits = fin.logits;
  rec.dispatch(matmul(gpu, { layout: 'tn', M: d.V, N: d.D, K: T, a: dlogits, b: fin.hn, c: grad(ctx, 'lm_head.weight'), beta, label: 'lm_head.dW' }));
  rec.dispatch(matmul(gpu, { layout: 'nn', M: T, N: d.D, K: d.V, a: dlogits, b: param(ctx, 'lm_head.weight'), c: g.dhn, label: 'lm_head.dx' }));
  for (const dsp of rmsnormBackward(gpu, {
    rows: T,
    D: d.D,
    x: fin.h,
    g: param(ctx, 'model.norm.weight'),
    rstd: fin.rstd,
    dy: g.dhn,
    dx: g.dh,
    dg: grad(ctx, 'model.norm.weight'),
    scratch: g.norm,
    accumulateDg: opts.accumulate,
  })) {
    rec.dispatch(dsp);
  }
  for (let l = d.L - 1; l >= 0; l--) recordLayerBackward(ctx, rec, shape, l, g, opts.accumulate);
  rec.dispatch(
    embeddingBackward(gpu, {
      V: d.V,
      D: d.D,
      offsets: opts.offsets,
      positions: opts.positions,
      dy: g.dh,
      dTable: grad(ctx, 'model.embed_tokens.weight'),
      accumulate: opts.accumulate,
    }),
  );
}

type Scratch = ReturnType<typeof backwardScratch>;

function recordLayerBackward(ctx: ModelContext, rec: Recorder, shape: BatchShape, l: number, g: Scratch, accumulate: boolean): void {
  const { gpu, dims: d } = ctx;
  const { B, S } = shape;
  const T = B * S;
  const w = layerNames(l);
  const x = layerActs(ctx, l, shape);
  const beta = accumulate ? 1 : 0;
  // For y = a·Wᵀ: dW (+)= dyᵀ·a and da (+)= dy·W.
  const weightGrad = (dy: GPUBuffer, a: GPUBuffer, weight: string, N: number, K: number) =>
    rec.dispatch(matmul(gpu, { layout: 'tn', M: N, N: K, K: T, a: dy, b: a, c: grad(ctx, weight), beta, label: `${weight.split('.').slice(-2, -1)[0]}.dW` }));
  const inputGrad = (dy: GPUBuffer, weight: string, da: GPUBuffer, N: number, K: number, accumulateInto = false) =>
    rec.dispatch(
      matmul(gpu, { layout: 'nn', M: T, N: K, K: N, a: dy, b: param(ctx, weight), c: da, beta: accumulateInto ? 1 : 0, label: `${weight.split('.').slice(-2, -1)[0]}.dx` }),
    );
  const normBackward = (args: Omit<Parameters<typeof rmsnormBackward>[1], 'scratch' | 'accumulateDg'>) => {
    for (const dsp of rmsnormBackward(gpu, { ...args, scratch: g.norm, accumulateDg: accumulate })) rec.dispatch(dsp);
  };

  // MLP: h_out = h1 + act·downᵀ, act = silu(gate)∘up, gate/up = m·Wᵀ, m = RMSNorm(h1)
  inputGrad(g.dh, w.down, g.dact, d.D, d.I);
  weightGrad(g.dh, x.act, w.down, d.D, d.I);
  rec.dispatch(swigluBackward(gpu, { n: T * d.I, gate: x.gate, up: x.up, dh: g.dact, dgate: g.dgate, dup: g.dup }));
  weightGrad(g.dgate, x.m, w.gate, d.I, d.D);
  weightGrad(g.dup, x.m, w.up, d.I, d.D);
  inputGrad(g.dgate, w.gate, g.dm, d.I, d.D);
  inputGrad(g.dup, w.up, g.dm, d.I, d.D, true);
  // dh (the residual's gradient) gains the norm path: now dL/dh1.
  normBackward({ rows: T, D: d.D, x: x.h1, g: param(ctx, w.ln2), rstd: x.rstdPost, dy: g.dm, dx: g.dh, dg: grad(ctx, w.ln2), accumulateDx: true });

  // Attention: h1 = h_in + O·o_projᵀ
  inputGrad(g.dh, w.oProj, g.dO, d.D, d.oIn);
  weightGrad(g.dh, x.o, w.oProj, d.D, d.oIn);
  for (const dsp of attentionBackward(gpu, {
    B,
    S,
    H: d.H,
    dqk: d.dqk,
    dv: d.dv,
    scale: d.scale,
    q: x.q,
    k: x.k,
    v: x.kv,
    vView: vView(d),
    o: x.o,
    lse: x.lse,
    dO: g.dO,
    dQ: g.dq,
    dK: g.dk,
    dV: g.dkv,
  })) {
    rec.dispatch(dsp);
  }
  // dV went straight into dkv's v columns; k_nope's gradient goes into its first dn columns.
  rec.dispatch(
    copyBlock(gpu, { src: g.dk, dst: g.dkv, rows: T * d.H, cols: d.dn, from: { offset: 0, rowStride: d.dqk }, to: { offset: 0, rowStride: d.dn + d.dv }, label: 'mla.dk_nope' }),
  );
  // k_pe is shared by every head, so its gradient is the sum over heads (in head order, deterministic).
  for (let h = 0; h < d.H; h++) {
    rec.dispatch(
      copyBlock(gpu, {
        src: g.dk,
        dst: g.dckp,
        rows: T,
        cols: d.dr,
        accumulate: h > 0,
        from: { offset: h * d.dqk + d.dn, rowStride: d.qOut },
        to: { offset: d.rkv, rowStride: d.kvaOut },
        label: 'mla.dk_pe',
      }),
    );
  }
  rec.dispatch(ropeBackward(gpu, { B, S, heads: 1, stride: d.kvaOut, offset: d.rkv, dr: d.dr, x: g.dckp, tables: ctx.rope }));
  rec.dispatch(ropeBackward(gpu, { B, S, heads: d.H, stride: d.dqk, offset: d.dn, dr: d.dr, x: g.dq, tables: ctx.rope }));

  // kv = RMSNorm(c_kv)·kv_bᵀ, [c_kv | k_pe] = a·kv_aᵀ
  weightGrad(g.dkv, x.ckvNorm, w.kvB, d.kvbOut, d.rkv);
  inputGrad(g.dkv, w.kvB, g.dckvNorm, d.kvbOut, d.rkv);
  normBackward({ rows: T, D: d.rkv, stride: d.kvaOut, x: x.ckp, g: param(ctx, w.kvALn), rstd: x.rstdKv, dy: g.dckvNorm, dx: g.dckp, dg: grad(ctx, w.kvALn) });
  weightGrad(g.dckp, x.a, w.kvA, d.kvaOut, d.D);
  inputGrad(g.dckp, w.kvA, g.da, d.kvaOut, d.D);

  // q
  if (d.rq > 0) {
    weightGrad(g.dq, x.qaNorm!, w.qB, d.qOut, d.rq);
    inputGrad(g.dq, w.qB, g.dqaNorm, d.qOut, d.rq);
    normBackward({ rows: T, D: d.rq, x: x.qa!, g: param(ctx, w.qALn), rstd: x.rstdQa!, dy: g.dqaNorm, dx: g.dqa, dg: grad(ctx, w.qALn) });
    weightGrad(g.dqa, x.a, w.qA, d.rq, d.D);
    inputGrad(g.dqa, w.qA, g.da, d.rq, d.D, true);
  } else {
    weightGrad(g.dq, x.a, w.qProj, d.qOut, d.D);
    inputGrad(g.dq, w.qProj, g.da, d.qOut, d.D, true);
  }

  // a = RMSNorm(h_in): dh becomes dL/dh_in
  normBackward({ rows: T, D: d.D, x: x.hIn, g: param(ctx, w.ln1), rstd: x.rstdIn, dy: g.da, dx: g.dh, dg: grad(ctx, w.ln1), accumulateDx: true });
}
