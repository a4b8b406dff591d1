import { describe, expect, it } from 'vitest';
import { byteTokenizer, gpt2Tokenizer } from '../data/tokenizers';
import { TextStream, tokenizerForVocab } from './text-stream';

describe('TextStream', () => {
  it('holds back a character until its last byte arrives', () => {
    const s = new TextStream(byteTokenizer);
    const bytes = byteTokenizer.encode('aé😀b');
    const pieces = bytes.map((b) => s.push(b));
    expect(pieces.join('')).toBe('aé😀b');
    // 'é' is two bytes: nothing after the first, the whole character after the second.
    expect(pieces.slice(1, 3)).toEqual(['', 'é']);
    // The emoji's four bytes: three empty pieces, then the emoji.
    expect(pieces.slice(3, 7)).toEqual(['', '', '', '😀']);
  });

  it('gives the same text as decoding all GPT-2 tokens at once', () => {
    const text = 'Hello, world! Émile said “hi” 🙂 — twice.\n';
    const s = new TextStream(gpt2Tokenizer);
    expect(gpt2Tokenizer.encode(text).map((t) => s.push(t)).join('') + s.flush()).toBe(text);
  });

  it('flushes an incomplete character as U+FFFD', () => {
    const s = new TextStream(byteTokenizer);
    expect(s.push(0xe2)).toBe('');
    expect(s.flush()).toBe('\uFFFD');
  });

  it('picks the tokenizer by vocabulary size', () => {
    expect(tokenizerForVocab(256).name).toBe('byte');
    expect(tokenizerForVocab(50257).name).toBe('gpt2');
    expect(() => tokenizerForVocab(300)).toThrow(/no tokenizer/);
  });
});
