import { describe, expect, it } from 'vitest';
import {
  configFromHfJson,
  getPreset,
  hfConfigJson,
  MAX_TENSOR_ELEMENTS,
  modelDims,
  ModelConfigError,
  parameterCount,
  parameterSpecs,
  parseModelConfig,
  PRESET_NAMES,
  PRESETS,
} from './config';

describe('model config', () => {
  it('presets are the documented sizes', () => {
    expect(PRESET_NAMES).toEqual(['tiny', 'tinyLora', 'tinyDemo', 'small', 'bpe-small', 'bpe-100m']);
    expect(PRESETS.tiny).toEqual({
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
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      max_position_embeddings: 64,
      initializer_range: 0.02,
      tie_word_embeddings: false,
    });
    expect(PRESETS.tinyLora).toEqual({ ...PRESETS.tiny, q_lora_rank: 24 });
    // Every DeMo block of tinyDemo's matrices is full (64 on each long side).
    expect(PRESETS.tinyDemo).toEqual({ ...PRESETS.tiny, hidden_size: 64, kv_lora_rank: 32, qk_nope_head_dim: 16, qk_rope_head_dim: 16, v_head_dim: 32, intermediate_size: 256 });
    expect(PRESETS.small).toMatchObject({ hidden_size: 128, num_hidden_layers: 4, q_lora_rank: 64, kv_lora_rank: 64, intermediate_size: 384 });
    expect(PRESETS['bpe-small']).toMatchObject({ vocab_size: 50257, hidden_size: 256, q_lora_rank: 96, kv_lora_rank: 128, intermediate_size: 768 });
    // About 100 M parameters, every matrix side a multiple of 64 (full DeMo blocks).
    const big = PRESETS['bpe-100m'];
    expect(parameterCount(big)).toBe(108_172_800);
    for (const s of parameterSpecs(big)) if (s.shape.length === 2) expect(s.shape.filter((d) => d % 64 !== 0), s.name).toEqual(s.name.includes('embed') || s.name.includes('lm_head') ? [50257] : []);
    const copy = getPreset('tiny');
    copy.hidden_size = 999;
    expect(PRESETS.tiny.hidden_size).toBe(32);
    expect(() => getPreset('huge')).toThrow(/unknown model preset "huge"; known presets: tiny, tinyLora, tinyDemo, small, bpe-small, bpe-100m/);
    expect(() => getPreset('toString')).toThrow(ModelConfigError);
  });

  it('parameterSpecs lists HF names and [out,in] shapes in checkpoint order', () => {
    const lora = parameterSpecs(PRESETS.tinyLora);
    expect(lora.slice(0, 13).map((s) => [s.name, s.shape, s.init])).toEqual([
      ['model.embed_tokens.weight', [256, 32], 'normal'],
      ['model.layers.0.input_layernorm.weight', [32], 'ones'],
      ['model.layers.0.self_attn.q_a_proj.weight', [24, 32], 'normal'],
      ['model.layers.0.self_attn.q_a_layernorm.weight', [24], 'ones'],
      ['model.layers.0.self_attn.q_b_proj.weight', [2 * 12, 24], 'normal'],
      ['model.layers.0.self_attn.kv_a_proj_with_mqa.weight', [16 + 4, 32], 'normal'],
      ['model.layers.0.self_attn.kv_a_layernorm.weight', [16], 'ones'],
      ['model.layers.0.self_attn.kv_b_proj.weight', [2 * (8 + 8), 16], 'normal'],
      ['model.layers.0.self_attn.o_proj.weight', [32, 2 * 8], 'normal'],
      ['model.layers.0.post_attention_layernorm.weight', [32], 'ones'],
      ['model.layers.0.mlp.gate_proj.weight', [64, 32], 'normal'],
      ['model.layers.0.mlp.up_proj.weight', [64, 32], 'normal'],
      ['model.layers.0.mlp.down_proj.weight', [32, 64], 'normal'],
    ]);
    expect(lora.slice(-2).map((s) => [s.name, s.shape])).toEqual([
      ['model.norm.weight', [32]],
      ['lm_head.weight', [256, 32]],
    ]);
    expect(lora).toHaveLength(1 + 2 * 12 + 2);
    const direct = parameterSpecs(PRESETS.tiny);
    expect(direct).toHaveLength(1 + 2 * 10 + 2);
    expect(direct[2]).toEqual({ name: 'model.layers.0.self_attn.q_proj.weight', shape: [24, 32], init: 'normal' });
    expect(direct.some((s) => s.name.includes('q_a_') || s.name.includes('q_b_'))).toBe(false);
    expect(new Set(direct.map((s) => s.name)).size).toBe(direct.length);
    expect(parameterCount(PRESETS.tiny)).toBe(direct.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0));
  });

  it('modelDims derives the widths the forward uses', () => {
    const d = modelDims(PRESETS.small);
    expect(d).toMatchObject({ dqk: 48, qOut: 192, kvaOut: 80, kvbOut: 256, oIn: 128, eps: 1e-6, latentEps: 1e-6 });
    expect(d.scale).toBeCloseTo(1 / Math.sqrt(48), 15);
  });

  it('rejects bad configs with errors naming the field', () => {
    const bad = (patch: Record<string, unknown>) => () => parseModelConfig({ ...PRESETS.tiny, ...patch });
    expect(bad({ qk_rope_head_dim: 5 })).toThrow(/qk_rope_head_dim must be even/);
    expect(bad({ hidden_size: 0 })).toThrow(/hidden_size must be positive/);
    expect(bad({ num_attention_heads: 1.5 })).toThrow(/num_attention_heads must be an integer/);
    expect(bad({ vocab_size: '256' })).toThrow(/vocab_size/);
    expect(bad({ q_lora_rank: -1 })).toThrow(/q_lora_rank must be 0 or positive/);
    expect(bad({ tie_word_embeddings: true })).toThrow(/tie_word_embeddings must be false/);
    expect(bad({ rms_norm_eps: 0 })).toThrow(/rms_norm_eps must be positive/);
    expect(bad({ n_routed_experts: 8 })).toThrow(/n_routed_experts/);
    expect(bad({ vocab_size: 2 ** 24, hidden_size: 2 ** 6 })).toThrow(new RegExp(`model.embed_tokens.weight would have ${2 ** 30} elements.*limit ${MAX_TENSOR_ELEMENTS}`));
    expect(() => parseModelConfig({ hidden_size: 32 })).toThrow(/vocab_size[\s\S]*num_hidden_layers/);
    expect(bad({ hidden_size: 0 })).toThrow(ModelConfigError);
  });

  it('fills defaults', () => {
    const { rms_norm_eps, rope_theta, initializer_range, tie_word_embeddings, q_lora_rank, ...dims } = PRESETS.tiny;
    expect(parseModelConfig(dims)).toEqual({ ...PRESETS.tiny, q_lora_rank: 0 });
    expect([rms_norm_eps, rope_theta, initializer_range, tie_word_embeddings, q_lora_rank]).toEqual([1e-6, 10000, 0.02, false, 0]);
  });
});

describe('Hugging Face config.json', () => {
  it('has what transformers needs for a dense DeepseekV3ForCausalLM', () => {
    const j = hfConfigJson(PRESETS.tinyLora);
    expect(j).toMatchObject({
      model_type: 'deepseek_v3',
      architectures: ['DeepseekV3ForCausalLM'],
      rope_interleave: true,
      hidden_act: 'silu',
      attention_bias: false,
      torch_dtype: 'float32',
      rope_scaling: null,
      tie_word_embeddings: false,
      first_k_dense_replace: 2,
      n_routed_experts: null,
      num_key_value_heads: 2,
      q_lora_rank: 24,
      kv_lora_rank: 16,
      qk_nope_head_dim: 8,
      qk_rope_head_dim: 4,
      v_head_dim: 8,
      rope_theta: 10000,
      rms_norm_eps: 1e-6,
    });
    // transformers builds the direct q_proj only when q_lora_rank is None.
    expect(hfConfigJson(PRESETS.tiny).q_lora_rank).toBeNull();
  });

  it('round trips every preset through JSON text', () => {
    for (const name of PRESET_NAMES) {
      const c = PRESETS[name];
      expect(configFromHfJson(JSON.parse(JSON.stringify(hfConfigJson(c))))).toEqual(c);
    }
  });

  it('accepts other writers: rope_parameters, unknown fields, n_routed_experts with all layers dense', () => {
    const { rope_theta: _, ...j } = hfConfigJson(PRESETS.tiny);
    const c = configFromHfJson({ ...j, rope_parameters: { rope_type: 'default', rope_theta: 500 }, transformers_version: '4.57.0', n_routed_experts: 8 });
    expect(c).toEqual({ ...PRESETS.tiny, rope_theta: 500 });
    expect(configFromHfJson({ ...j, q_lora_rank: 0 }).q_lora_rank).toBe(0);
  });

  it('rejects configs describing a different model, saying why', () => {
    const base = hfConfigJson(PRESETS.tiny);
    const bad = (patch: Record<string, unknown>) => () => configFromHfJson({ ...base, ...patch });
    expect(bad({ model_type: 'llama' })).toThrow(/model_type must be "deepseek_v3"/);
    expect(bad({ n_routed_experts: 8, first_k_dense_replace: 1 })).toThrow(/every layer must be dense/);
    expect(bad({ rope_scaling: { type: 'yarn', factor: 4 } })).toThrow(/rope_scaling must be null/);
    expect(bad({ rope_parameters: { rope_type: 'yarn', factor: 4 } })).toThrow(/rope_type must be "default"/);
    expect(bad({ rope_interleave: false })).toThrow(/rope_interleave must be true/);
    expect(bad({ hidden_act: 'gelu' })).toThrow(/hidden_act must be "silu"/);
    expect(bad({ attention_bias: true })).toThrow(/attention_bias must be false/);
    expect(bad({ num_key_value_heads: 1 })).toThrow(/num_key_value_heads must equal num_attention_heads/);
    expect(bad({ qk_rope_head_dim: 3 })).toThrow(/qk_rope_head_dim must be even/);
    expect(bad({ tie_word_embeddings: true })).toThrow(/tie_word_embeddings must be false/);
    expect(() => configFromHfJson(null)).toThrow(ModelConfigError);
    expect(() => configFromHfJson([1, 2])).toThrow(ModelConfigError);
  });
});
