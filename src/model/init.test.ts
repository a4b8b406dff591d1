import { describe, expect, it } from 'vitest';
import { numel, parameterSpecs, PRESETS } from './config';
import { initParams } from './init';

describe('initParams', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = initParams(PRESETS.tinyLora, 7);
    const b = initParams(PRESETS.tinyLora, 7);
    const c = initParams(PRESETS.tinyLora, 8);
    for (const [name, x] of a) {
      expect(Array.from(b.get(name)!), name).toEqual(Array.from(x));
    }
    const w = 'model.layers.1.mlp.up_proj.weight';
    expect(Array.from(c.get(w)!)).not.toEqual(Array.from(a.get(w)!));
  });

  it('gives every spec its shape: ones for gains, normal(0, initializer_range) for matrices', () => {
    const config = PRESETS.small;
    const params = initParams(config, 1);
    expect([...params.keys()]).toEqual(parameterSpecs(config).map((s) => s.name));
    for (const spec of parameterSpecs(config)) {
      const x = params.get(spec.name)!;
      expect(x).toBeInstanceOf(Float32Array);
      expect(x.length).toBe(numel(spec.shape));
      if (spec.init === 'ones') {
        expect(x.every((v) => v === 1)).toBe(true);
      } else {
        const mean = x.reduce((s, v) => s + v, 0) / x.length;
        const sd = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
        // 3σ bounds for the sample mean and sd of n normals.
        expect(Math.abs(mean), spec.name).toBeLessThan((3 * 0.02) / Math.sqrt(x.length));
        expect(Math.abs(sd - 0.02), spec.name).toBeLessThan((3 * 0.02) / Math.sqrt(2 * x.length));
      }
    }
  });

  it('draws each tensor from its own stream, so the q layout does not shift the others', () => {
    const direct = initParams(PRESETS.tiny, 3);
    const lora = initParams(PRESETS.tinyLora, 3);
    for (const name of ['model.embed_tokens.weight', 'model.layers.1.self_attn.kv_b_proj.weight', 'lm_head.weight']) {
      expect(Array.from(lora.get(name)!), name).toEqual(Array.from(direct.get(name)!));
    }
    expect(Array.from(direct.get('lm_head.weight')!)).not.toEqual(Array.from(direct.get('model.embed_tokens.weight')!));
  });

  it('rejects a non-integer seed', () => {
    expect(() => initParams(PRESETS.tiny, 1.5)).toThrow(/seed must be an integer/);
  });
});
