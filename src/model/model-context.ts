/**
 * What the forward and backward passes share: the device, the config, the
 * flat parameter and gradient buffers with their layout, the RoPE tables and
 * the pool of per-batch buffers.
 */
import type { Binding, Gpu } from '../gpu/gpu';
import { ropeTables, type RopeTables } from '../kernels/rope/rope';
import type { BufferPool } from './buffer-pool';
import { layerPrefix, modelDims, type ModelConfig, type ModelDims } from './config';
import { slotOf, type ParamLayout } from './param-layout';

export interface ModelContext {
  gpu: Gpu;
  config: ModelConfig;
  dims: ModelDims;
  layout: ParamLayout;
  params: GPUBuffer;
  grads: GPUBuffer;
  rope: RopeTables;
  pool: BufferPool;
}

export interface BatchShape {
  B: number;
  S: number;
}

export function makeRope(gpu: Gpu, config: ModelConfig): RopeTables {
  const d = modelDims(config);
  return ropeTables(gpu, config.max_position_embeddings, d.dr, d.theta);
}

function range(ctx: ModelContext, buffer: GPUBuffer, name: string): Binding {
  const slot = slotOf(ctx.layout, name);
  return { buffer, offset: slot.offset * 4, size: slot.size * 4 };
}

/** A parameter tensor as a binding into the flat parameter buffer. */
export function param(ctx: ModelContext, name: string): Binding {
  return range(ctx, ctx.params, name);
}

/** The gradient of a parameter tensor, in the flat gradient buffer. */
export function grad(ctx: ModelContext, name: string): Binding {
  return range(ctx, ctx.grads, name);
}

/** Names of one layer's tensors. */
export function layerNames(l: number) {
  const p = layerPrefix(l);
  return {
    ln1: `${p}input_layernorm.weight`,
    qProj: `${p}self_attn.q_proj.weight`,
    qA: `${p}self_attn.q_a_proj.weight`,
    qALn: `${p}self_attn.q_a_layernorm.weight`,
    qB: `${p}self_attn.q_b_proj.weight`,
    kvA: `${p}self_attn.kv_a_proj_with_mqa.weight`,
    kvALn: `${p}self_attn.kv_a_layernorm.weight`,
    kvB: `${p}self_attn.kv_b_proj.weight`,
    oProj: `${p}self_attn.o_proj.weight`,
    ln2: `${p}post_attention_layernorm.weight`,
    gate: `${p}mlp.gate_proj.weight`,
    up: `${p}mlp.up_proj.weight`,
    down: `${p}mlp.down_proj.weight`,
  };
}

/** Activation buffers one layer's forward saves for its backward. */
export function layerActs(ctx: ModelContext, l: number, { B, S }: BatchShape) {
  const T = B * S;
  const d = ctx.dims;
  const get = (name: string, floats: number) => ctx.pool.get(`l${l}.${name}`, floats);
  return {
    hIn: l === 0 ? ctx.pool.get('h0', T * d.D) : ctx.pool.get(`l${l - 1}.hOut`, T * d.D),
    a: get('a', T * d.D),
    rstdIn: get('rstdIn', T),
    qa: d.rq > 0 ? get('qa', T * d.rq) : null,
    qaNorm: d.rq > 0 ? get('qaNorm', T * d.rq) : null,
    rstdQa: d.rq > 0 ? get('rstdQa', T) : null,
    /** Queries after RoPE, [T,H,dqk]. */
    q: get('q', T * d.qOut),
    /** a·kv_a_projᵀ [T, rkv+dr]; its k_pe columns are rotated in place. */
    ckp: get('ckp', T * d.kvaOut),
    ckvNorm: get('ckvNorm', T * d.rkv),
    rstdKv: get('rstdKv', T),
    /** [T,H,dn+dv]: k_nope | v per head. */
    kv: get('kv', T * d.kvbOut),
    /** Keys [T,H,dqk]: k_nope of the head | the shared rotated k_pe. */
    k: get('k', T * d.qOut),
    o: get('o', T * d.oIn),
    lse: get('lse', B * d.H * S),
    h1: get('h1', T * d.D),
    m: get('m', T * d.D),
    rstdPost: get('rstdPost', T),
    gate: get('gate', T * d.I),
    up: get('up', T * d.I),
    act: get('act', T * d.I),
    hOut: get('hOut', T * d.D),
  };
}

export function finalActs(ctx: ModelContext, { B, S }: BatchShape) {
  const T = B * S;
  const d = ctx.dims;
  return {
    h: d.L === 0 ? ctx.pool.get('h0', T * d.D) : ctx.pool.get(`l${d.L - 1}.hOut`, T * d.D),
    hn: ctx.pool.get('final.hn', T * d.D),
    rstd: ctx.pool.get('final.rstd', T),
    logits: ctx.pool.get('final.logits', T * d.V),
    ids: ctx.pool.get('ids', T),
    targets: ctx.pool.get('targets', T),
    ceLse: ctx.pool.get('ce.lse', T),
    ceLosses: ctx.pool.get('ce.losses', T),
    loss: ctx.pool.get('ce.loss', 4),
  };
}

/** The v columns of kv [T,H,dn+dv], as the attention kernels address them. */
export function vView(d: ModelDims) {
  return { rowStride: d.kvbOut, headStride: d.dn + d.dv, offset: d.dn };
}
