/**
 * The MLA forward pass on the GPU, recorded into one command encoder. It
 * follows docs/design.md §2 line by line, in the training ("naive") form, and
 * saves what the backward needs in the context's buffer pool.
 */
import type { Recorder } from '../gpu/gpu';
import { attentionForward } from '../kernels/attention/attention';
import { copyBlock } from '../kernels/copy/copy';
import { crossEntropyForward } from '../kernels/crossentropy/crossentropy';
import { embeddingForward } from '../kernels/embedding/embedding';
import { matmul } from '../kernels/matmul/matmul';
import { rmsnormForward } from '../kernels/rmsnorm/rmsnorm';
import { ropeForward } from '../kernels/rope/rope';
import { swigluForward } from '../kernels/swiglu/swiglu';
import { type BatchShape, finalActs, layerActs, layerNames, type ModelContext, param, vView } from './model-context';

/** Records embedding → layers → final norm → logits (→ loss when `withLoss`). */
export function recordForward(ctx: ModelContext, rec: Recorder, shape: BatchShape, withLoss: boolean): void {
  const { gpu, dims: d } = ctx;
  const T = shape.B * shape.S;
  const fin = finalActs(ctx, shape);
  rec.dispatch(
    embeddingForward(gpu, { n: T, V: d.V, D: d.D, ids: fin.ids, table: param(ctx, 'model.embed_tokens.weight'), y: ctx.pool.get('h0', T * d.D) }),
  );
  for (let l = 0; l < d.L; l++) recordLayerForward(ctx, rec, shape, l);
  rec.dispatch(rmsnormForward(gpu, { rows: T, D: d.D, x: fin.h, g: param(ctx, 'model.norm.weight'), y: fin.hn, rstd: fin.rstd, eps: d.eps }));
  rec.dispatch(matmul(gpu, { layout: 'nt', M: T, N: d.V, K: d.D, a: fin.hn, b: param(ctx, 'lm_head.weight'), c: fin.logits, label: 'lm_head' }));
  if (withLoss) {
    for (const dsp of crossEntropyForward(gpu, { rows: T, V: d.V, logits: fin.logits, targets: fin.targets, lse: fin.ceLse, losses: fin.ceLosses, loss: fin.loss })) {
      rec.dispatch(dsp);
    }
  }
}

function recordLayerForward(ctx: ModelContext, rec: Recorder, shape: BatchShape, l: number): void {
  const { gpu, dims: d } = ctx;
  const { B, S } = shape;
  const T = B * S;
  const w = layerNames(l);
  const x = layerActs(ctx, l, shape);
  const linear = (a: GPUBuffer, weight: string, c: GPUBuffer, N: number, K: number, label: string, beta = 0) =>
    rec.dispatch(matmul(gpu, { layout: 'nt', M: T, N, K, a, b: param(ctx, weight), c, beta, label }));

  // a = RMSNorm(h, input_layernorm)
  rec.dispatch(rmsnormForward(gpu, { rows: T, D: d.D, x: x.hIn, g: param(ctx, w.ln1), y: x.a, rstd: x.rstdIn, eps: d.eps }));

  // q = RMSNorm(a·q_aᵀ, q_a_layernorm)·q_bᵀ, or a·q_projᵀ; then RoPE on each head's last dr columns
  if (d.rq > 0) {
    linear(x.a, w.qA, x.qa!, d.rq, d.D, 'q_a_proj');
    rec.dispatch(rmsnormForward(gpu, { rows: T, D: d.rq, x: x.qa!, g: param(ctx, w.qALn), y: x.qaNorm!, rstd: x.rstdQa!, eps: d.latentEps }));
    linear(x.qaNorm!, w.qB, x.q, d.qOut, d.rq, 'q_b_proj');
  } else {
    linear(x.a, w.qProj, x.q, d.qOut, d.D, 'q_proj');
  }
  rec.dispatch(ropeForward(gpu, { B, S, heads: d.H, stride: d.dqk, offset: d.dn, dr: d.dr, x: x.q, tables: ctx.rope }));

  // [c_kv | k_pe] = a·kv_a_proj_with_mqaᵀ; kv = RMSNorm(c_kv)·kv_b_projᵀ; RoPE on the one shared k_pe
  linear(x.a, w.kvA, x.ckp, d.kvaOut, d.D, 'kv_a_proj');
  rec.dispatch(
    rmsnormForward(gpu, { rows: T, D: d.rkv, stride: d.kvaOut, x: x.ckp, g: param(ctx, w.kvALn), y: x.ckvNorm, rstd: x.rstdKv, eps: d.latentEps }),
  );
  rec.dispatch(ropeForward(gpu, { B, S, heads: 1, stride: d.kvaOut, offset: d.rkv, dr: d.dr, x: x.ckp, tables: ctx.rope }));
  linear(x.ckvNorm, w.kvB, x.kv, d.kvbOut, d.rkv, 'kv_b_proj');

  // K_h = [k_nope_h | k_pe]: copy each head's k_nope, then broadcast k_pe to every head
  rec.dispatch(
    copyBlock(gpu, { src: x.kv, dst: x.k, rows: T * d.H, cols: d.dn, from: { offset: 0, rowStride: d.dn + d.dv }, to: { offset: 0, rowStride: d.dqk }, label: 'mla.k_nope' }),
  );
  rec.dispatch(
    copyBlock(gpu, {
      src: x.ckp,
      dst: x.k,
      rows: T,
      cols: d.dr,
      reps: d.H,
      from: { offset: d.rkv, rowStride: d.kvaOut, repStride: 0 },
      to: { offset: d.dn, rowStride: d.qOut, repStride: d.dqk },
      label: 'mla.k_pe',
    }),
  );

  // O = causal softmax(Q Kᵀ/sqrt(dn+dr))·V, V read in place from kv; h1 = h + O·o_projᵀ
  rec.dispatch(attentionForward(gpu, { B, S, H: d.H, dqk: d.dqk, dv: d.dv, scale: d.scale, q: x.q, k: x.k, v: x.kv, vView: vView(d), o: x.o, lse: x.lse }));
  rec.copy(x.hIn, x.h1, T * d.D * 4);
  linear(x.o, w.oProj, x.h1, d.D, d.oIn, 'o_proj', 1);

  // h_out = h1 + (silu(m·gateᵀ) ∘ m·upᵀ)·downᵀ with m = RMSNorm(h1, post_attention_layernorm)
  rec.dispatch(rmsnormForward(gpu, { rows: T, D: d.D, x: x.h1, g: param(ctx, w.ln2), y: x.m, rstd: x.rstdPost, eps: d.eps }));
  linear(x.m, w.gate, x.gate, d.I, d.D, 'gate_proj');
  linear(x.m, w.up, x.up, d.I, d.D, 'up_proj');
  rec.dispatch(swigluForward(gpu, { n: T * d.I, gate: x.gate, up: x.up, h: x.act }));
  rec.copy(x.h1, x.hOut, T * d.D * 4);
  linear(x.act, w.down, x.hOut, d.D, d.I, 'down_proj', 1);
}
