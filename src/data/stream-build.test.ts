/**
 * The streaming build against the whole-corpus reference (tokenize every
 * document at once, splitTrainVal, encodeShard): byte-identical shards for
 * any chunking, and memory bounded by construction: the tokenizer never sees
 * more than a chunk plus the pending limit, and nothing is written in pieces
 * larger than that, however large the input.
 */
import { describe, expect, it } from 'vitest';
import { DocumentEncoder, PendingTextError } from './document-encoder';
import { encodeShard, sha256Hex, splitTrainVal, tokenizeDocuments, type TextDocument } from './shards';
import { buildDatasetStream, memorySink, type TextSource } from './stream-build';
import { TextDecodeError, utf8Text } from './text-stream';
import { byteTokenizer, gpt2Tokenizer, type Tokenizer } from './tokenizers';

const source = { description: 'generated', license: 'CC0' };
const split = { seqLen: 7, blockSequences: 3, valFraction: 0.2 };

/** Deterministic text with what GPT-2's pre-tokenizer cares about: contractions, numbers, runs of spaces and newlines, non-ASCII, emoji. */
function generatedText(seed: number, words: number): string {
  const vocab = ['the', "don't", 'Elinor', '1811', '  ', '\n', '\n\n', 'café', '—', '🎉', 'x', "'s", '.', ',', '\t', ' \n ', '“Yes,”', '<|endoftext|>'];
  let s = seed;
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out.push(vocab[s % vocab.length]);
    out.push(s % 7 === 0 ? '' : ' ');
  }
  return out.join('');
}

/** Splits text into chunks of pseudo-random sizes (1 to max code units) without splitting a surrogate pair. */
function chunked(text: string, max: number, seed: number): string[] {
  const chunks: string[] = [];
  let s = seed;
  for (let at = 0; at < text.length; ) {
    s = (s * 1103515245 + 12345) >>> 0;
    let end = Math.min(text.length, at + 1 + (s % max));
    if (/[\uD800-\uDBFF]/.test(text[end - 1] ?? '')) end++;
    chunks.push(text.slice(at, end));
    at = end;
  }
  return chunks;
}

async function reference(docs: TextDocument[], tokenizer: Tokenizer): Promise<{ train: Uint8Array; val: Uint8Array }> {
  const { train, val } = splitTrainVal(tokenizeDocuments(docs, tokenizer), split);
  return { train: encodeShard(train, 'uint16'), val: encodeShard(val, 'uint16') };
}

async function stream(sources: TextSource[] | AsyncIterable<TextSource>, tokenizer: Tokenizer, maxPendingChars?: number) {
  const files = new Map<string, Uint8Array>();
  let largestWrite = 0;
  const manifest = await buildDatasetStream(sources, tokenizer, { ...split, name: 'g', source, maxPendingChars }, async (file) => {
    const sink = memorySink((bytes) => files.set(file, bytes));
    return { write: async (b) => void ((largestWrite = Math.max(largestWrite, b.byteLength)), await sink.write(b)), close: sink.close };
  });
  return { manifest, train: files.get('g.train.bin')!, val: files.get('g.val.bin')!, largestWrite };
}

describe.each([byteTokenizer, gpt2Tokenizer])('buildDatasetStream ($name)', (tokenizer) => {
  const docs = [
    { path: 'a.txt', text: generatedText(1, 3000) },
    { path: 'b.txt', text: '' },
    { path: 'c.txt', text: generatedText(2, 2000) },
  ];

  it('writes the same shards, and the same manifest, as tokenizing every whole document', async () => {
    const expected = await reference(docs, tokenizer);
    for (const max of [1, 5, 64, 100_000]) {
      const got = await stream(docs.map((d, i) => ({ path: d.path, text: chunked(d.text, max, i + max) })), tokenizer);
      expect(got.train, `chunks up to ${max}`).toEqual(expected.train);
      expect(got.val, `chunks up to ${max}`).toEqual(expected.val);
      expect(got.manifest.splits.train.sha256).toBe(await sha256Hex(expected.train));
      expect(got.manifest.totalTokens).toBe((expected.train.byteLength + expected.val.byteLength) / 2);
      expect(got.manifest.inputs[1]).toEqual({ path: 'b.txt', bytes: 0, sha256: await sha256Hex(new Uint8Array(0)) });
      expect(got.manifest.inputs[2]).toEqual({ path: 'c.txt', bytes: new TextEncoder().encode(docs[2].text).byteLength, sha256: await sha256Hex(new TextEncoder().encode(docs[2].text)) });
    }
  });
});

describe('bounded memory', () => {
  /** A tokenizer that records the longest text it is asked to encode. */
  function watched(inner: Tokenizer) {
    const seen = { longest: 0 };
    const tokenizer: Tokenizer = { ...inner, encode: (text) => ((seen.longest = Math.max(seen.longest, text.length)), inner.encode(text)) };
    return { tokenizer, seen };
  }

  it('never holds more than a chunk and the pending limit, for an input 500 times the limit, made as it is read', async () => {
    const limit = 4096;
    const chunk = 1000;
    let produced = 0;
    async function* lazyText(): AsyncGenerator<string> {
      for (let i = 0; i < 3000; i++) {
        const piece = generatedText(i, 400).slice(0, chunk);
        produced += piece.length;
        yield piece;
      }
    }
    const { tokenizer, seen } = watched(gpt2Tokenizer);
    const got = await stream([{ path: 'big.txt', text: lazyText() }], tokenizer, limit);
    expect(produced).toBeGreaterThan(500 * limit);
    expect(got.manifest.inputs[0].bytes).toBeGreaterThanOrEqual(produced);
    expect(seen.longest).toBeLessThanOrEqual(limit + chunk);
    // A write is at most one push's ids (≤ one id per character) as uint16.
    expect(got.largestWrite).toBeLessThanOrEqual(2 * (limit + chunk));
    expect(got.manifest.totalTokens).toBeGreaterThan(produced / 8);
  });

  it('refuses, naming the document and the limit, a run of text with no place to cut that outgrows the limit', async () => {
    const unbroken = Array.from({ length: 10 }, () => 'x'.repeat(1000));
    await expect(stream([{ path: 'noise.txt', text: unbroken }], gpt2Tokenizer, 4096)).rejects.toThrow(
      /noise\.txt: 5000 characters in a row with no place the gpt2 tokenizer can cut \(whitespace after a word\), over the limit of 4096/,
    );
    expect(() => new DocumentEncoder(byteTokenizer, 'x', 0)).toThrow(/maxPendingChars/);
    await expect(stream([{ path: 'noise.txt', text: unbroken }], byteTokenizer, 4096)).resolves.toBeDefined();
  });

  it('keeps a surrogate pair split across pushes whole', () => {
    const enc = new DocumentEncoder(byteTokenizer, 'e.txt', 10);
    const ids = [...enc.push('a\uD83C'), ...enc.push('\uDF89b'), ...enc.end()];
    expect(ids).toEqual(byteTokenizer.encode('a🎉b'));
    expect(() => new DocumentEncoder(gpt2Tokenizer, 'e.txt', 3).push('abcdef')).toThrow(PendingTextError);
  });
});

describe('utf8Text', () => {
  it('decodes UTF-8 split anywhere across chunks, dropping a leading BOM as a whole-file decode does', async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('naïve 🎉 café')]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const parts: string[] = [];
      for await (const t of utf8Text([bytes.subarray(0, cut), bytes.subarray(cut)], 'x.txt')) parts.push(t);
      expect(parts.join(''), `cut at ${cut}`).toBe(new TextDecoder().decode(bytes));
    }
  });

  it('refuses invalid UTF-8 and a truncated character, naming the file', async () => {
    const drain = async (chunks: Uint8Array[]) => {
      for await (const _ of utf8Text(chunks, 'bad.txt')) void _;
    };
    await expect(drain([new Uint8Array([0x61]), new Uint8Array([0xff])])).rejects.toThrow(/bad\.txt is not valid UTF-8 \(in bytes 1–1\)/);
    await expect(drain([new Uint8Array([0x61, 0xe2, 0x82])])).rejects.toThrow(TextDecodeError);
    await expect(drain([new Uint8Array([0x61, 0xe2, 0x82])])).rejects.toThrow(/at its end/);
  });
});
