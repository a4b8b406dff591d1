/**
 * A checkpoint as a Hugging Face model folder: what
 * `AutoModelForCausalLM.from_pretrained(dir)` and
 * `AutoTokenizer.from_pretrained(dir)` load. The weights are the checkpoint
 * file itself (it already has HF tensor names and format "pt"); the rest is
 * config and tokenizer files.
 */
import { importCheckpoint } from '../model/checkpoint';
import { hfConfigJson, type ModelConfig } from '../model/config';
import { getTokenizer } from '../data/tokenizers';
import type { TokenizerName } from '../data/manifest';
import { byteTokenizerFiles } from './byte-tokenizer-files';
import { gpt2TokenizerFiles } from './gpt2-tokenizer-files';

/** Sampling defaults for generate(): enough to show what a small model writes. */
export const GENERATION_DEFAULTS = { do_sample: true, temperature: 0.8, top_k: 50, top_p: 0.95, max_new_tokens: 128 } as const;

const encoder = new TextEncoder();
const jsonFile = (value: unknown) => encoder.encode(JSON.stringify(value, null, 2) + '\n');

/** File name → bytes. Throws if the checkpoint is not a valid one of its own config, or the tokenizer does not fit it. */
export function hfFolder(checkpoint: Uint8Array, tokenizer: TokenizerName): Map<string, Uint8Array> {
  const { config } = importCheckpoint(checkpoint);
  const vocabSize = getTokenizer(tokenizer).vocabSize;
  if (vocabSize > config.vocab_size) {
    throw new Error(`the ${tokenizer} tokenizer has ${vocabSize} tokens but the model's vocab_size is ${config.vocab_size}`);
  }
  const eot = specialIds(tokenizer);
  return new Map([
    ['model.safetensors', checkpoint],
    ['config.json', jsonFile({ ...hfConfigJson(config), ...eot })],
    ['generation_config.json', jsonFile(generationConfig(eot))],
    ...tokenizerFiles(tokenizer, config),
  ]);
}

/**
 * bos/eos ids for config.json. Null when the tokenizer has no end-of-text
 * token: DeepseekV3Config otherwise defaults them to 0 and 1, real bytes.
 */
function specialIds(tokenizer: TokenizerName): { bos_token_id: number | null; eos_token_id: number | null } {
  const eot = getTokenizer(tokenizer).eotToken;
  return { bos_token_id: eot, eos_token_id: eot };
}

/** pad = eos, as for GPT-2: generate() otherwise warns on every call. */
function generationConfig(ids: ReturnType<typeof specialIds>): Record<string, unknown> {
  const special = ids.eos_token_id === null ? {} : { ...ids, pad_token_id: ids.eos_token_id };
  return { ...special, ...GENERATION_DEFAULTS };
}

function tokenizerFiles(tokenizer: TokenizerName, config: ModelConfig): Map<string, Uint8Array> {
  switch (tokenizer) {
    case 'byte':
      return byteTokenizerFiles(config.max_position_embeddings);
    case 'gpt2':
      return gpt2TokenizerFiles(config.max_position_embeddings);
  }
}
