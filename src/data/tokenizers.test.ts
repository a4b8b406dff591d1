import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { byteTokenizer, getTokenizer, gpt2Tokenizer } from './tokenizers';

const corpus = readFileSync(new URL('../../data/corpus/austen.txt', import.meta.url), 'utf8');
const paragraphs = corpus.split('\n\n').filter((p) => p.length > 0);
// Every 40th paragraph spans all three novels without tokenizing the whole corpus per test.
const sample = paragraphs.filter((_, i) => i % 40 === 0);

describe('byteTokenizer', () => {
  it('maps text to its UTF-8 bytes', () => {
    expect(byteTokenizer.encode('Abc')).toEqual([65, 98, 99]);
    expect(byteTokenizer.encode('£')).toEqual([0xc2, 0xa3]);
    expect(byteTokenizer.vocabSize).toBe(256);
    expect(byteTokenizer.eotToken).toBeNull();
  });

  it('round-trips real corpus paragraphs and non-ASCII text', () => {
    expect(sample.length).toBeGreaterThan(100);
    for (const p of [...sample, 'naïve café — £20,000 🎉']) {
      const ids = byteTokenizer.encode(p);
      expect(ids.length).toBe(new TextEncoder().encode(p).length);
      expect(byteTokenizer.decode(ids)).toBe(p);
    }
  });

  it('rejects ids outside 0..255', () => {
    expect(() => byteTokenizer.decode([65, 256])).toThrow(/token 256 at position 1/);
    expect(() => byteTokenizer.decode([-1])).toThrow(RangeError);
    expect(() => byteTokenizer.decode([1.5])).toThrow(RangeError);
  });
});

describe('gpt2Tokenizer', () => {
  it('is GPT-2 r50k_base: known ids, vocab 50257, EOT 50256', () => {
    expect(gpt2Tokenizer.vocabSize).toBe(50257);
    expect(gpt2Tokenizer.eotToken).toBe(50256);
    // Reference ids from OpenAI's GPT-2 encoder.json: "Hello" = 15496, " world" = 995.
    expect(gpt2Tokenizer.encode('Hello world')).toEqual([15496, 995]);
    expect(gpt2Tokenizer.decode([50256])).toBe('<|endoftext|>');
  });

  it('round-trips real corpus paragraphs and compresses them', () => {
    let bytes = 0;
    let tokens = 0;
    for (const p of sample) {
      const ids = gpt2Tokenizer.encode(p);
      expect(gpt2Tokenizer.decode(ids)).toBe(p);
      expect(ids.every((t) => t >= 0 && t < 50256)).toBe(true);
      bytes += new TextEncoder().encode(p).length;
      tokens += ids.length;
    }
    // English prose is about 4 bytes per GPT-2 token; a broken merge table would be near 1.
    expect(bytes / tokens).toBeGreaterThan(3.5);
  });

  it('treats a literal <|endoftext|> in text as plain characters', () => {
    const text = 'THE END<|endoftext|>Chapter 1';
    const ids = gpt2Tokenizer.encode(text);
    expect(ids).not.toContain(50256);
    expect(gpt2Tokenizer.decode(ids)).toBe(text);
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => gpt2Tokenizer.decode([50257])).toThrow(/outside the vocabulary \[0, 50257\)/);
  });
});

describe('getTokenizer', () => {
  it('returns the tokenizer named in a manifest', () => {
    expect(getTokenizer('byte')).toBe(byteTokenizer);
    expect(getTokenizer('gpt2')).toBe(gpt2Tokenizer);
  });
});
