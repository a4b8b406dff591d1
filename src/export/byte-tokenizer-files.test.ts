/** The byte tokenizer's exported files, read back by Hugging Face's JS tokenizers, encode exactly as the app's byteTokenizer. */
import { describe, expect, it } from 'vitest';
import { byteTokenizer } from '../data/tokenizers';
import { BYTE_TO_UNICODE } from './byte-level';
import { byteTokenizerFiles } from './byte-tokenizer-files';
import { hfDecode, hfEncode, hfTokenizer, jsonOf, TEST_TEXTS } from './test-helpers';

const files = byteTokenizerFiles(64);
const tok = hfTokenizer(files);

describe('byte tokenizer files', () => {
  it('hold 256 tokens, id b for byte b, and no merges', () => {
    const vocab = jsonOf<Record<string, number>>(files, 'vocab.json');
    expect(Object.keys(vocab)).toHaveLength(256);
    for (let b = 0; b < 256; b++) expect(vocab[BYTE_TO_UNICODE[b]]).toBe(b);
    expect(new TextDecoder().decode(files.get('merges.txt'))).toBe('#version: 0.2\n');
    const json = jsonOf<{ model: { vocab: unknown; merges: unknown[] }; added_tokens: unknown[]; pre_tokenizer: unknown }>(files, 'tokenizer.json');
    expect(json.model.vocab).toEqual(vocab);
    expect(json.model.merges).toEqual([]);
    expect(json.pre_tokenizer).toMatchObject({ type: 'ByteLevel', use_regex: false });
  });

  it('follow byteTokenizer on end of text: it has none, so neither do the files', () => {
    expect(byteTokenizer.eotToken).toBeNull();
    expect(jsonOf(files, 'tokenizer.json').added_tokens).toEqual([]);
    expect(jsonOf(files, 'special_tokens_map.json')).toEqual({});
    const config = jsonOf(files, 'tokenizer_config.json');
    expect(config).toMatchObject({ tokenizer_class: 'PreTrainedTokenizerFast', model_max_length: 64 });
    expect(config).not.toHaveProperty('eos_token');
  });

  it('encode every test text to its UTF-8 bytes as byteTokenizer does, and decode them back', () => {
    for (const s of [...TEST_TEXTS, 'a<|endoftext|>b']) {
      const ids = hfEncode(tok, s);
      expect(ids, JSON.stringify(s)).toEqual(byteTokenizer.encode(s));
      expect(hfDecode(tok, ids), JSON.stringify(s)).toBe(s);
    }
  });

  it('give every byte value its own id, each decoding as byteTokenizer does', () => {
    const all = Array.from({ length: 256 }, (_, b) => b);
    for (const b of all) expect(tok.id_to_token(b)).toBe(BYTE_TO_UNICODE[b]);
    // Bytes ≥ 0x80 out of sequence are not UTF-8: both sides show U+FFFD.
    expect(hfDecode(tok, all)).toBe(byteTokenizer.decode(all));
    expect(hfDecode(tok, all)).toContain('\uFFFD');
    expect(hfDecode(tok, [0xe6, 0x97, 0xa5])).toBe('日');
  });
});
