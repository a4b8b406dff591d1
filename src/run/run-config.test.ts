/** The run config's model field: a preset name or a whole model config, resolved and validated per field. */
import { describe, expect, it } from 'vitest';
import { getPreset, PRESETS } from '../model/config';
import { parseRunConfig, RunConfigError } from './run-config';

const custom = { ...PRESETS.tinyDemo, hidden_size: 128, intermediate_size: 384, num_hidden_layers: 3 };

describe('run config: model', () => {
  it('resolves a preset name (tinyDemo by default) to the whole model config', () => {
    expect(parseRunConfig({}).model).toEqual(getPreset('tinyDemo'));
    expect(parseRunConfig({ model: 'small' }).model).toEqual(getPreset('small'));
  });

  it('takes a whole config object with Hugging Face field names, defaults filled in, and reparses to itself', () => {
    const { rms_norm_eps: _eps, rope_theta: _theta, ...withoutDefaults } = custom;
    const config = parseRunConfig({ model: withoutDefaults });
    expect(config.model).toEqual({ ...custom, rms_norm_eps: 1e-6, rope_theta: 10000 });
    // What the coordinator serves clients parses to the same config.
    expect(parseRunConfig(JSON.parse(JSON.stringify(config)))).toEqual(config);
  });

  it('names each bad field of a config object, and an unknown preset with the known ones', () => {
    const bad = () => parseRunConfig({ model: { ...custom, hidden_size: 0, qk_rope_head_dim: 3, n_routed_experts: 8 } });
    expect(bad).toThrow(RunConfigError);
    expect(bad).toThrow(/hidden_size must be positive[\s\S]*at model\.hidden_size/);
    expect(bad).toThrow(/qk_rope_head_dim must be even[\s\S]*at model\.qk_rope_head_dim/);
    expect(bad).toThrow(/Unrecognized key: "n_routed_experts"[\s\S]*at model/);
    expect(() => parseRunConfig({ model: 'gpt-5' })).toThrow(/unknown model preset "gpt-5"; known presets: tiny, .*tinyDemo/);
    expect(() => parseRunConfig({ model: 7 })).toThrow(/model must be a preset name or a model config object/);
    expect(() => parseRunConfig({ model: { ...custom, vocab_size: 2 ** 29 } })).toThrow(/more than the limit/);
    expect(() => parseRunConfig({ model: 'tinyDemo', seqLen: 128 })).toThrow(/seqLen \(128\) must be ≤ the model's max_position_embeddings \(64\)/);
  });
});
