/**
 * Browser-side reader of flat token shards (see shards.ts).
 *
 * Sequence index i of a split covers tokens [i·(S+1), (i+1)·(S+1)) for
 * seq_len S: S+1 tokens give S inputs and S next-token targets. A split of T
 * tokens holds ⌊T/(S+1)⌋ sequences; the trailing T mod (S+1) tokens belong to
 * no sequence. Indices past the end wrap around (index i reads sequence
 * i mod n), because the coordinator hands out ever-growing indices across
 * epochs.
 *
 * Bytes are fetched with HTTP range requests in fixed, aligned chunks so that
 * cache keys are stable, and each chunk is cached (IndexedDB in the browser).
 * A server that ignores Range and answers 200 with the whole shard still
 * works: the body is checked against the manifest's sha256 and cached whole.
 * fetch and the cache are injectable so all of this runs under Node.
 */
import { openDB, type DBSchema } from 'idb';
import { bytesPerToken, parseManifest, type DataManifest, type ShardInfo, type SplitName } from './manifest';
import { decodeShard, sha256Hex } from './shards';

export type FetchFn = (url: string, init?: RequestInit) => Promise<Response>;

export interface ChunkCache {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, bytes: Uint8Array): Promise<void>;
}

export class DataLoadError extends Error {
  override name = 'DataLoadError';
}

export const DEFAULT_CHUNK_BYTES = 256 * 1024;

// ---------------------------------------------------------------- range math

/** Number of whole sequences of seqLen+1 tokens in a split of `tokens` tokens. */
export function numSequences(tokens: number, seqLen: number): number {
  checkSeqLen(seqLen);
  return Math.floor(tokens / (seqLen + 1));
}

/** Token range [start, end) of sequence index i, before any wrap-around. */
export function sequenceTokenRange(i: number, seqLen: number): { start: number; end: number } {
  checkSeqLen(seqLen);
  checkIndex(i, 'sequence index');
  return { start: i * (seqLen + 1), end: (i + 1) * (seqLen + 1) };
}

/** Chunk indices [first, last] touched by the byte range [start, end), end > start. */
export function chunkSpan(start: number, end: number, chunkBytes: number): { first: number; last: number } {
  return { first: Math.floor(start / chunkBytes), last: Math.floor((end - 1) / chunkBytes) };
}

/**
 * Splits `count` consecutive sequence indices from `start` into runs that are
 * contiguous in the shard (a run ends where the index wraps to 0).
 */
export function wrappedRuns(start: number, count: number, n: number): { first: number; count: number }[] {
  const runs: { first: number; count: number }[] = [];
  let index = start % n;
  let left = count;
  while (left > 0) {
    const take = Math.min(left, n - index);
    runs.push({ first: index, count: take });
    left -= take;
    index = 0;
  }
  return runs;
}

function checkSeqLen(seqLen: number): void {
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new RangeError(`seqLen must be a positive integer, got ${seqLen}`);
}

function checkIndex(i: number, what: string): void {
  if (!Number.isSafeInteger(i) || i < 0) throw new RangeError(`${what} must be a non-negative integer, got ${i}`);
}

// -------------------------------------------------------------------- caches

/** A cache that lives as long as the page; the default, and the one tests use. */
export function createMemoryCache(): ChunkCache & { readonly size: number } {
  const map = new Map<string, Uint8Array>();
  return {
    get: async (key) => map.get(key),
    put: async (key, bytes) => void map.set(key, bytes),
    get size() {
      return map.size;
    },
  };
}

interface ChunkDb extends DBSchema {
  chunks: { key: string; value: Uint8Array };
}

/** Chunks survive reloads, so a returning volunteer does not download the corpus again. */
export async function openIdbCache(dbName = 'tessera-data'): Promise<ChunkCache> {
  const db = await openDB<ChunkDb>(dbName, 1, {
    upgrade(database) {
      database.createObjectStore('chunks');
    },
  });
  return {
    get: async (key) => {
      const value: unknown = await db.get('chunks', key);
      return value instanceof Uint8Array ? value : undefined;
    },
    put: async (key, bytes) => {
      await db.put('chunks', bytes, key);
    },
  };
}

// ------------------------------------------------------------------ fetching

export function joinUrl(base: string, file: string): string {
  return `${base.replace(/\/+$/, '')}/${file}`;
}

function defaultFetch(): FetchFn {
  if (typeof globalThis.fetch !== 'function') throw new DataLoadError('no fetch available; pass one in');
  // Bound: browsers throw "Illegal invocation" when fetch is called off its global.
  return globalThis.fetch.bind(globalThis);
}

export async function fetchManifest(baseUrl: string, fetchFn: FetchFn = defaultFetch()): Promise<DataManifest> {
  const url = joinUrl(baseUrl, 'manifest.json');
  const res = await fetchFn(url);
  if (res.status !== 200) throw new DataLoadError(`GET ${url}: expected HTTP 200, got ${res.status}`);
  let json: unknown;
  try {
    json = JSON.parse(await res.text());
  } catch (e) {
    throw new DataLoadError(`GET ${url}: body is not JSON (${(e as Error).message})`);
  }
  return parseManifest(json, url);
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

/** A 206 must carry exactly the bytes asked for; anything else would shift every token. */
function check206(res: Response, body: Uint8Array, url: string, start: number, end: number, total: number): void {
  const header = res.headers.get('content-range');
  if (header !== null) {
    const m = CONTENT_RANGE.exec(header.trim());
    const ok = m !== null && +m[1] === start && +m[2] === end - 1 && (m[3] === '*' || +m[3] === total);
    if (!ok) throw new DataLoadError(`GET ${url}: asked for bytes ${start}-${end - 1}/${total}, got Content-Range "${header}"`);
  }
  if (body.byteLength !== end - start) {
    throw new DataLoadError(`GET ${url}: range ${start}-${end - 1} should be ${end - start} bytes, got ${body.byteLength}`);
  }
}

// -------------------------------------------------------------------- loader

export interface ShardLoaderOptions {
  /** Directory URL holding manifest.json and the shards, e.g. "/data/austen-byte". */
  baseUrl: string;
  split?: SplitName;
  fetch?: FetchFn;
  cache?: ChunkCache;
  /** Must be a multiple of the token width; fixed per cache, since keys name chunk indices. */
  chunkBytes?: number;
  /** Skip fetching the manifest when the caller already has it. */
  manifest?: DataManifest;
}

export interface Batch {
  /** [batch·seqLen], row-major: row r is sequence start+r without its last token. */
  inputIds: Int32Array;
  /** [batch·seqLen]: inputIds shifted left by one (the next token). */
  targets: Int32Array;
  batch: number;
  seqLen: number;
}

export class ShardLoader {
  readonly shard: ShardInfo;
  readonly tokens: number;
  private readonly width: number;
  private readonly url: string;

  constructor(
    readonly manifest: DataManifest,
    readonly split: SplitName,
    baseUrl: string,
    private readonly fetchFn: FetchFn,
    private readonly cache: ChunkCache,
    private readonly chunkBytes: number,
  ) {
    this.shard = manifest.splits[split];
    this.tokens = this.shard.tokens;
    this.width = bytesPerToken(manifest.dtype);
    this.url = joinUrl(baseUrl, this.shard.file);
    if (!Number.isInteger(chunkBytes) || chunkBytes < this.width || chunkBytes % this.width !== 0) {
      throw new RangeError(`chunkBytes must be a positive multiple of ${this.width}, got ${chunkBytes}`);
    }
  }

  numSequences(seqLen: number): number {
    return numSequences(this.tokens, seqLen);
  }

  /** Tokens [start, end) of the split, fetched or from cache. */
  async readTokens(start: number, end: number): Promise<Uint32Array> {
    checkIndex(start, 'start');
    if (!Number.isSafeInteger(end) || end < start || end > this.tokens) {
      throw new RangeError(`token range [${start}, ${end}) is outside [0, ${this.tokens})`);
    }
    if (end === start) return new Uint32Array(0);
    const bytes = await this.readBytes(start * this.width, end * this.width);
    return decodeShard(bytes, this.manifest.dtype);
  }

  /** The seqLen+1 tokens of sequence i (mod the number of sequences). */
  async readSequence(i: number, seqLen: number): Promise<Uint32Array> {
    const n = this.requireSequences(seqLen);
    const { start, end } = sequenceTokenRange(i % n, seqLen);
    return this.readTokens(start, end);
  }

  /** Sequences start..start+count-1 as model inputs and next-token targets. */
  async batchForRange(start: number, count: number, seqLen: number): Promise<Batch> {
    checkIndex(start, 'start');
    checkIndex(count, 'count');
    const n = this.requireSequences(seqLen);
    const inputIds = new Int32Array(count * seqLen);
    const targets = new Int32Array(count * seqLen);
    let row = 0;
    for (const run of wrappedRuns(start, count, n)) {
      const first = sequenceTokenRange(run.first, seqLen).start;
      const tokens = await this.readTokens(first, first + run.count * (seqLen + 1));
      for (let r = 0; r < run.count; r++, row++) {
        const seq = tokens.subarray(r * (seqLen + 1), (r + 1) * (seqLen + 1));
        this.checkVocab(seq);
        inputIds.set(seq.subarray(0, seqLen), row * seqLen);
        targets.set(seq.subarray(1), row * seqLen);
      }
    }
    return { inputIds, targets, batch: count, seqLen };
  }

  private requireSequences(seqLen: number): number {
    const n = this.numSequences(seqLen);
    if (n === 0) {
      throw new RangeError(`${this.split} split has ${this.tokens} tokens, fewer than one sequence of ${seqLen + 1}`);
    }
    return n;
  }

  // A corrupt shard must not become out-of-range embedding lookups on the GPU.
  private checkVocab(tokens: Uint32Array): void {
    for (const t of tokens) {
      if (t >= this.manifest.vocabSize) {
        throw new DataLoadError(`${this.url}: token ${t} is outside vocab ${this.manifest.vocabSize}`);
      }
    }
  }

  private chunkKey(index: number): string {
    // The content hash in the key means a regenerated shard never reuses stale chunks.
    return `${this.shard.sha256}:${this.chunkBytes}:${index}`;
  }

  private chunkLength(index: number): number {
    return Math.min(this.chunkBytes, this.shard.bytes - index * this.chunkBytes);
  }

  private async readBytes(start: number, end: number): Promise<Uint8Array> {
    const { first, last } = chunkSpan(start, end, this.chunkBytes);
    const chunks = await this.loadChunks(first, last);
    const out = new Uint8Array(end - start);
    for (let c = first; c <= last; c++) {
      const chunkStart = c * this.chunkBytes;
      const from = Math.max(start, chunkStart) - chunkStart;
      const to = Math.min(end, chunkStart + this.chunkBytes) - chunkStart;
      out.set(chunks[c - first].subarray(from, to), chunkStart + from - start);
    }
    return out;
  }

  /** Cached chunks first; the missing ones come in one range request. */
  private async loadChunks(first: number, last: number): Promise<Uint8Array[]> {
    const chunks: (Uint8Array | undefined)[] = [];
    for (let c = first; c <= last; c++) {
      const hit = await this.cache.get(this.chunkKey(c));
      chunks.push(hit !== undefined && hit.byteLength === this.chunkLength(c) ? hit : undefined);
    }
    const missing = chunks.flatMap((chunk, k) => (chunk === undefined ? [first + k] : []));
    if (missing.length > 0) {
      const fetched = await this.fetchChunks(missing[0], missing[missing.length - 1]);
      for (const [c, bytes] of fetched) {
        if (c >= first && c <= last) chunks[c - first] = bytes;
      }
    }
    return chunks.map((chunk, k) => {
      if (chunk === undefined) throw new DataLoadError(`${this.url}: chunk ${first + k} was not loaded`);
      return chunk;
    });
  }

  private async fetchChunks(first: number, last: number): Promise<Map<number, Uint8Array>> {
    const start = first * this.chunkBytes;
    const end = start + (last - first) * this.chunkBytes + this.chunkLength(last);
    const res = await this.fetchFn(this.url, { headers: { Range: `bytes=${start}-${end - 1}` } });
    const body = new Uint8Array(await res.arrayBuffer());
    if (res.status === 206) {
      check206(res, body, this.url, start, end, this.shard.bytes);
      return this.storeChunks(body, first, last);
    }
    if (res.status === 200) {
      await this.checkWholeShard(body);
      return this.storeChunks(body, 0, Math.ceil(this.shard.bytes / this.chunkBytes) - 1);
    }
    throw new DataLoadError(`GET ${this.url} bytes=${start}-${end - 1}: expected HTTP 206 or 200, got ${res.status}`);
  }

  /** A server that ignored Range sent everything: verify it is the shard the manifest names. */
  private async checkWholeShard(body: Uint8Array): Promise<void> {
    if (body.byteLength !== this.shard.bytes) {
      throw new DataLoadError(`GET ${this.url}: HTTP 200 body is ${body.byteLength} bytes, manifest says ${this.shard.bytes}`);
    }
    const digest = await sha256Hex(body);
    if (digest !== this.shard.sha256) {
      throw new DataLoadError(`GET ${this.url}: sha256 ${digest} does not match manifest ${this.shard.sha256}`);
    }
  }

  /** Caches chunks first..last of a body that starts at chunk `first`. */
  private async storeChunks(body: Uint8Array, first: number, last: number): Promise<Map<number, Uint8Array>> {
    const out = new Map<number, Uint8Array>();
    for (let c = first; c <= last; c++) {
      const from = (c - first) * this.chunkBytes;
      // slice, not subarray: a cached chunk must not pin the whole response body.
      const bytes = body.slice(from, from + this.chunkLength(c));
      await this.cache.put(this.chunkKey(c), bytes);
      out.set(c, bytes);
    }
    return out;
  }
}

/** Fetches (or takes) the manifest and returns a reader for one split. */
export async function openShardLoader(opts: ShardLoaderOptions): Promise<ShardLoader> {
  const fetchFn = opts.fetch ?? defaultFetch();
  const manifest = opts.manifest ? parseManifest(opts.manifest) : await fetchManifest(opts.baseUrl, fetchFn);
  return new ShardLoader(
    manifest,
    opts.split ?? 'train',
    opts.baseUrl,
    fetchFn,
    opts.cache ?? createMemoryCache(),
    opts.chunkBytes ?? DEFAULT_CHUNK_BYTES,
  );
}
