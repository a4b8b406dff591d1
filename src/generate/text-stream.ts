/**
 * Generated tokens to text, a piece at a time. A token can end in the middle
 * of a character, and a decoder may render such a prefix differently from
 * the whole (GPT-2's does), so after each token the text of all tokens so
 * far is decoded and handed out only where it extends what was handed out
 * already and does not end in U+FFFD: such an end may still be completed.
 */
import { byteTokenizer, gpt2Tokenizer, type Tokenizer } from '../data/tokenizers';

/** The tokenizer a model of this vocabulary was trained with (a run checks that its dataset's vocabulary matches). */
export function tokenizerForVocab(vocab: number): Tokenizer {
  for (const t of [byteTokenizer, gpt2Tokenizer]) if (t.vocabSize === vocab) return t;
  throw new RangeError(`no tokenizer has a vocabulary of ${vocab} tokens (byte: 256, gpt2: ${gpt2Tokenizer.vocabSize})`);
}

export class TextStream {
  private readonly tokens: number[] = [];
  private emitted = '';

  constructor(private readonly tokenizer: Tokenizer) {}

  /** The new text after `token`; empty while it is not settled. */
  push(token: number): string {
    this.tokens.push(token);
    const text = this.tokenizer.decode(this.tokens);
    return text.endsWith('\uFFFD') ? '' : this.take(text);
  }

  /** Whatever is left, incomplete characters included (as U+FFFD). */
  flush(): string {
    return this.take(this.tokenizer.decode(this.tokens));
  }

  private take(text: string): string {
    if (!text.startsWith(this.emitted)) return '';
    const piece = text.slice(this.emitted.length);
    this.emitted = text;
    return piece;
  }
}
