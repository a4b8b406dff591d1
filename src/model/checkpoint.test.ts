import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX } from '../kernels/crossentropy/ignore-index';
import { mulberry32, randomInts } from '../kernels/testing/random';
import { CheckpointError, CONFIG_METADATA_KEY, exportCheckpoint, importCheckpoint } from './checkpoint';
import { configFromHfJson, ModelConfigError, numel, parameterSpecs, PRESETS } from './config';
import { initParams } from './init';
import { referenceLoss, toFloat64Params } from './reference-model';
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type Tensor } from './safetensors';
import { mutate, rawSafetensors } from './test-helpers';

function bits(x: Float32Array): number[] {
  return Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));
}

function tensorsOf(params: Map<string, Float32Array>): Map<string, Tensor> {
  const specs = new Map(parameterSpecs(PRESETS.tiny).map((s) => [s.name, s.shape]));
  return new Map([...params].map(([name, data]) => [name, { shape: specs.get(name) ?? [data.length], data }]));
}

describe('checkpoints', () => {
  for (const config of [PRESETS.tiny, PRESETS.tinyLora]) {
    it(`round trip is bit-exact, self-describing, and leaves the loss identical (q_lora_rank ${config.q_lora_rank})`, () => {
      const params = initParams(config, 9);
      const { safetensors, configJson } = exportCheckpoint(config, params);
      expect(configFromHfJson(JSON.parse(configJson))).toEqual(config);
      expect(decodeSafetensors(safetensors).metadata).toEqual({ format: 'pt', [CONFIG_METADATA_KEY]: configJson });

      for (const back of [importCheckpoint(safetensors), importCheckpoint(safetensors, config)]) {
        expect(back.config).toEqual(config);
        expect([...back.params.keys()]).toEqual(parameterSpecs(config).map((s) => s.name));
        for (const [name, x] of params) expect(bits(back.params.get(name)!), name).toEqual(bits(x));
      }
      const again = exportCheckpoint(config, importCheckpoint(safetensors).params).safetensors;
      expect(Array.from(again)).toEqual(Array.from(safetensors));

      const [B, S] = [2, 5];
      const inputIds = randomInts(B * S, config.vocab_size, 1);
      const targets = randomInts(B * S, config.vocab_size, 2);
      targets[3] = IGNORE_INDEX;
      const before = referenceLoss(toFloat64Params(params), config, inputIds, targets, B, S);
      const after = referenceLoss(toFloat64Params(importCheckpoint(safetensors).params), config, inputIds, targets, B, S);
      expect(after).toBe(before);
    });
  }

  it('the config argument wins over the stored one', () => {
    const { safetensors } = exportCheckpoint(PRESETS.tiny, initParams(PRESETS.tiny, 1));
    expect(importCheckpoint(safetensors, { ...PRESETS.tiny, rope_theta: 500 }).config.rope_theta).toBe(500);
  });

  it('lists every missing, unexpected and mis-shaped tensor', () => {
    const params = initParams(PRESETS.tiny, 1);
    params.delete('model.norm.weight');
    params.delete('model.layers.1.mlp.up_proj.weight');
    params.set('model.layers.0.extra.weight', new Float32Array(2));
    const tensors = tensorsOf(params);
    tensors.set('lm_head.weight', { shape: [32, 256], data: params.get('lm_head.weight')! });
    const bytes = encodeSafetensors(tensors);
    expect(() => importCheckpoint(bytes, PRESETS.tiny)).toThrow(
      'importCheckpoint: tensors do not match the config: missing 2 tensor(s): model.layers.1.mlp.up_proj.weight, model.norm.weight; ' +
        'unexpected 1 tensor(s): model.layers.0.extra.weight; mis-shaped 1 tensor(s): lm_head.weight is [32, 256], expected [256, 32]',
    );
    // A checkpoint of the other query layout: names differ, so the error says which.
    const lora = exportCheckpoint(PRESETS.tinyLora, initParams(PRESETS.tinyLora, 1)).safetensors;
    expect(() => importCheckpoint(lora, PRESETS.tiny)).toThrow(/missing 2 tensor\(s\): model\.layers\.0\.self_attn\.q_proj\.weight, model\.layers\.1\.self_attn\.q_proj\.weight; unexpected 6 tensor\(s\)/);
  });

  it('exportCheckpoint refuses params that do not match the config', () => {
    const params = initParams(PRESETS.tiny, 1);
    params.set('lm_head.weight', new Float32Array(5));
    params.delete('model.norm.weight');
    expect(() => exportCheckpoint(PRESETS.tiny, params)).toThrow(/missing 1 tensor\(s\): model\.norm\.weight; mis-shaped 1 tensor\(s\): lm_head\.weight is 5 elements, expected \[256, 32\]/);
  });

  it('needs a config from somewhere, and a valid one', () => {
    const plain = encodeSafetensors(tensorsOf(initParams(PRESETS.tiny, 1)));
    expect(() => importCheckpoint(plain)).toThrow(/no config given and the file has no "tessera_config" metadata/);
    expect(importCheckpoint(plain, PRESETS.tiny).params.size).toBe(parameterSpecs(PRESETS.tiny).length);
    const badJson = encodeSafetensors(tensorsOf(initParams(PRESETS.tiny, 1)), { [CONFIG_METADATA_KEY]: '{oops' });
    expect(() => importCheckpoint(badJson)).toThrow(/"tessera_config" metadata is not valid JSON/);
    const badConfig = encodeSafetensors(tensorsOf(initParams(PRESETS.tiny, 1)), { [CONFIG_METADATA_KEY]: '{"model_type":"llama"}' });
    expect(() => importCheckpoint(badConfig)).toThrow(/invalid "tessera_config" metadata:[\s\S]*model_type must be "deepseek_v3"/);
    expect(() => importCheckpoint(plain, { ...PRESETS.tiny, qk_rope_head_dim: 3 })).toThrow(ModelConfigError);
  });

  it('rejects non-finite weights, naming the entry', () => {
    const params = initParams(PRESETS.tiny, 1);
    params.get('model.layers.1.self_attn.kv_b_proj.weight')![17] = NaN;
    const { safetensors } = exportCheckpoint(PRESETS.tiny, params);
    expect(() => importCheckpoint(safetensors)).toThrow('importCheckpoint: model.layers.1.self_attn.kv_b_proj.weight[17] is NaN; weights must be finite');
  });

  it('imports F16 and BF16 checkpoints, widened to f32', () => {
    const config = PRESETS.tiny;
    const params = initParams(config, 4);
    const header: Record<string, unknown> = {};
    const chunks: Uint8Array[] = [];
    let offset = 0;
    parameterSpecs(config).forEach((spec, i) => {
      const x = params.get(spec.name)!;
      const dtype = i % 2 === 0 ? 'BF16' : 'F16';
      const half = new Uint8Array(2 * x.length);
      const view = new DataView(half.buffer);
      // Truncating to bf16 and the exactly representable 1.0 / 0 in f16 keep the expected values exact.
      x.forEach((v, j) => view.setUint16(2 * j, dtype === 'BF16' ? new Uint32Array(Float32Array.of(v).buffer)[0] >>> 16 : v === 1 ? 0x3c00 : 0, true));
      header[spec.name] = { dtype, shape: spec.shape, data_offsets: [offset, offset + half.length] };
      offset += half.length;
      chunks.push(half);
    });
    const data = new Uint8Array(offset);
    let at = 0;
    for (const c of chunks) {
      data.set(c, at);
      at += c.length;
    }
    const { params: back } = importCheckpoint(rawSafetensors(header, data), config);
    parameterSpecs(config).forEach((spec, i) => {
      const x = params.get(spec.name)!;
      const expected = i % 2 === 0 ? x.map((v) => new Float32Array(Uint32Array.of(new Uint32Array(Float32Array.of(v).buffer)[0] & 0xffff0000).buffer)[0]) : x.map((v) => (v === 1 ? 1 : 0));
      expect(Array.from(back.get(spec.name)!), spec.name).toEqual(Array.from(expected));
    });
  });

  it('fuzz: corrupted checkpoints throw a clean error or import a consistent model', () => {
    const config = PRESETS.tiny;
    const good = exportCheckpoint(config, initParams(config, 2)).safetensors;
    const headerEnd = 8 + new DataView(good.buffer).getUint32(0, true);
    const rand = mulberry32(7);
    const clean = [SafetensorsError, CheckpointError, ModelConfigError];
    let rejected = 0;
    for (let trial = 0; trial < 400; trial++) {
      const bytes = mutate(good, headerEnd, rand);
      let result;
      try {
        result = importCheckpoint(bytes);
      } catch (e) {
        expect(clean.some((cls) => e instanceof cls), `trial ${trial}: ${String(e)}`).toBe(true);
        rejected++;
        continue;
      }
      // A mutation that survives (e.g. one digit of rms_norm_eps) must still give a well-formed model.
      for (const spec of parameterSpecs(result.config)) {
        const x = result.params.get(spec.name)!;
        expect(x.length).toBe(numel(spec.shape));
        expect(x.every(Number.isFinite)).toBe(true);
      }
    }
    expect(rejected).toBeGreaterThan(350);
  });
});
