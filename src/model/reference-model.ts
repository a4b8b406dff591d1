/**
 * The float64 reference of the whole MLA model (docs/design.md §2), composed from the
 * per-op references so that the GPU model can be checked against it op by op
 * (same intermediates, same layouts) and end to end (loss and every grad).
 *
 * Training ("naive") form: K and V are expanded per head from the latent;
 * the absorbed form is for inference only. Layouts are row-major with
 * T = B·S token rows ordered [B,S]; per-head tensors are [T,H,width].
 */
import { attentionBackward, attentionForward } from '../kernels/attention/attention.ref';
import { crossEntropyBackward, crossEntropyForward } from '../kernels/crossentropy/crossentropy.ref';
import { embeddingBackward, embeddingForward } from '../kernels/embedding/embedding.ref';
import { matmulNN, matmulNT, matmulTN } from '../kernels/matmul/matmul.ref';
import { rmsnormBackward, rmsnormForward } from '../kernels/rmsnorm/rmsnorm.ref';
import { ropeBackward, ropeForward } from '../kernels/rope/rope.ref';
import { swigluBackward, swigluForward } from '../kernels/swiglu/swiglu.ref';
import { layerPrefix, modelDims, numel, parameterSpecs, type ModelConfig, type ModelDims } from './config';

/**
 * What one layer's forward keeps for its backward. Each field documents the
 * op that produced it; `layerActivationShapes` gives every shape, so a GPU
 * model can allocate the same buffers and compare them one by one.
 */
export interface LayerCache {
  /** [T,D] residual stream entering the layer. */
  hIn: Float64Array;
  /** [T,D] RMSNorm(hIn, input_layernorm). */
  a: Float64Array;
  /** [T] 1/rms of each hIn row. */
  rstdIn: Float64Array;
  /** [T,rq] a·q_a_projᵀ, before q_a_layernorm; null when q_lora_rank = 0. */
  qa: Float64Array | null;
  /** [T,rq] RMSNorm(qa, q_a_layernorm) (latent eps); null when q_lora_rank = 0. */
  qaNorm: Float64Array | null;
  /** [T] 1/rms of each qa row; null when q_lora_rank = 0. */
  rstdQa: Float64Array | null;
  /** [T,H,dn+dr] queries after RoPE on columns dn… of each head. */
  q: Float64Array;
  /** [T,rkv+dr] a·kv_a_proj_with_mqaᵀ before RoPE: c_kv = columns 0…rkv, raw k_pe after. */
  ckp: Float64Array;
  /** [T,rkv] RMSNorm(c_kv, kv_a_layernorm) (latent eps). */
  ckvNorm: Float64Array;
  /** [T] 1/rms of each c_kv row. */
  rstdKv: Float64Array;
  /** [T,H,dn+dv] ckvNorm·kv_b_projᵀ: per head k_nope | v. */
  kv: Float64Array;
  /** [T,H,dn+dr] keys: k_nope of the head | the rotated k_pe shared by all heads. */
  k: Float64Array;
  /** [T,H,dv] values. */
  v: Float64Array;
  /** [T,H,dv] attention output (= [T, H·dv], the o_proj input). */
  o: Float64Array;
  /** [B,H,S] log-sum-exp of each scaled, masked score row. */
  lse: Float64Array;
  /** [T,D] hIn + o·o_projᵀ. */
  h1: Float64Array;
  /** [T,D] RMSNorm(h1, post_attention_layernorm). */
  m: Float64Array;
  /** [T] 1/rms of each h1 row. */
  rstdPost: Float64Array;
  /** [T,I] m·gate_projᵀ. */
  gate: Float64Array;
  /** [T,I] m·up_projᵀ. */
  up: Float64Array;
  /** [T,I] silu(gate)∘up, the down_proj input. The layer output is h1 + act·down_projᵀ. */
  act: Float64Array;
}

export interface FinalCache {
  /** [T,D] residual stream after the last layer. */
  h: Float64Array;
  /** [T,D] RMSNorm(h, model.norm). */
  hn: Float64Array;
  /** [T] 1/rms of each h row. */
  rstd: Float64Array;
}

export interface ForwardCache {
  layers: LayerCache[];
  final: FinalCache;
}

export type LayerActivationShapes = { [K in keyof LayerCache]: number[] | null };
export type FinalActivationShapes = { [K in keyof FinalCache]: number[] };

/** Shapes of every cached intermediate of one layer (null where the config has none). */
export function layerActivationShapes(config: ModelConfig, B: number, S: number): LayerActivationShapes {
  const d = modelDims(config);
  const T = B * S;
  const lora = d.rq > 0;
  return {
    hIn: [T, d.D],
    a: [T, d.D],
    rstdIn: [T],
    qa: lora ? [T, d.rq] : null,
    qaNorm: lora ? [T, d.rq] : null,
    rstdQa: lora ? [T] : null,
    q: [T, d.H, d.dqk],
    ckp: [T, d.kvaOut],
    ckvNorm: [T, d.rkv],
    rstdKv: [T],
    kv: [T, d.H, d.dn + d.dv],
    k: [T, d.H, d.dqk],
    v: [T, d.H, d.dv],
    o: [T, d.H, d.dv],
    lse: [B, d.H, S],
    h1: [T, d.D],
    m: [T, d.D],
    rstdPost: [T],
    gate: [T, d.I],
    up: [T, d.I],
    act: [T, d.I],
  };
}

export function finalActivationShapes(config: ModelConfig, B: number, S: number): FinalActivationShapes {
  const T = B * S;
  return { h: [T, config.hidden_size], hn: [T, config.hidden_size], rstd: [T] };
}

/** Widens f32 weights for the reference. */
export function toFloat64Params(params: Map<string, Float32Array>): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const [name, w] of params) out.set(name, Float64Array.from(w));
  return out;
}

/** logits [B·S, V] for input ids [B·S], and everything the backward needs. */
export function referenceForward(
  params: Map<string, Float64Array>,
  config: ModelConfig,
  inputIds: Int32Array,
  B: number,
  S: number,
): { logits: Float64Array; cache: ForwardCache } {
  const d = modelDims(config);
  checkInputs(params, config, inputIds, B, S);
  const w = (name: string) => params.get(name)!;
  let h = embeddingForward(w('model.embed_tokens.weight'), inputIds, d.V, d.D);
  const layers: LayerCache[] = [];
  for (let l = 0; l < d.L; l++) {
    const cache = layerForward(h, (n) => w(layerPrefix(l) + n), d, B, S);
    layers.push(cache);
    h = addInto(matmulNT(cache.act, w(layerPrefix(l) + 'mlp.down_proj.weight'), B * S, d.I, d.D), cache.h1);
  }
  const T = B * S;
  const { y: hn, rstd } = rmsnormForward(h, w('model.norm.weight'), T, d.D, d.eps);
  const logits = matmulNT(hn, w('lm_head.weight'), T, d.D, d.V);
  return { logits, cache: { layers, final: { h, hn, rstd } } };
}

/** Mean cross-entropy over targets ≠ −100, and its gradient w.r.t. every parameter. */
export function referenceLossAndGrads(
  params: Map<string, Float64Array>,
  config: ModelConfig,
  inputIds: Int32Array,
  targets: Int32Array,
  B: number,
  S: number,
): { loss: number; grads: Map<string, Float64Array> } {
  const d = modelDims(config);
  const T = B * S;
  const { logits, cache } = referenceForward(params, config, inputIds, B, S);
  const ce = crossEntropyForward(logits, targets, T, d.V);
  const dlogits = crossEntropyBackward(logits, targets, ce.lse, T, d.V, ce.count);
  const w = (name: string) => params.get(name)!;
  const grads = new Map<string, Float64Array>();

  grads.set('lm_head.weight', matmulTN(dlogits, cache.final.hn, T, d.V, d.D));
  const dhn = matmulNN(dlogits, w('lm_head.weight'), T, d.V, d.D);
  const fin = rmsnormBackward(dhn, cache.final.h, w('model.norm.weight'), cache.final.rstd, T, d.D);
  grads.set('model.norm.weight', fin.dg);
  let dh = fin.dx;
  for (let l = d.L - 1; l >= 0; l--) {
    const p = layerPrefix(l);
    dh = layerBackward(dh, cache.layers[l], (n) => w(p + n), (n, g) => grads.set(p + n, g), d, B, S);
  }
  grads.set('model.embed_tokens.weight', embeddingBackward(dh, inputIds, d.V, d.D));
  return { loss: ce.loss, grads: inSpecOrder(config, grads) };
}

/** Just the loss (for finite differences and quick checks). */
export function referenceLoss(
  params: Map<string, Float64Array>,
  config: ModelConfig,
  inputIds: Int32Array,
  targets: Int32Array,
  B: number,
  S: number,
): number {
  const { logits } = referenceForward(params, config, inputIds, B, S);
  return crossEntropyForward(logits, targets, B * S, config.vocab_size).loss;
}

type Weight = (name: string) => Float64Array;
type SetGrad = (name: string, grad: Float64Array) => void;

/** Everything of one layer up to the MLP activation (the caller applies down_proj and the residual). */
function layerForward(hIn: Float64Array, w: Weight, d: ModelDims, B: number, S: number): LayerCache {
  const T = B * S;
  const { y: a, rstd: rstdIn } = rmsnormForward(hIn, w('input_layernorm.weight'), T, d.D, d.eps);
  const { qa, qaNorm, rstdQa, qRaw } = queryForward(a, w, d, T);
  const q = ropeForward(qRaw, B, S, d.H, d.dqk, d.dn, d.dr, d.theta);
  const ckp = matmulNT(a, w('self_attn.kv_a_proj_with_mqa.weight'), T, d.D, d.kvaOut);
  const ckpRot = ropeForward(ckp, B, S, 1, d.kvaOut, d.rkv, d.dr, d.theta);
  const ckv = sliceColumns(ckp, T, d.kvaOut, 0, d.rkv);
  const { y: ckvNorm, rstd: rstdKv } = rmsnormForward(ckv, w('self_attn.kv_a_layernorm.weight'), T, d.rkv, d.latentEps);
  const kv = matmulNT(ckvNorm, w('self_attn.kv_b_proj.weight'), T, d.rkv, d.kvbOut);
  const { k, v } = expandKeysValues(kv, ckpRot, d, T);
  const { o, lse } = attentionForward(q, k, v, B, S, d.H, d.dqk, d.dv, d.scale);
  const h1 = addInto(matmulNT(o, w('self_attn.o_proj.weight'), T, d.oIn, d.D), hIn);
  const { y: m, rstd: rstdPost } = rmsnormForward(h1, w('post_attention_layernorm.weight'), T, d.D, d.eps);
  const gate = matmulNT(m, w('mlp.gate_proj.weight'), T, d.D, d.I);
  const up = matmulNT(m, w('mlp.up_proj.weight'), T, d.D, d.I);
  const act = swigluForward(gate, up);
  return { hIn, a, rstdIn, qa, qaNorm, rstdQa, q, ckp, ckvNorm, rstdKv, kv, k, v, o, lse, h1, m, rstdPost, gate, up, act };
}

/** q before RoPE: a·q_projᵀ, or RMSNorm(a·q_a_projᵀ)·q_b_projᵀ with a low-rank query. */
function queryForward(a: Float64Array, w: Weight, d: ModelDims, T: number) {
  if (d.rq === 0) {
    return { qa: null, qaNorm: null, rstdQa: null, qRaw: matmulNT(a, w('self_attn.q_proj.weight'), T, d.D, d.qOut) };
  }
  const qa = matmulNT(a, w('self_attn.q_a_proj.weight'), T, d.D, d.rq);
  const { y: qaNorm, rstd: rstdQa } = rmsnormForward(qa, w('self_attn.q_a_layernorm.weight'), T, d.rq, d.latentEps);
  return { qa, qaNorm, rstdQa, qRaw: matmulNT(qaNorm, w('self_attn.q_b_proj.weight'), T, d.rq, d.qOut) };
}

/** K_h = [k_nope_h | k_pe] with the one rotated k_pe copied into every head; V_h = v_h. */
function expandKeysValues(kv: Float64Array, ckpRot: Float64Array, d: ModelDims, T: number) {
  const k = new Float64Array(T * d.H * d.dqk);
  const v = new Float64Array(T * d.H * d.dv);
  const kvW = d.dn + d.dv;
  for (let t = 0; t < T; t++) {
    const kPe = ckpRot.subarray(t * d.kvaOut + d.rkv, (t + 1) * d.kvaOut);
    for (let h = 0; h < d.H; h++) {
      const src = (t * d.H + h) * kvW;
      const kRow = (t * d.H + h) * d.dqk;
      k.set(kv.subarray(src, src + d.dn), kRow);
      k.set(kPe, kRow + d.dn);
      v.set(kv.subarray(src + d.dn, src + kvW), (t * d.H + h) * d.dv);
    }
  }
  return { k, v };
}

/** Reverse of layerForward plus the MLP and both residuals; returns d(hIn) given d(layer output). */
function layerBackward(dOut: Float64Array, c: LayerCache, w: Weight, setGrad: SetGrad, d: ModelDims, B: number, S: number): Float64Array {
  const T = B * S;
  const dh1 = mlpBackward(dOut, c, w, setGrad, d, T);
  setGrad('self_attn.o_proj.weight', matmulTN(dh1, c.o, T, d.D, d.oIn));
  const dO = matmulNN(dh1, w('self_attn.o_proj.weight'), T, d.D, d.oIn);
  const att = attentionBackward(c.q, c.k, c.v, c.o, c.lse, dO, B, S, d.H, d.dqk, d.dv, d.scale);
  const { dkv, dkPe } = collapseKeysValues(att.dk, att.dv, d, T);

  setGrad('self_attn.kv_b_proj.weight', matmulTN(dkv, c.ckvNorm, T, d.kvbOut, d.rkv));
  const dckvNorm = matmulNN(dkv, w('self_attn.kv_b_proj.weight'), T, d.kvbOut, d.rkv);
  const kvNorm = rmsnormBackward(dckvNorm, sliceColumns(c.ckp, T, d.kvaOut, 0, d.rkv), w('self_attn.kv_a_layernorm.weight'), c.rstdKv, T, d.rkv);
  setGrad('self_attn.kv_a_layernorm.weight', kvNorm.dg);
  // RoPE passes the c_kv columns through, so un-rotate k_pe first and then write dc_kv beside it.
  const dckp = ropeBackward(placeColumns(dkPe, T, d.dr, d.kvaOut, d.rkv), B, S, 1, d.kvaOut, d.rkv, d.dr, d.theta);
  addColumns(dckp, kvNorm.dx, T, d.kvaOut, 0, d.rkv);
  setGrad('self_attn.kv_a_proj_with_mqa.weight', matmulTN(dckp, c.a, T, d.kvaOut, d.D));
  const da = matmulNN(dckp, w('self_attn.kv_a_proj_with_mqa.weight'), T, d.kvaOut, d.D);

  const dqRaw = ropeBackward(att.dq, B, S, d.H, d.dqk, d.dn, d.dr, d.theta);
  addInto(da, queryBackward(dqRaw, c, w, setGrad, d, T));
  const inNorm = rmsnormBackward(da, c.hIn, w('input_layernorm.weight'), c.rstdIn, T, d.D);
  setGrad('input_layernorm.weight', inNorm.dg);
  return addInto(inNorm.dx, dh1);
}

/** d(h1) from d(layer output): the residual plus the MLP branch through post_attention_layernorm. */
function mlpBackward(dOut: Float64Array, c: LayerCache, w: Weight, setGrad: SetGrad, d: ModelDims, T: number): Float64Array {
  setGrad('mlp.down_proj.weight', matmulTN(dOut, c.act, T, d.D, d.I));
  const dact = matmulNN(dOut, w('mlp.down_proj.weight'), T, d.D, d.I);
  const { dgate, dup } = swigluBackward(c.gate, c.up, dact);
  setGrad('mlp.gate_proj.weight', matmulTN(dgate, c.m, T, d.I, d.D));
  setGrad('mlp.up_proj.weight', matmulTN(dup, c.m, T, d.I, d.D));
  const dm = addInto(matmulNN(dgate, w('mlp.gate_proj.weight'), T, d.I, d.D), matmulNN(dup, w('mlp.up_proj.weight'), T, d.I, d.D));
  const post = rmsnormBackward(dm, c.h1, w('post_attention_layernorm.weight'), c.rstdPost, T, d.D);
  setGrad('post_attention_layernorm.weight', post.dg);
  return addInto(post.dx, dOut);
}

/** d(a) through the query path, from the gradient of q before RoPE. */
function queryBackward(dqRaw: Float64Array, c: LayerCache, w: Weight, setGrad: SetGrad, d: ModelDims, T: number): Float64Array {
  if (d.rq === 0) {
    setGrad('self_attn.q_proj.weight', matmulTN(dqRaw, c.a, T, d.qOut, d.D));
    return matmulNN(dqRaw, w('self_attn.q_proj.weight'), T, d.qOut, d.D);
  }
  setGrad('self_attn.q_b_proj.weight', matmulTN(dqRaw, c.qaNorm!, T, d.qOut, d.rq));
  const dqaNorm = matmulNN(dqRaw, w('self_attn.q_b_proj.weight'), T, d.qOut, d.rq);
  const qNorm = rmsnormBackward(dqaNorm, c.qa!, w('self_attn.q_a_layernorm.weight'), c.rstdQa!, T, d.rq);
  setGrad('self_attn.q_a_layernorm.weight', qNorm.dg);
  setGrad('self_attn.q_a_proj.weight', matmulTN(qNorm.dx, c.a, T, d.rq, d.D));
  return matmulNN(qNorm.dx, w('self_attn.q_a_proj.weight'), T, d.rq, d.D);
}

/**
 * Transpose of expandKeysValues: dk_nope and dv go back to their rows of kv;
 * k_pe was shared by every head, so its gradient is the sum over heads.
 */
function collapseKeysValues(dk: Float64Array, dv: Float64Array, d: ModelDims, T: number) {
  const kvW = d.dn + d.dv;
  const dkv = new Float64Array(T * d.kvbOut);
  const dkPe = new Float64Array(T * d.dr);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < d.H; h++) {
      const dst = (t * d.H + h) * kvW;
      const kRow = (t * d.H + h) * d.dqk;
      dkv.set(dk.subarray(kRow, kRow + d.dn), dst);
      dkv.set(dv.subarray((t * d.H + h) * d.dv, (t * d.H + h + 1) * d.dv), dst + d.dn);
      for (let i = 0; i < d.dr; i++) dkPe[t * d.dr + i] += dk[kRow + d.dn + i];
    }
  }
  return { dkv, dkPe };
}

/** Columns lo…lo+width of a [rows, stride] matrix, as a dense [rows, width] copy. */
function sliceColumns(x: Float64Array, rows: number, stride: number, lo: number, width: number): Float64Array {
  const out = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(x.subarray(r * stride + lo, r * stride + lo + width), r * width);
  return out;
}

/** A zero [rows, stride] matrix with x [rows, width] written at column lo. */
function placeColumns(x: Float64Array, rows: number, width: number, stride: number, lo: number): Float64Array {
  const out = new Float64Array(rows * stride);
  for (let r = 0; r < rows; r++) out.set(x.subarray(r * width, (r + 1) * width), r * stride + lo);
  return out;
}

function addColumns(target: Float64Array, x: Float64Array, rows: number, stride: number, lo: number, width: number): void {
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < width; i++) target[r * stride + lo + i] += x[r * width + i];
  }
}

/** target += x, returning target (so results can be chained without a copy). */
function addInto(target: Float64Array, x: Float64Array): Float64Array {
  for (let i = 0; i < target.length; i++) target[i] += x[i];
  return target;
}

function inSpecOrder(config: ModelConfig, grads: Map<string, Float64Array>): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const spec of parameterSpecs(config)) out.set(spec.name, grads.get(spec.name)!);
  return out;
}

function checkInputs(params: Map<string, Float64Array>, config: ModelConfig, inputIds: Int32Array, B: number, S: number): void {
  for (const [name, value] of [['B', B], ['S', S]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`referenceForward: ${name} must be a positive integer, got ${value}`);
  }
  if (S > config.max_position_embeddings) {
    throw new RangeError(`referenceForward: S = ${S} exceeds max_position_embeddings ${config.max_position_embeddings}`);
  }
  if (inputIds.length !== B * S) throw new RangeError(`referenceForward: inputIds has length ${inputIds.length}, expected B·S = ${B * S}`);
  const problems: string[] = [];
  for (const spec of parameterSpecs(config)) {
    const p = params.get(spec.name);
    if (!p) problems.push(`missing ${spec.name}`);
    else if (p.length !== numel(spec.shape)) problems.push(`${spec.name} has ${p.length} elements, expected [${spec.shape.join(', ')}]`);
  }
  if (problems.length > 0) throw new RangeError(`referenceForward: bad params: ${problems.join('; ')}`);
}
