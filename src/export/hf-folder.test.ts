/** The Hugging Face folder of a checkpoint: the same weights bit for bit, a config that maps back, ids that match the tokenizer. */
import { describe, expect, it } from 'vitest';
import { byteTokenizer, gpt2Tokenizer } from '../data/tokenizers';
import { CheckpointError, exportCheckpoint, importCheckpoint } from '../model/checkpoint';
import { configFromHfJson, parseModelConfig, PRESETS, type ModelConfig } from '../model/config';
import { initParams } from '../model/init';
import { decodeSafetensors } from '../model/safetensors';
import { GENERATION_DEFAULTS, hfFolder } from './hf-folder';
import { jsonOf } from './test-helpers';

const TOKENIZER_FILES = ['merges.txt', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json'];

/** Bytewise equality (vitest's deep equality takes minutes on megabyte arrays). */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function checkpointOf(config: ModelConfig, seed = 3): { bytes: Uint8Array; params: Map<string, Float32Array> } {
  const params = initParams(config, seed);
  return { bytes: exportCheckpoint(config, params).safetensors, params };
}

// The smallest model over GPT-2's vocabulary, so the gpt2 case stays cheap.
const tinyGpt2 = parseModelConfig({ ...PRESETS.tiny, vocab_size: 50257 });

describe('hfFolder', () => {
  for (const [config, tokenizer] of [
    [PRESETS.tiny, 'byte'],
    [PRESETS.tinyLora, 'byte'],
    [tinyGpt2, 'gpt2'],
  ] as const) {
    it(`holds the checkpoint's exact weights and a config.json that maps back (${tokenizer}, q_lora_rank ${config.q_lora_rank})`, () => {
      const { bytes, params } = checkpointOf(config);
      const folder = hfFolder(bytes, tokenizer);
      expect([...folder.keys()].sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', ...TOKENIZER_FILES].sort());
      const weights = folder.get('model.safetensors')!;
      expect(sameBytes(weights, bytes)).toBe(true);
      const decoded = decodeSafetensors(weights);
      expect(decoded.metadata?.format).toBe('pt');
      const back = importCheckpoint(weights);
      expect(back.config).toEqual(config);
      expect([...decoded.tensors.keys()].sort()).toEqual([...params.keys()].sort());
      for (const [name, x] of params) {
        expect(decoded.tensors.get(name)!.dtype, name).toBe('F32');
        expect(sameBytes(back.params.get(name)!, x), name).toBe(true);
      }
      expect(configFromHfJson(jsonOf(folder, 'config.json'))).toEqual(config);
      expect(jsonOf(folder, 'config.json')).toMatchObject({ architectures: ['DeepseekV3ForCausalLM'], model_type: 'deepseek_v3' });
      expect(jsonOf(folder, 'tokenizer_config.json').model_max_length).toBe(config.max_position_embeddings);
    });
  }

  it('names GPT-2 <|endoftext|> as bos/eos/pad in config.json and generation_config.json', () => {
    const folder = hfFolder(checkpointOf(tinyGpt2).bytes, 'gpt2');
    const eot = gpt2Tokenizer.eotToken;
    expect(eot).toBe(50256);
    expect(jsonOf(folder, 'config.json')).toMatchObject({ bos_token_id: eot, eos_token_id: eot });
    expect(jsonOf(folder, 'generation_config.json')).toEqual({ bos_token_id: eot, eos_token_id: eot, pad_token_id: eot, ...GENERATION_DEFAULTS });
    expect(GENERATION_DEFAULTS).toMatchObject({ do_sample: true, temperature: 0.8, top_k: 50, top_p: 0.95 });
  });

  it('has no end-of-text id for the byte tokenizer, overriding DeepseekV3Config defaults (bos 0, eos 1) with null', () => {
    const folder = hfFolder(checkpointOf(PRESETS.tiny).bytes, 'byte');
    expect(byteTokenizer.eotToken).toBeNull();
    expect(jsonOf(folder, 'config.json')).toMatchObject({ bos_token_id: null, eos_token_id: null });
    const generation = jsonOf(folder, 'generation_config.json');
    expect(generation).toEqual({ ...GENERATION_DEFAULTS });
    expect(generation).not.toHaveProperty('eos_token_id');
  });

  it('refuses a tokenizer larger than the model vocabulary, and bytes that are not a checkpoint', () => {
    expect(() => hfFolder(checkpointOf(PRESETS.tiny).bytes, 'gpt2')).toThrow(/50257 tokens but the model's vocab_size is 256/);
    const { bytes } = checkpointOf(PRESETS.tiny);
    expect(() => hfFolder(bytes.subarray(0, bytes.length - 4), 'byte')).toThrow();
    const nan = initParams(PRESETS.tiny, 1);
    nan.get('model.norm.weight')![0] = NaN;
    expect(() => hfFolder(exportCheckpoint(PRESETS.tiny, nan).safetensors, 'byte')).toThrow(CheckpointError);
  });
});
