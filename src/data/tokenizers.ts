/**
 * Tokenizers shared by the data-prep script and the browser (to show what a
 * model reads and writes). Both are deterministic and lossless on valid
 * UTF-8 text: decode(encode(s)) === s.
 */
import * as r50k from 'gpt-tokenizer/encoding/r50k_base';
import type { TokenizerName } from './manifest';

export interface Tokenizer {
  readonly name: TokenizerName;
  readonly vocabSize: number;
  /** Token appended after each document, or null when the vocabulary has none. */
  readonly eotToken: number | null;
  encode(text: string): number[];
  /**
   * The largest i at which a document may be cut, so that encoding text[0, i)
   * and later text[i, …) plus whatever follows gives exactly the ids of
   * encoding it all at once; 0 when there is none yet. It lets data prep
   * tokenize a document of any size a piece at a time (document-encoder.ts).
   */
  safeCut(text: string): number;
  /** Throws on ids outside the vocabulary; partial UTF-8 at the ends becomes U+FFFD. */
  decode(tokens: ArrayLike<number>): string;
}

function checkIds(tokens: ArrayLike<number>, vocabSize: number, who: string): void {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!Number.isInteger(t) || t < 0 || t >= vocabSize) {
      throw new RangeError(`${who}: token ${t} at position ${i} is outside the vocabulary [0, ${vocabSize})`);
    }
  }
}

const utf8Encoder = new TextEncoder();
// Not fatal: a model can emit any byte sequence, and showing U+FFFD beats throwing.
const utf8Decoder = new TextDecoder('utf-8');

/** One token per UTF-8 byte: vocabulary 256, no merges, so tiny test models stay cheap. */
export const byteTokenizer: Tokenizer = {
  name: 'byte',
  vocabSize: 256,
  eotToken: null,
  encode: (text) => Array.from(utf8Encoder.encode(text)),
  // Any cut between code points leaves the same bytes on either side; a trailing high surrogate waits for its pair.
  safeCut: (text) => (/[\uD800-\uDBFF]$/.test(text) ? text.length - 1 : text.length),
  decode(tokens) {
    checkIds(tokens, 256, 'byte tokenizer');
    return utf8Decoder.decode(Uint8Array.from(tokens));
  },
};

// GPT-2's <|endoftext|>; r50k_base is GPT-2's BPE (50,000 merges + 256 bytes + this token).
const GPT2_EOT = 50256;

const WHITESPACE = /\s/u;

/**
 * GPT-2's pre-tokenizer (r50k's split pattern) cuts text into pieces and BPE
 * never merges across them. No piece joins a non-space character to the
 * whitespace after it, and where a piece starts depends only on the text
 * from there on (its one lookahead, `\s+(?!\S)`, looks right), so a cut just
 * before whitespace that follows a non-space character is a piece boundary
 * whatever comes next. The last such place is the cut.
 */
function beforeLastWhitespaceRun(text: string): number {
  for (let i = text.length - 1; i > 0; i--) {
    if (WHITESPACE.test(text[i]) && !WHITESPACE.test(text[i - 1])) return i;
  }
  return 0;
}

/**
 * GPT-2's byte-level BPE (OpenAI's r50k_base, via the gpt-tokenizer package).
 * A literal "<|endoftext|>" in the text is encoded as ordinary characters:
 * corpus text must never be able to inject a control token.
 */
export const gpt2Tokenizer: Tokenizer = {
  name: 'gpt2',
  vocabSize: r50k.vocabularySize,
  eotToken: GPT2_EOT,
  encode: (text) => r50k.encode(text, { disallowedSpecial: new Set() }),
  safeCut: beforeLastWhitespaceRun,
  decode(tokens) {
    checkIds(tokens, r50k.vocabularySize, 'gpt2 tokenizer');
    return r50k.decode(Array.from(tokens));
  },
};

export function getTokenizer(name: TokenizerName): Tokenizer {
  switch (name) {
    case 'byte':
      return byteTokenizer;
    case 'gpt2':
      return gpt2Tokenizer;
  }
}
