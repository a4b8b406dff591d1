/** GPT-2's exported tokenizer, read back by Hugging Face's JS tokenizers, encodes exactly as the app's gpt2Tokenizer. */
import { describe, expect, it } from 'vitest';
import { gpt2Tokenizer } from '../data/tokenizers';
import { GPT2_EOT, gpt2TokenizerFiles } from './gpt2-tokenizer-files';
import { hfDecode, hfEncode, hfTokenizer, jsonOf, TEST_TEXTS } from './test-helpers';

const files = gpt2TokenizerFiles(1024);
const tok = hfTokenizer(files);
const text = (name: string) => new TextDecoder().decode(files.get(name));

describe('GPT-2 tokenizer files', () => {
  it('hold the five files, with GPT-2-sized vocab.json (50257) and merges.txt (50000 merges)', () => {
    expect([...files.keys()].sort()).toEqual(['merges.txt', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json']);
    const vocab = jsonOf<Record<string, number>>(files, 'vocab.json');
    expect(Object.keys(vocab)).toHaveLength(50257);
    expect(new Set(Object.values(vocab)).size).toBe(50257);
    expect(Math.max(...Object.values(vocab))).toBe(50256);
    const lines = text('merges.txt').split('\n');
    expect(lines[0]).toBe('#version: 0.2');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(1, -1)).toHaveLength(50000);
    const model = jsonOf<{ model: { vocab: Record<string, number>; merges: string[] } }>(files, 'tokenizer.json').model;
    expect(model.vocab).toEqual(vocab);
    expect(model.merges).toEqual(lines.slice(1, -1));
  });

  it('are GPT-2 (facts of the published gpt2 files, not derived from the same data)', () => {
    const vocab = jsonOf<Record<string, number>>(files, 'vocab.json');
    expect([vocab['!'], vocab['Ġ'], vocab['Ġthe'], vocab['the'], vocab['<|endoftext|>']]).toEqual([0, 220, 262, 1169, 50256]);
    expect(text('merges.txt').split('\n').slice(1, 9)).toEqual(['Ġ t', 'Ġ a', 'h e', 'i n', 'r e', 'o n', 'Ġt he', 'e r']);
    expect(tok.tokenize('Hello world')).toEqual(['Hello', 'Ġworld']);
  });

  it('name <|endoftext|> as bos, eos and unk, and the model length', () => {
    const config = jsonOf(files, 'tokenizer_config.json');
    expect(config).toMatchObject({ tokenizer_class: 'GPT2Tokenizer', add_prefix_space: false, clean_up_tokenization_spaces: false, bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', model_max_length: 1024 });
    expect(jsonOf(files, 'special_tokens_map.json')).toEqual({ bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>' });
    const json = jsonOf<{ added_tokens: unknown[]; pre_tokenizer: unknown }>(files, 'tokenizer.json');
    expect(json.added_tokens).toEqual([expect.objectContaining({ id: gpt2Tokenizer.eotToken, content: '<|endoftext|>', special: true })]);
    expect(json.pre_tokenizer).toEqual({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true });
    expect(GPT2_EOT.id).toBe(gpt2Tokenizer.eotToken);
  });

  it('encode every test text to the app tokenizer ids, and decode them back', () => {
    for (const s of TEST_TEXTS) {
      const ids = hfEncode(tok, s);
      expect(ids, JSON.stringify(s)).toEqual(gpt2Tokenizer.encode(s));
      expect(hfDecode(tok, ids), JSON.stringify(s)).toBe(s);
    }
  });

  it('encode a text made of every vocabulary token exactly as the app does (every merge in use)', () => {
    const pieces = Array.from({ length: GPT2_EOT.id }, (_, id) => gpt2Tokenizer.decode([id]));
    for (const s of [pieces.join(' '), pieces.slice(0, 20000).join('')]) {
      const ids = hfEncode(tok, s);
      const ours = gpt2Tokenizer.encode(s);
      expect(ids.length).toBe(ours.length);
      const first = ids.findIndex((id, i) => id !== ours[i]);
      expect(first, `first difference at ${first}`).toBe(-1);
      expect(hfDecode(tok, ids)).toBe(s);
    }
  }, 30_000);

  it('read a literal <|endoftext|> as the end-of-text token, as transformers does, where the app spells it out', () => {
    // HF splits added special tokens out of the text before BPE; the app never lets corpus text make a
    // control token. So HF gives what data prep makes of two documents: ids of one, eot, ids of the next.
    const [a, b] = ['The end.', '\nChapter 2'];
    expect(hfEncode(tok, `${a}<|endoftext|>${b}`)).toEqual([...gpt2Tokenizer.encode(a), GPT2_EOT.id, ...gpt2Tokenizer.encode(b)]);
    expect(gpt2Tokenizer.encode('<|endoftext|>')).not.toContain(GPT2_EOT.id);
    expect(hfDecode(tok, [...gpt2Tokenizer.encode(a), GPT2_EOT.id])).toBe(`${a}<|endoftext|>`);
  });
});
