/**
 * One document tokenized as its text arrives: each push encodes the text up
 * to the tokenizer's last safe cut and keeps the rest for the next push, so
 * the ids are exactly those of encoding the whole document at once while the
 * text held stays below a limit, whatever the document's size.
 */
import type { Tokenizer } from './tokenizers';

export class PendingTextError extends Error {
  override name = 'PendingTextError';
}

export class DocumentEncoder {
  private pending = '';

  constructor(
    private readonly tokenizer: Tokenizer,
    /** Names the document in errors. */
    private readonly where: string,
    private readonly maxPendingChars: number,
  ) {
    if (!Number.isInteger(maxPendingChars) || maxPendingChars < 1) throw new RangeError(`maxPendingChars must be a positive integer, got ${maxPendingChars}`);
  }

  /** Ids of everything up to the last safe cut of the text so far. */
  push(text: string): number[] {
    const all = this.pending + text;
    const cut = this.tokenizer.safeCut(all);
    this.pending = all.slice(cut);
    if (this.pending.length > this.maxPendingChars) {
      throw new PendingTextError(
        `${this.where}: ${this.pending.length} characters in a row with no place the ${this.tokenizer.name} tokenizer can cut ` +
          `(whitespace after a word), over the limit of ${this.maxPendingChars}; is this text?`,
      );
    }
    return cut === 0 ? [] : this.tokenizer.encode(all.slice(0, cut));
  }

  /** The ids of the rest, and the end-of-text token when the tokenizer has one. */
  end(): number[] {
    const ids = this.tokenizer.encode(this.pending);
    this.pending = '';
    if (this.tokenizer.eotToken !== null) ids.push(this.tokenizer.eotToken);
    return ids;
  }
}
