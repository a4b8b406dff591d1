/**
 * The MLA model config (docs/design.md §2). Field names are Hugging Face
 * `DeepseekV3Config`'s so that what we export loads into transformers as is;
 * everything MoE-related is fixed (every layer is a dense SwiGLU MLP) and so
 * is not part of our config, only of the exported config.json.
 */
import { z } from 'zod';

export class ModelConfigError extends Error {
  override name = 'ModelConfigError';
}

/**
 * Upper bound on any one parameter tensor. Configs also arrive from untrusted
 * checkpoint metadata, and a typo there must not make a tab try to allocate
 * gigabytes; 2^28 f32 elements (1 GiB) is far above any browser model.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

/**
 * Epsilon of q_a_layernorm and kv_a_layernorm. Hugging Face and DeepSeek's own
 * code build these two norms with RMSNorm's default eps (1e-6) and pass
 * rms_norm_eps only to the hidden-size norms, so an exported checkpoint only
 * computes the same function if we do the same.
 */
export const LATENT_NORM_EPS = 1e-6;

const positiveInt = (what: string) =>
  z.number({ error: `${what} must be a number` }).int(`${what} must be an integer`).positive(`${what} must be positive`);

export const modelConfigSchema = z
  .object({
    vocab_size: positiveInt('vocab_size'),
    hidden_size: positiveInt('hidden_size'),
    num_hidden_layers: positiveInt('num_hidden_layers'),
    num_attention_heads: positiveInt('num_attention_heads'),
    /** 0 means a direct q_proj (Hugging Face writes null for that). */
    q_lora_rank: z.number().int('q_lora_rank must be an integer').nonnegative('q_lora_rank must be 0 or positive').default(0),
    kv_lora_rank: positiveInt('kv_lora_rank'),
    qk_nope_head_dim: positiveInt('qk_nope_head_dim'),
    qk_rope_head_dim: positiveInt('qk_rope_head_dim').refine((d) => d % 2 === 0, {
      message: 'qk_rope_head_dim must be even (RoPE rotates pairs)',
    }),
    v_head_dim: positiveInt('v_head_dim'),
    intermediate_size: positiveInt('intermediate_size'),
    rms_norm_eps: z.number().positive('rms_norm_eps must be positive').max(1, 'rms_norm_eps must be at most 1').default(1e-6),
    rope_theta: z.number().gt(1, 'rope_theta must be greater than 1').default(10000),
    max_position_embeddings: positiveInt('max_position_embeddings'),
    initializer_range: z.number().positive('initializer_range must be positive').max(1).default(0.02),
    tie_word_embeddings: z.literal(false, { error: 'tie_word_embeddings must be false (lm_head is its own tensor)' }).default(false),
  })
  .strict()
  .superRefine((c, ctx) => {
    for (const spec of parameterSpecs(c as ModelConfig)) {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      if (n > MAX_TENSOR_ELEMENTS) {
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: `${spec.name} would have ${n} elements (shape [${spec.shape.join(', ')}]), more than the limit ${MAX_TENSOR_ELEMENTS}`,
        });
        return;
      }
    }
  });

export type ModelConfig = z.output<typeof modelConfigSchema>;
export type ModelConfigInput = z.input<typeof modelConfigSchema>;

/** Validates untrusted input (defaults filled in); the error lists every bad field. */
export function parseModelConfig(input: unknown, where = 'model config'): ModelConfig {
  const result = modelConfigSchema.safeParse(input);
  if (!result.success) throw new ModelConfigError(`invalid ${where}:\n${z.prettifyError(result.error)}`);
  return result.data;
}

const tiny: ModelConfigInput = {
  vocab_size: 256,
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  q_lora_rank: 0,
  kv_lora_rank: 16,
  qk_nope_head_dim: 8,
  qk_rope_head_dim: 4,
  v_head_dim: 8,
  intermediate_size: 64,
  max_position_embeddings: 64,
};

export const PRESETS = {
  tiny: parseModelConfig(tiny, 'preset tiny'),
  tinyLora: parseModelConfig({ ...tiny, q_lora_rank: 24 }, 'preset tinyLora'),
  // Tiny too, but every matrix is a multiple of 64 on its long sides, so DeMo's
  // 64×64 blocks are full: the smallest preset whose 1-bit top-8 update is
  // 1000× smaller than its dense fp32 gradient (tiny's 32-wide tensors cap it
  // near 390×). The run's and the DeMo simulation's default.
  tinyDemo: parseModelConfig(
    {
      ...tiny,
      hidden_size: 64,
      kv_lora_rank: 32,
      qk_nope_head_dim: 16,
      qk_rope_head_dim: 16,
      v_head_dim: 32,
      intermediate_size: 256,
    },
    'preset tinyDemo',
  ),
  small: parseModelConfig(
    {
      vocab_size: 256,
      hidden_size: 128,
      num_hidden_layers: 4,
      num_attention_heads: 4,
      q_lora_rank: 64,
      kv_lora_rank: 64,
      qk_nope_head_dim: 32,
      qk_rope_head_dim: 16,
      v_head_dim: 32,
      intermediate_size: 384,
      max_position_embeddings: 256,
    },
    'preset small',
  ),
  'bpe-small': parseModelConfig(
    {
      vocab_size: 50257,
      hidden_size: 256,
      num_hidden_layers: 4,
      num_attention_heads: 4,
      q_lora_rank: 96,
      kv_lora_rank: 128,
      qk_nope_head_dim: 32,
      qk_rope_head_dim: 16,
      v_head_dim: 32,
      intermediate_size: 768,
      max_position_embeddings: 256,
    },
    'preset bpe-small',
  ),
  // About 108 M parameters with the GPT-2 vocabulary, for real GPUs (docs/runs/bpe-100m.json):
  // every matrix side a multiple of 64, so DeMo's blocks are full.
  'bpe-100m': parseModelConfig(
    {
      vocab_size: 50257,
      hidden_size: 640,
      num_hidden_layers: 10,
      num_attention_heads: 10,
      q_lora_rank: 192,
      kv_lora_rank: 128,
      qk_nope_head_dim: 64,
      qk_rope_head_dim: 64,
      v_head_dim: 64,
      intermediate_size: 1728,
      max_position_embeddings: 1024,
    },
    'preset bpe-100m',
  ),
} as const satisfies Record<string, ModelConfig>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** A fresh copy of a preset, so callers can never mutate the shared one. */
export function getPreset(name: string): ModelConfig {
  if (!Object.hasOwn(PRESETS, name)) {
    throw new ModelConfigError(`unknown model preset "${name}"; known presets: ${PRESET_NAMES.join(', ')}`);
  }
  return { ...PRESETS[name as PresetName] };
}

/** Short names for the dimensions the forward uses (docs/design.md §2's letters). */
export interface ModelDims {
  V: number;
  D: number;
  L: number;
  H: number;
  rq: number;
  rkv: number;
  dn: number;
  dr: number;
  dv: number;
  I: number;
  /** dn + dr: width of one head of Q and K. */
  dqk: number;
  /** H·dqk: output width of q_proj / q_b_proj. */
  qOut: number;
  /** rkv + dr: output width of kv_a_proj_with_mqa (c_kv | k_pe). */
  kvaOut: number;
  /** H·(dn+dv): output width of kv_b_proj. */
  kvbOut: number;
  /** H·dv: input width of o_proj. */
  oIn: number;
  /** Softmax scale 1/sqrt(dn+dr). */
  scale: number;
  /** eps of input_layernorm, post_attention_layernorm and model.norm. */
  eps: number;
  /** eps of q_a_layernorm and kv_a_layernorm (see LATENT_NORM_EPS). */
  latentEps: number;
  theta: number;
}

export function modelDims(c: ModelConfig): ModelDims {
  const H = c.num_attention_heads;
  const dn = c.qk_nope_head_dim;
  const dr = c.qk_rope_head_dim;
  const dv = c.v_head_dim;
  const dqk = dn + dr;
  return {
    V: c.vocab_size,
    D: c.hidden_size,
    L: c.num_hidden_layers,
    H,
    rq: c.q_lora_rank,
    rkv: c.kv_lora_rank,
    dn,
    dr,
    dv,
    I: c.intermediate_size,
    dqk,
    qOut: H * dqk,
    kvaOut: c.kv_lora_rank + dr,
    kvbOut: H * (dn + dv),
    oIn: H * dv,
    scale: 1 / Math.sqrt(dqk),
    eps: c.rms_norm_eps,
    latentEps: LATENT_NORM_EPS,
    theta: c.rope_theta,
  };
}

export interface ParamSpec {
  /** Hugging Face state-dict name. */
  name: string;
  /** PyTorch shape: [out, in] for linear weights, [n] for norm gains. */
  shape: number[];
  init: 'normal' | 'ones';
}

export function layerPrefix(l: number): string {
  return `model.layers.${l}.`;
}

/** Every parameter tensor, in the order checkpoints store them. */
export function parameterSpecs(c: ModelConfig): ParamSpec[] {
  const d = modelDims(c);
  const normal = (name: string, shape: number[]): ParamSpec => ({ name, shape, init: 'normal' });
  const ones = (name: string, n: number): ParamSpec => ({ name, shape: [n], init: 'ones' });
  const specs: ParamSpec[] = [normal('model.embed_tokens.weight', [d.V, d.D])];
  for (let l = 0; l < d.L; l++) {
    const p = layerPrefix(l);
    specs.push(ones(`${p}input_layernorm.weight`, d.D));
    if (d.rq > 0) {
      specs.push(normal(`${p}self_attn.q_a_proj.weight`, [d.rq, d.D]));
      specs.push(ones(`${p}self_attn.q_a_layernorm.weight`, d.rq));
      specs.push(normal(`${p}self_attn.q_b_proj.weight`, [d.qOut, d.rq]));
    } else {
      specs.push(normal(`${p}self_attn.q_proj.weight`, [d.qOut, d.D]));
    }
    specs.push(normal(`${p}self_attn.kv_a_proj_with_mqa.weight`, [d.kvaOut, d.D]));
    specs.push(ones(`${p}self_attn.kv_a_layernorm.weight`, d.rkv));
    specs.push(normal(`${p}self_attn.kv_b_proj.weight`, [d.kvbOut, d.rkv]));
    specs.push(normal(`${p}self_attn.o_proj.weight`, [d.D, d.oIn]));
    specs.push(ones(`${p}post_attention_layernorm.weight`, d.D));
    specs.push(normal(`${p}mlp.gate_proj.weight`, [d.I, d.D]));
    specs.push(normal(`${p}mlp.up_proj.weight`, [d.I, d.D]));
    specs.push(normal(`${p}mlp.down_proj.weight`, [d.D, d.I]));
  }
  specs.push(ones('model.norm.weight', d.D));
  specs.push(normal('lm_head.weight', [d.V, d.D]));
  return specs;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function parameterCount(c: ModelConfig): number {
  return parameterSpecs(c).reduce((n, s) => n + numel(s.shape), 0);
}

/**
 * The config.json transformers needs to load our checkpoint as
 * DeepseekV3ForCausalLM. MoE fields: a layer is MoE only when its index is
 * ≥ first_k_dense_replace (transformers) and, in DeepSeek's and vLLM's code,
 * also only when n_routed_experts is not null; we set both so that every
 * reader builds dense MLPs of intermediate_size.
 */
export function hfConfigJson(c: ModelConfig): Record<string, unknown> {
  return {
    architectures: ['DeepseekV3ForCausalLM'],
    model_type: 'deepseek_v3',
    vocab_size: c.vocab_size,
    hidden_size: c.hidden_size,
    intermediate_size: c.intermediate_size,
    num_hidden_layers: c.num_hidden_layers,
    num_attention_heads: c.num_attention_heads,
    // MLA has one latent shared by all heads; HF's attention still wants this equal to H.
    num_key_value_heads: c.num_attention_heads,
    // transformers tests `q_lora_rank is None` for the direct q_proj.
    q_lora_rank: c.q_lora_rank > 0 ? c.q_lora_rank : null,
    kv_lora_rank: c.kv_lora_rank,
    qk_nope_head_dim: c.qk_nope_head_dim,
    qk_rope_head_dim: c.qk_rope_head_dim,
    v_head_dim: c.v_head_dim,
    hidden_act: 'silu',
    max_position_embeddings: c.max_position_embeddings,
    initializer_range: c.initializer_range,
    rms_norm_eps: c.rms_norm_eps,
    rope_theta: c.rope_theta,
    rope_scaling: null,
    rope_interleave: true,
    attention_bias: false,
    attention_dropout: 0.0,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    use_cache: true,
    pretraining_tp: 1,
    first_k_dense_replace: c.num_hidden_layers,
    moe_layer_freq: 1,
    n_routed_experts: null,
    n_shared_experts: null,
    num_experts_per_tok: null,
    moe_intermediate_size: c.intermediate_size,
    n_group: 1,
    topk_group: 1,
    routed_scaling_factor: 1.0,
    norm_topk_prob: true,
  };
}

/**
 * The HF config.json fields that would change the function the model computes
 * in ways we do not implement; anything else unknown is ignored, as
 * transformers ignores it.
 */
const hfJsonSchema = z
  .object({
    model_type: z.literal('deepseek_v3', { error: 'model_type must be "deepseek_v3"' }),
    vocab_size: z.unknown(),
    hidden_size: z.unknown(),
    num_hidden_layers: z.unknown(),
    num_attention_heads: z.unknown(),
    num_key_value_heads: z.number().int().positive().nullish(),
    q_lora_rank: z.number().nullish(),
    kv_lora_rank: z.unknown(),
    qk_nope_head_dim: z.unknown(),
    qk_rope_head_dim: z.unknown(),
    v_head_dim: z.unknown(),
    intermediate_size: z.unknown(),
    max_position_embeddings: z.unknown(),
    rms_norm_eps: z.number().optional(),
    rope_theta: z.number().optional(),
    initializer_range: z.number().optional(),
    tie_word_embeddings: z.boolean().optional(),
    hidden_act: z.literal('silu', { error: 'hidden_act must be "silu" (SwiGLU)' }).optional(),
    attention_bias: z.literal(false, { error: 'attention_bias must be false (no biases in the model)' }).optional(),
    rope_scaling: z.null({ error: 'rope_scaling must be null (no RoPE scaling is implemented)' }).optional(),
    // Newer transformers write rope_theta inside rope_parameters instead.
    rope_parameters: z
      .object({
        rope_type: z.literal('default', { error: 'rope_parameters.rope_type must be "default" (no RoPE scaling is implemented)' }).optional(),
        rope_theta: z.number().optional(),
      })
      .nullish(),
    rope_interleave: z.literal(true, { error: 'rope_interleave must be true (RoPE rotates adjacent pairs)' }).optional(),
    first_k_dense_replace: z.number().int().nonnegative().optional(),
    n_routed_experts: z.number().int().nonnegative().nullish(),
  })
  .superRefine((j, ctx) => {
    const layers = typeof j.num_hidden_layers === 'number' ? j.num_hidden_layers : 0;
    const allDense = j.n_routed_experts == null || j.n_routed_experts === 0 || (j.first_k_dense_replace ?? 0) >= layers;
    if (!allDense) {
      ctx.addIssue({
        code: 'custom',
        path: ['first_k_dense_replace'],
        message: `every layer must be dense: set n_routed_experts to null or first_k_dense_replace ≥ num_hidden_layers (${layers})`,
      });
    }
    if (j.num_key_value_heads != null && j.num_key_value_heads !== j.num_attention_heads) {
      ctx.addIssue({ code: 'custom', path: ['num_key_value_heads'], message: 'num_key_value_heads must equal num_attention_heads' });
    }
  });

/** Inverse of hfConfigJson: validates a config.json (untrusted) and returns our config. */
export function configFromHfJson(json: unknown, where = 'config.json'): ModelConfig {
  const outer = hfJsonSchema.safeParse(json);
  if (!outer.success) throw new ModelConfigError(`invalid ${where}:\n${z.prettifyError(outer.error)}`);
  const j = outer.data;
  return parseModelConfig(
    {
      vocab_size: j.vocab_size,
      hidden_size: j.hidden_size,
      num_hidden_layers: j.num_hidden_layers,
      num_attention_heads: j.num_attention_heads,
      q_lora_rank: j.q_lora_rank ?? 0,
      kv_lora_rank: j.kv_lora_rank,
      qk_nope_head_dim: j.qk_nope_head_dim,
      qk_rope_head_dim: j.qk_rope_head_dim,
      v_head_dim: j.v_head_dim,
      intermediate_size: j.intermediate_size,
      rms_norm_eps: j.rms_norm_eps,
      rope_theta: j.rope_theta ?? j.rope_parameters?.rope_theta,
      max_position_embeddings: j.max_position_embeddings,
      initializer_range: j.initializer_range,
      tie_word_embeddings: j.tie_word_embeddings,
    },
    where,
  );
}
