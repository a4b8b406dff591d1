/**
 * GPT-2's tokenizer files, derived from the r50k_base ranks that
 * gpt-tokenizer ships (the same data our gpt2Tokenizer encodes with), so the
 * exported tokenizer cannot drift from the one the model was trained with.
 *
 * tiktoken keeps only ranks (token bytes → id); Hugging Face's BPE wants
 * merge rules. The standard conversion: a multi-byte token of rank r is made
 * by the one merge that byte-level BPE, allowed only the merges of ranks
 * below r, ends on; merges in rank order then reproduce tiktoken exactly.
 */
import r50kRanks from 'gpt-tokenizer/bpeRanks/r50k_base';
import { gpt2Tokenizer } from '../data/tokenizers';
import { byteLevelString } from './byte-level';
import { byteLevelBpeFiles } from './hf-tokenizer-files';

/** The app tokenizer's end-of-text id, under the name GPT-2's files give it. */
export const GPT2_EOT = { id: gpt2Tokenizer.eotToken!, content: '<|endoftext|>' } as const;

interface Gpt2Bpe {
  vocab: string[];
  merges: [string, string][];
}

const encoder = new TextEncoder();

/** gpt-tokenizer stores a token as its text when that is valid UTF-8, else as its bytes. */
function tokenBytes(entry: string | number[]): Uint8Array {
  return typeof entry === 'string' ? encoder.encode(entry) : Uint8Array.from(entry);
}

/** One char per byte, so a token's bytes can key a Map. */
const latin1 = (bytes: Uint8Array) => String.fromCharCode(...bytes);

/**
 * The two parts BPE over `bytes` reaches using only merges below `rank`: at
 * each step the adjacent pair whose join has the lowest rank is merged.
 */
function lastMerge(bytes: Uint8Array, rank: number, ranks: Map<string, number>): [string, string] {
  const parts = Array.from(bytes, (b) => String.fromCharCode(b));
  for (;;) {
    let best = -1;
    let bestRank = rank;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = ranks.get(parts[i] + parts[i + 1]);
      if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
    }
    if (best < 0) break;
    parts.splice(best, 2, parts[best] + parts[best + 1]);
  }
  if (parts.length !== 2) throw new Error(`r50k_base: token of rank ${rank} does not come from one merge (BPE stops at ${parts.length} parts)`);
  return [parts[0], parts[1]];
}

const fromLatin1 = (s: string) => byteLevelString(Array.from(s, (c) => c.charCodeAt(0)));

function deriveGpt2Bpe(): Gpt2Bpe {
  const tokens = r50kRanks.map(tokenBytes);
  const ranks = new Map(tokens.map((t, rank) => [latin1(t), rank]));
  const merges: [string, string][] = [];
  tokens.forEach((t, rank) => {
    if (t.length < 2) return;
    const [a, b] = lastMerge(t, rank, ranks);
    merges.push([fromLatin1(a), fromLatin1(b)]);
  });
  return { vocab: tokens.map(byteLevelString), merges };
}

let cached: Gpt2Bpe | null = null;

/** Derived once per process (a few hundred ms); the vocabulary never changes. */
export function gpt2Bpe(): Gpt2Bpe {
  cached ??= deriveGpt2Bpe();
  return cached;
}

export function gpt2TokenizerFiles(modelMaxLength: number): Map<string, Uint8Array> {
  const { vocab, merges } = gpt2Bpe();
  if (vocab.length !== GPT2_EOT.id || gpt2Tokenizer.vocabSize !== GPT2_EOT.id + 1) {
    throw new Error(`r50k_base has ${vocab.length} ranks; GPT-2's <|endoftext|> must follow them at ${GPT2_EOT.id}, the last id`);
  }
  return byteLevelBpeFiles({
    vocab,
    merges,
    gpt2Split: true,
    eot: GPT2_EOT,
    tokenizerClass: 'GPT2Tokenizer',
    // As in GPT-2's own config: the slow tokenizer must not add a space before the text either.
    classArgs: { add_prefix_space: false },
    modelMaxLength,
  });
}
