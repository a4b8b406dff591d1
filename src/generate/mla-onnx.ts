/**
 * The model as an ONNX graph for generation (docs/design.md §15), built from
 * a checkpoint's parameters: MLA in its absorbed inference form. Per layer
 * the cache holds only what MLA needs, the normalized latent c_kv [T, rkv]
 * and the rotated, head-shared k_pe [T, dr], never per-head keys and values:
 *
 *   score_h(t, s) = (q_nope_h(t)·W_uk_h) · c_kv(s) + q_pe_h(t) · k_pe(s)
 *   out_h(t)     = (Σ_s p_h(t, s) · c_kv(s)) · W_uv_hᵀ
 *
 * which equals the training form's q·k and p·v (reference-model.ts), since
 * k_nope_h(s) = W_uk_h·c_kv(s) and v_h(s) = W_uv_h·c_kv(s), with W_uk_h and
 * W_uv_h the head's rows of kv_b_proj.
 *
 * One graph does prefill and decode: it takes the new tokens and the cache so
 * far (P rows, 0 for a prefill) and returns the logits of the new tokens and
 * the cache with their rows appended. Positions are P…P+S−1, RoPE uses the
 * trainer's own angle tables (interleaved pairs, as DeepSeek), and the mask
 * lets a new token see the cache and the new tokens up to itself.
 */
import { ropeAngles } from '../kernels/rope/rope-angles';
import { layerPrefix, modelDims, type ModelConfig, type ModelDims } from '../model/config';
import { GraphBuilder, type ValueSpec } from './onnx-builder';

export const cacheNames = (layer: number) => ({
  pastCkv: `past_ckv.${layer}`,
  pastKpe: `past_kpe.${layer}`,
  presentCkv: `present_ckv.${layer}`,
  presentKpe: `present_kpe.${layer}`,
});

/** The graph's inputs: `input_ids` int64 [S], and per layer the cache so far. */
export function graphInputs(config: ModelConfig): ValueSpec[] {
  const d = modelDims(config);
  const specs: ValueSpec[] = [{ name: 'input_ids', type: 'int64', shape: ['S'] }];
  for (let l = 0; l < d.L; l++) {
    const n = cacheNames(l);
    specs.push({ name: n.pastCkv, type: 'float32', shape: ['P', d.rkv] }, { name: n.pastKpe, type: 'float32', shape: ['P', d.dr] });
  }
  return specs;
}

/** The graph's outputs: `logits` float32 [S, V], and per layer the cache with the new rows. */
export function graphOutputs(config: ModelConfig): ValueSpec[] {
  const d = modelDims(config);
  const specs: ValueSpec[] = [{ name: 'logits', type: 'float32', shape: ['S', d.V] }];
  for (let l = 0; l < d.L; l++) {
    const n = cacheNames(l);
    specs.push({ name: n.presentCkv, type: 'float32', shape: ['T', d.rkv] }, { name: n.presentKpe, type: 'float32', shape: ['T', d.dr] });
  }
  return specs;
}

/** The ONNX model's bytes for `config` with `params` (float32, Hugging Face names, as a checkpoint holds them). */
export function buildMlaOnnx(config: ModelConfig, params: Map<string, Float32Array>): Uint8Array {
  const d = modelDims(config);
  if (d.dr <= 0) throw new RangeError('buildMlaOnnx: qk_rope_head_dim must be positive');
  const g = new GraphBuilder();
  const raw = (name: string) => {
    const data = params.get(name);
    if (!data) throw new Error(`buildMlaOnnx: the checkpoint has no ${name}`);
    return data;
  };
  const w = (name: string, dims: number[]) => g.f32(name, raw(name), dims);

  // Positions P…P+S−1 of the new tokens, and 0…P+S−1 of every cached row after them.
  const zero = g.i64([0], []);
  const one = g.i64([1], []);
  const S = g.op1('Gather', [g.op1('Shape', ['input_ids']), zero], { axis: 0 });
  const P = g.op1('Gather', [g.op1('Shape', [cacheNames(0).pastCkv]), zero], { axis: 0 });
  const T = g.op1('Add', [P, S]);
  const qPos = g.op1('Range', [P, T, one]);
  const kPos = g.op1('Range', [zero, T, one]);
  // [S, T]: true where a key lies after the query (masked).
  const masked = g.op1('Greater', [g.op1('Unsqueeze', [kPos, g.i64([0])]), g.op1('Unsqueeze', [qPos, g.i64([1])])]);
  const minusInf = g.scalar(-Infinity);

  const half = d.dr / 2;
  const { cos, sin } = ropeAngles(config.max_position_embeddings, d.dr, d.theta);
  const rows = (t: Float64Array) => g.op1('Gather', [g.f32(`rope_${t === cos ? 'cos' : 'sin'}`, Float32Array.from(t), [config.max_position_embeddings, half]), qPos], { axis: 0 });
  // [S, half, 1]: broadcasts against [.., S, half, 1] pairs.
  const pairShape = g.i64([-1, half, 1]);
  const rope = { cos: g.op1('Reshape', [rows(cos), pairShape]), sin: g.op1('Reshape', [rows(sin), pairShape]) };

  let h = g.op1('Gather', [w('model.embed_tokens.weight', [d.V, d.D]), 'input_ids'], { axis: 0 });
  for (let l = 0; l < d.L; l++) {
    const at = (n: string) => layerPrefix(l) + n;
    h = layer(g, d, l, h, (n, dims) => w(at(n), dims), splitKvB(g, d, at('self_attn.kv_b_proj.weight'), raw(at('self_attn.kv_b_proj.weight'))), rope, masked, minusInf);
  }
  const hn = rmsNorm(g, h, w('model.norm.weight', [d.D]), d.eps);
  g.op1('Gemm', [hn, w('lm_head.weight', [d.V, d.D])], { transB: 1 }, 'logits');
  return g.encode('tessera_mla', graphInputs(config), graphOutputs(config));
}

type LayerWeight = (name: string, dims: number[]) => string;

function layer(
  g: GraphBuilder,
  d: ModelDims,
  l: number,
  h: string,
  w: LayerWeight,
  { uk, uvT }: { uk: string; uvT: string },
  rope: { cos: string; sin: string },
  masked: string,
  minusInf: string,
): string {
  const names = cacheNames(l);
  const linear = (x: string, name: string, out: number, inn: number) => g.op1('Gemm', [x, w(name, [out, inn])], { transB: 1 });
  const a = rmsNorm(g, h, w('input_layernorm.weight', [d.D]), d.eps);

  // Queries [H, S, dn] and [H, S, dr], the latter rotated.
  const qFlat =
    d.rq === 0
      ? linear(a, 'self_attn.q_proj.weight', d.qOut, d.D)
      : linear(rmsNorm(g, linear(a, 'self_attn.q_a_proj.weight', d.rq, d.D), w('self_attn.q_a_layernorm.weight', [d.rq]), d.latentEps), 'self_attn.q_b_proj.weight', d.qOut, d.rq);
  const q = g.op1('Transpose', [g.op1('Reshape', [qFlat, g.i64([-1, d.H, d.dqk])])], { perm: [1, 0, 2] });
  const [qNope, qPeRaw] = g.op('Split', [q, g.i64([d.dn, d.dr])], { axis: 2 }, 2);
  const qPe = rotate(g, qPeRaw, [d.H, -1, d.dr], [d.H, -1, half(d), 2], rope);

  // This token's cache rows: the normalized latent and the rotated shared key.
  const ckp = linear(a, 'self_attn.kv_a_proj_with_mqa.weight', d.kvaOut, d.D);
  const [ckv, kPeRaw] = g.op('Split', [ckp, g.i64([d.rkv, d.dr])], { axis: 1 }, 2);
  const ckvNorm = rmsNorm(g, ckv, w('self_attn.kv_a_layernorm.weight', [d.rkv]), d.latentEps);
  const kPe = rotate(g, kPeRaw, [-1, d.dr], [-1, half(d), 2], rope);
  const cacheCkv = g.op1('Concat', [names.pastCkv, ckvNorm], { axis: 0 }, names.presentCkv);
  const cacheKpe = g.op1('Concat', [names.pastKpe, kPe], { axis: 0 }, names.presentKpe);

  const qLatent = g.op1('MatMul', [qNope, uk]); // [H, S, rkv]
  const scores = g.op1('Mul', [
    g.op1('Add', [g.op1('MatMul', [qLatent, g.op1('Transpose', [cacheCkv], { perm: [1, 0] })]), g.op1('MatMul', [qPe, g.op1('Transpose', [cacheKpe], { perm: [1, 0] })])]),
    g.scalar(d.scale),
  ]); // [H, S, T]
  const p = g.op1('Softmax', [g.op1('Where', [masked, minusInf, scores])], { axis: -1 });
  const oHeads = g.op1('MatMul', [g.op1('MatMul', [p, cacheCkv]), uvT]); // [H, S, dv]
  const o = g.op1('Reshape', [g.op1('Transpose', [oHeads], { perm: [1, 0, 2] }), g.i64([-1, d.oIn])]);
  const h1 = g.op1('Add', [h, linear(o, 'self_attn.o_proj.weight', d.D, d.oIn)]);

  const m = rmsNorm(g, h1, w('post_attention_layernorm.weight', [d.D]), d.eps);
  const gate = linear(m, 'mlp.gate_proj.weight', d.I, d.D);
  const up = linear(m, 'mlp.up_proj.weight', d.I, d.D);
  const act = g.op1('Mul', [g.op1('Mul', [gate, g.op1('Sigmoid', [gate])]), up]);
  return g.op1('Add', [h1, linear(act, 'mlp.down_proj.weight', d.D, d.I)]);
}

const half = (d: ModelDims) => d.dr / 2;

/** x·rms(x)⁻¹·weight over the last axis, as the trainer's RMSNorm. */
function rmsNorm(g: GraphBuilder, x: string, weight: string, eps: number): string {
  const meanSquare = g.op1('ReduceMean', [g.op1('Mul', [x, x])], { axes: [-1], keepdims: 1 });
  const rms = g.op1('Sqrt', [g.op1('Add', [meanSquare, g.scalar(eps)])]);
  return g.op1('Mul', [g.op1('Div', [x, rms]), weight]);
}

/** RoPE on interleaved pairs (x₂ᵢ, x₂ᵢ₊₁) of the last axis: x viewed as `pairs` ([.., S, half, 2]), back to `shape`. */
function rotate(g: GraphBuilder, x: string, shape: number[], pairs: number[], rope: { cos: string; sin: string }): string {
  const [a, b] = g.op('Split', [g.op1('Reshape', [x, g.i64(pairs)]), g.i64([1, 1])], { axis: -1 }, 2);
  const mul = (p: string, q: string) => g.op1('Mul', [p, q]);
  const even = g.op1('Sub', [mul(a, rope.cos), mul(b, rope.sin)]);
  const odd = g.op1('Add', [mul(a, rope.sin), mul(b, rope.cos)]);
  return g.op1('Reshape', [g.op1('Concat', [even, odd], { axis: -1 }), g.i64(shape)]);
}

/**
 * kv_b_proj [H·(dn+dv), rkv] per head: W_uk_h [dn, rkv], absorbed into the
 * query, and W_uv_hᵀ [rkv, dv], applied to the attended latent.
 */
function splitKvB(g: GraphBuilder, d: ModelDims, name: string, kvB: Float32Array): { uk: string; uvT: string } {
  const uk = new Float32Array(d.H * d.dn * d.rkv);
  const uvT = new Float32Array(d.H * d.rkv * d.dv);
  const rowsPerHead = d.dn + d.dv;
  for (let h = 0; h < d.H; h++) {
    const head = h * rowsPerHead * d.rkv;
    uk.set(kvB.subarray(head, head + d.dn * d.rkv), h * d.dn * d.rkv);
    for (let j = 0; j < d.dv; j++) {
      for (let c = 0; c < d.rkv; c++) uvT[(h * d.rkv + c) * d.dv + j] = kvB[head + (d.dn + j) * d.rkv + c];
    }
  }
  return { uk: g.f32(`${name}.uk`, uk, [d.H, d.dn, d.rkv]), uvT: g.f32(`${name}.uvT`, uvT, [d.H, d.rkv, d.dv]) };
}
