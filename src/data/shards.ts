/**
 * Flat token shards: a shard is nothing but its tokens, each stored as a
 * little-endian uint16 or uint32, so token t of a shard sits at byte
 * t·width and any sequence can be fetched with one HTTP range request.
 *
 * Everything here is pure and runs in both Node and the browser. The whole-
 * stream functions (tokenizeDocuments, splitTrainVal) define the layout;
 * data prep writes the same bytes in bounded memory (stream-build.ts).
 */
import { bytesPerToken, type TokenDtype } from './manifest';
import type { Tokenizer } from './tokenizers';

/** Serializes token ids; DataView pins the byte order whatever the host's is. */
export function encodeShard(tokens: ArrayLike<number>, dtype: TokenDtype, vocabSize?: number): Uint8Array {
  const width = bytesPerToken(dtype);
  const limit = vocabSize ?? (dtype === 'uint16' ? 0x10000 : 0x1_0000_0000);
  const out = new Uint8Array(tokens.length * width);
  const view = new DataView(out.buffer);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!Number.isInteger(t) || t < 0 || t >= limit) {
      throw new RangeError(`token ${t} at position ${i} does not fit ${dtype} below ${limit}`);
    }
    if (width === 2) view.setUint16(i * 2, t, true);
    else view.setUint32(i * 4, t, true);
  }
  return out;
}

/** Parses shard bytes back into token ids. */
export function decodeShard(bytes: Uint8Array, dtype: TokenDtype): Uint32Array {
  const width = bytesPerToken(dtype);
  if (bytes.byteLength % width !== 0) {
    throw new RangeError(`${bytes.byteLength} bytes is not a whole number of ${dtype} tokens`);
  }
  const n = bytes.byteLength / width;
  const out = new Uint32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) {
    out[i] = width === 2 ? view.getUint16(i * 2, true) : view.getUint32(i * 4, true);
  }
  return out;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  // Copy into a fresh ArrayBuffer: subtle.digest rejects views of SharedArrayBuffer.
  const digest = await crypto.subtle.digest('SHA-256', new Uint8Array(bytes));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export interface SplitOptions {
  /** Sequences are seqLen+1 tokens; blocks are whole sequences so none straddles a cut. */
  seqLen: number;
  valFraction: number;
  /** Sequences per block; small blocks spread validation text over the whole corpus. */
  blockSequences: number;
}

/**
 * Whether block b belongs to validation. Spreading val blocks evenly (rather
 * than taking the tail) keeps val from being the end of the last book only.
 * Over any run of blocks the val share is within one block of valFraction.
 */
export function isValBlock(b: number, valFraction: number): boolean {
  return Math.floor((b + 1) * valFraction) > Math.floor(b * valFraction);
}

export function splitTrainVal(
  tokens: ArrayLike<number>,
  opts: SplitOptions,
): { train: Uint32Array; val: Uint32Array } {
  checkSplitOptions(opts);
  const all = tokens instanceof Uint32Array ? tokens : Uint32Array.from(tokens);
  const block = opts.blockSequences * (opts.seqLen + 1);
  const blocks = Math.ceil(all.length / block);
  let valCount = 0;
  for (let b = 0; b < blocks; b++) {
    if (isValBlock(b, opts.valFraction)) valCount += Math.min(block, all.length - b * block);
  }
  const train = new Uint32Array(all.length - valCount);
  const val = new Uint32Array(valCount);
  let t = 0;
  let v = 0;
  for (let b = 0; b < blocks; b++) {
    const piece = all.subarray(b * block, Math.min((b + 1) * block, all.length));
    if (isValBlock(b, opts.valFraction)) {
      val.set(piece, v);
      v += piece.length;
    } else {
      train.set(piece, t);
      t += piece.length;
    }
  }
  return { train, val };
}

export function checkSplitOptions(opts: SplitOptions): void {
  if (!Number.isInteger(opts.seqLen) || opts.seqLen < 1) {
    throw new RangeError(`seqLen must be a positive integer, got ${opts.seqLen}`);
  }
  if (!Number.isInteger(opts.blockSequences) || opts.blockSequences < 1) {
    throw new RangeError(`blockSequences must be a positive integer, got ${opts.blockSequences}`);
  }
  if (!(opts.valFraction >= 0 && opts.valFraction < 1)) {
    throw new RangeError(`valFraction must be in [0, 1), got ${opts.valFraction}`);
  }
}

export interface TextDocument {
  /** Recorded in the manifest so a reader can trace each input. */
  path: string;
  text: string;
}

/** Tokenizes documents in order, ending each with EOT when the tokenizer has one. */
export function tokenizeDocuments(docs: readonly TextDocument[], tokenizer: Tokenizer): Uint32Array {
  const parts = docs.map((d) => {
    const ids = tokenizer.encode(d.text);
    if (tokenizer.eotToken !== null) ids.push(tokenizer.eotToken);
    return ids;
  });
  const out = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Inverse of splitTrainVal: interleaves the shards back into the original token stream. */
export function joinTrainVal(
  train: ArrayLike<number>,
  val: ArrayLike<number>,
  opts: SplitOptions,
): Uint32Array {
  checkSplitOptions(opts);
  const block = opts.blockSequences * (opts.seqLen + 1);
  const out = new Uint32Array(train.length + val.length);
  let t = 0;
  let v = 0;
  for (let at = 0, b = 0; at < out.length; b++) {
    const fromVal = isValBlock(b, opts.valFraction);
    const src = fromVal ? val : train;
    let pos = fromVal ? v : t;
    const end = Math.min(at + block, out.length);
    while (at < end) {
      if (pos >= src.length) throw new RangeError('train/val lengths do not match this split');
      out[at++] = src[pos++];
    }
    if (fromVal) v = pos;
    else t = pos;
  }
  return out;
}
