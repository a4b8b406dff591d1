/**
 * The tokenizer files of a Hugging Face model folder for a byte-level BPE
 * (GPT-2's kind of tokenizer): tokenizer.json for the `tokenizers` library
 * (what AutoTokenizer loads), vocab.json and merges.txt for the slow Python
 * GPT2Tokenizer and other tools, tokenizer_config.json and
 * special_tokens_map.json. Both of our tokenizers are this kind, so
 * gpt2-tokenizer-files.ts and byte-tokenizer-files.ts only supply the
 * vocabulary, merges and options.
 */

export interface ByteLevelBpeSpec {
  /** Token keys in the byte-level alphabet (byte-level.ts), index = id. */
  vocab: readonly string[];
  /** Merge rules in priority order, each a pair of token keys. */
  merges: readonly (readonly [string, string])[];
  /** Split text with GPT-2's regex before BPE (true), or feed it whole (false). */
  gpt2Split: boolean;
  /** The end-of-text token, or null when the vocabulary has none. */
  eot: { id: number; content: string } | null;
  /** transformers' tokenizer_class. */
  tokenizerClass: string;
  /** Init arguments of that class for tokenizer_config.json (only ones the class takes). */
  classArgs?: Record<string, unknown>;
  /** The model's max_position_embeddings: longer inputs make transformers warn. */
  modelMaxLength: number;
}

const encoder = new TextEncoder();
const jsonFile = (value: unknown, indent?: number) => encoder.encode(JSON.stringify(value, null, indent) + '\n');

export function byteLevelBpeFiles(spec: ByteLevelBpeSpec): Map<string, Uint8Array> {
  const vocab = vocabObject(spec);
  return new Map([
    ['tokenizer.json', jsonFile(tokenizerJson(spec, vocab))],
    ['vocab.json', jsonFile(vocab)],
    ['merges.txt', mergesTxt(spec.merges)],
    ['tokenizer_config.json', jsonFile(tokenizerConfig(spec), 2)],
    ['special_tokens_map.json', jsonFile(specialTokensMap(spec), 2)],
  ]);
}

/** vocab.json / tokenizer.json's model.vocab: key → id, the end-of-text token included (as GPT-2's is). */
function vocabObject(spec: ByteLevelBpeSpec): Record<string, number> {
  const vocab: Record<string, number> = {};
  spec.vocab.forEach((key, id) => {
    if (Object.hasOwn(vocab, key)) throw new Error(`byte-level BPE: token key ${JSON.stringify(key)} appears twice`);
    vocab[key] = id;
  });
  if (spec.eot !== null) vocab[spec.eot.content] = spec.eot.id;
  return vocab;
}

/**
 * The ByteLevel parts as GPT-2's own tokenizer.json has them. With use_regex
 * false the pre-tokenizer only maps bytes to the alphabet and splits nothing.
 */
function tokenizerJson(spec: ByteLevelBpeSpec, vocab: Record<string, number>): unknown {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: spec.gpt2Split };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: spec.eot === null ? [] : [{ id: spec.eot.id, ...addedToken(spec.eot.content) }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      // "a b" strings: every tokenizers version reads them, and byte-level keys never hold a space.
      merges: spec.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** HF marks GPT-2's <|endoftext|> "normalized": true; there is no normalizer, so it changes nothing. */
function addedToken(content: string) {
  return { content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true };
}

/** The slow tokenizer skips the first line and the empty one after the last newline. */
function mergesTxt(merges: ByteLevelBpeSpec['merges']): Uint8Array {
  return encoder.encode(['#version: 0.2', ...merges.map(([a, b]) => `${a} ${b}`)].join('\n') + '\n');
}

function tokenizerConfig(spec: ByteLevelBpeSpec): Record<string, unknown> {
  const eot = spec.eot;
  return {
    tokenizer_class: spec.tokenizerClass,
    model_max_length: spec.modelMaxLength,
    // transformers' default (true) rewrites " ." as "." on decode; our decode gives the text back exactly.
    clean_up_tokenization_spaces: false,
    ...spec.classArgs,
    ...(eot === null
      ? {}
      : { bos_token: eot.content, eos_token: eot.content, unk_token: eot.content, added_tokens_decoder: { [eot.id]: addedToken(eot.content) } }),
  };
}

function specialTokensMap(spec: ByteLevelBpeSpec): Record<string, string> {
  const eot = spec.eot?.content;
  return eot === undefined ? {} : { bos_token: eot, eos_token: eot, unk_token: eot };
}
