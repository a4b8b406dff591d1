/**
 * Text documents → train/val shards and their manifest in bounded memory:
 * each document's text arrives in chunks, is tokenized a piece at a time
 * (DocumentEncoder) and its ids go straight to the shard of their block
 * (BlockRouter, ShardStream). What is held at any moment is one chunk, the
 * text since the last safe cut (at most maxPendingChars) and one write, so
 * a corpus of any size fits; the output is byte for byte that of tokenizing
 * each whole document and splitting the whole stream (splitTrainVal).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { DocumentEncoder } from './document-encoder';
import { MANIFEST_VERSION, dtypeForVocab, parseManifest, type DataManifest, type InputInfo, type SourceInfo } from './manifest';
import { BlockRouter, ShardStream, type ByteSink } from './shard-stream';
import { checkSplitOptions, type SplitOptions, type TextDocument } from './shards';
import type { Tokenizer } from './tokenizers';

export interface BuildOptions extends SplitOptions {
  name: string;
  source: SourceInfo;
}

export interface StreamBuildOptions extends BuildOptions {
  /** Text a document may hold back waiting for a safe cut; a longer unbroken run is an error, not a memory blow-up. */
  maxPendingChars?: number;
}

/** Enough for any prose (a cut is after every word); a run this long without whitespace is not text. */
export const DEFAULT_MAX_PENDING_CHARS = 1 << 20;

export interface TextSource {
  /** Recorded in the manifest so a reader can trace each input. */
  path: string;
  /** The document's text in order, in chunks of any size that split no surrogate pair (utf8Text's never do). */
  text: AsyncIterable<string> | Iterable<string>;
}

export class DataBuildError extends Error {
  override name = 'DataBuildError';
}

const utf8 = new TextEncoder();

/** Streams every source through the tokenizer into the sinks `openSink` gives for the two shard files; returns the manifest. */
export async function buildDatasetStream(
  sources: AsyncIterable<TextSource> | Iterable<TextSource>,
  tokenizer: Tokenizer,
  opts: StreamBuildOptions,
  openSink: (file: string) => Promise<ByteSink>,
): Promise<DataManifest> {
  checkSplitOptions(opts);
  const dtype = dtypeForVocab(tokenizer.vocabSize);
  const train = new ShardStream(`${opts.name}.train.bin`, await openSink(`${opts.name}.train.bin`), dtype, tokenizer.vocabSize);
  const val = new ShardStream(`${opts.name}.val.bin`, await openSink(`${opts.name}.val.bin`), dtype, tokenizer.vocabSize);
  const router = new BlockRouter(opts, train, val);
  const inputs: InputInfo[] = [];
  for await (const source of sources) {
    inputs.push(await streamDocument(source, tokenizer, router, opts.maxPendingChars ?? DEFAULT_MAX_PENDING_CHARS));
  }
  const splits = { train: await train.finish(), val: await val.finish() };
  if (inputs.length === 0) throw new DataBuildError('no input documents');
  return parseManifest({
    version: MANIFEST_VERSION,
    name: opts.name,
    tokenizer: tokenizer.name,
    vocabSize: tokenizer.vocabSize,
    dtype,
    endianness: 'little',
    eotToken: tokenizer.eotToken,
    splitSeqLen: opts.seqLen,
    splitBlockSequences: opts.blockSequences,
    valFraction: opts.valFraction,
    totalTokens: router.totalTokens,
    splits,
    source: opts.source,
    inputs,
  });
}

/** One document into the router; its size and hash are of its UTF-8 text, as the manifest records them. */
async function streamDocument(source: TextSource, tokenizer: Tokenizer, router: BlockRouter, maxPendingChars: number): Promise<InputInfo> {
  const encoder = new DocumentEncoder(tokenizer, source.path, maxPendingChars);
  const hash = sha256.create();
  let bytes = 0;
  for await (const text of source.text) {
    const encoded = utf8.encode(text);
    hash.update(encoded);
    bytes += encoded.byteLength;
    await router.push(encoder.push(text));
  }
  await router.push(encoder.end());
  return { path: source.path, bytes, sha256: bytesToHex(hash.digest()) };
}

export interface BuiltDataset {
  manifest: DataManifest;
  /** Keyed by the file names the manifest lists. */
  files: Map<string, Uint8Array>;
}

/** A sink that keeps what it is given; for datasets small enough to hold (tests, the loader's fixtures). */
export function memorySink(onClose: (bytes: Uint8Array) => void): ByteSink {
  const parts: Uint8Array[] = [];
  return {
    write: async (bytes) => void parts.push(bytes),
    close: async () => {
      const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.byteLength;
      }
      onClose(out);
    },
  };
}

/**
 * Documents already in memory → shard bytes plus a validated manifest. The
 * manifest holds no timestamps, so rebuilding from the same text gives
 * byte-identical output.
 */
export async function buildDataset(docs: readonly TextDocument[], tokenizer: Tokenizer, opts: BuildOptions): Promise<BuiltDataset> {
  const files = new Map<string, Uint8Array>();
  const sources = docs.map((d) => ({ path: d.path, text: [d.text] }));
  // One chunk is the whole document, so the pending-text limit must not be lower than the longest.
  const longest = docs.reduce((n, d) => Math.max(n, d.text.length), 1);
  const manifest = await buildDatasetStream(sources, tokenizer, { ...opts, maxPendingChars: Math.max(longest, DEFAULT_MAX_PENDING_CHARS) }, async (file) =>
    memorySink((bytes) => files.set(file, bytes)),
  );
  return { manifest, files };
}
