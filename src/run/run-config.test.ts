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

describe('run config: dataset', () => {
  it('keeps a shipped name and defaults to austen-byte', () => {
    expect(parseRunConfig({}).dataset).toBe('austen-byte');
    expect(parseRunConfig({ dataset: 'austen-gpt2' }).dataset).toBe('austen-gpt2');
  });

  it('takes an absolute http(s) URL of a dataset folder or its manifest, kept as the folder URL every client opens', () => {
    const canonical = 'https://data.example.org/sets/web-gpt2';
    for (const given of [canonical, `${canonical}/`, `${canonical}/manifest.json`, 'HTTPS://Data.Example.org/sets/web-gpt2//']) {
      expect(parseRunConfig({ dataset: given }).dataset, given).toBe(canonical);
    }
    expect(parseRunConfig({ dataset: 'http://127.0.0.1:8080/data/austen-gpt2' }).dataset).toBe('http://127.0.0.1:8080/data/austen-gpt2');
    // What the coordinator sends clients parses to the same place.
    const config = parseRunConfig({ dataset: `${canonical}/manifest.json` });
    expect(parseRunConfig(JSON.parse(JSON.stringify(config))).dataset).toBe(canonical);
  });

  it('names the dataset field and the rule for each bad value', () => {
    const cases: [unknown, RegExp][] = [
      ['Austen Byte', /neither a shipped dataset name .* nor an absolute http\(s\) URL/],
      ['/data/austen-byte', /neither a shipped dataset name/],
      ['ftp://example.org/sets/x', /must be http or https, not ftp/],
      ['file:///srv/sets/x', /must be http or https, not file/],
      ['https://user:secret@example.org/sets/x', /must not carry a user name or password/],
      ['https://example.org/sets/x?v=2', /must not have a query or fragment/],
      ['https://example.org/sets/x#train', /must not have a query or fragment/],
      [7, /expected string/],
    ];
    for (const [dataset, message] of cases) {
      const parse = () => parseRunConfig({ dataset });
      expect(parse, String(dataset)).toThrow(RunConfigError);
      expect(parse, String(dataset)).toThrow(message);
      expect(parse, String(dataset)).toThrow(/at dataset/);
    }
  });
});

describe('the run configs in docs/runs', () => {
  it('each parses, and the 100 M run uses the preset at its full context with the GPT-2 data', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const dir = new URL('../../docs/runs/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files).toContain('bpe-100m.json');
    for (const f of files) expect(() => parseRunConfig(JSON.parse(readFileSync(new URL(f, dir), 'utf8')), f), f).not.toThrow();
    const run = parseRunConfig(JSON.parse(readFileSync(new URL('bpe-100m.json', dir), 'utf8')));
    expect(run.model).toEqual(getPreset('bpe-100m'));
    expect(run.seqLen).toBe(run.model.max_position_embeddings);
    expect(run.dataset).toBe('web-gpt2');
  });
});
