import { describe, expect, it } from 'vitest';
import {
  DataLoadError,
  chunkSpan,
  createMemoryCache,
  fetchManifest,
  numSequences,
  openShardLoader,
  sequenceTokenRange,
  wrappedRuns,
  type ShardLoaderOptions,
} from './loader';
import { ManifestError, type DataManifest } from './manifest';
import { encodeShard, sha256Hex } from './shards';
import { buildDataset } from './stream-build';
import { fakeServer, jsonBytes, type FakeServerOptions } from './test-helpers';
import type { Tokenizer } from './tokenizers';

const BASE = 'http://test/data/seq';

/** A tokenizer whose token at position p is p, so every read is checkable by arithmetic. */
function positionsTokenizer(n: number, vocabSize = 50257): Tokenizer {
  return {
    name: 'gpt2',
    vocabSize,
    eotToken: null,
    encode: () => Array.from({ length: n }, (_, i) => i),
    decode: () => '',
    safeCut: () => 0,
  };
}

async function dataset(tokens: number, vocabSize?: number): Promise<{ manifest: DataManifest; files: Map<string, Uint8Array> }> {
  const { manifest, files } = await buildDataset([{ path: 'x.txt', text: '' }], positionsTokenizer(tokens, vocabSize), {
    name: 'seq',
    source: { description: 'positions', license: 'CC0' },
    seqLen: 7,
    blockSequences: 4,
    valFraction: 0,
  });
  const served = new Map([[`${BASE}/manifest.json`, jsonBytes(manifest)]]);
  for (const [name, bytes] of files) served.set(`${BASE}/${name}`, bytes);
  return { manifest, files: served };
}

async function setup(tokens: number, server: FakeServerOptions = {}) {
  const { manifest, files } = await dataset(tokens);
  const srv = fakeServer(files, server);
  const cache = createMemoryCache();
  const open = (extra: Partial<ShardLoaderOptions> = {}) =>
    openShardLoader({ baseUrl: BASE, fetch: srv.fetch, cache, chunkBytes: 64, ...extra });
  return { manifest, srv, cache, open, shardUrl: `${BASE}/seq.train.bin` };
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

describe('range math', () => {
  it('sequence i is tokens [i(S+1), (i+1)(S+1))', () => {
    expect(sequenceTokenRange(0, 7)).toEqual({ start: 0, end: 8 });
    expect(sequenceTokenRange(3, 9)).toEqual({ start: 30, end: 40 });
    expect(() => sequenceTokenRange(-1, 7)).toThrow(RangeError);
    expect(() => sequenceTokenRange(0, 0)).toThrow(/seqLen/);
  });

  it('counts whole sequences only; a trailing partial one does not count', () => {
    expect(numSequences(100, 9)).toBe(10);
    expect(numSequences(99, 9)).toBe(9);
    expect(numSequences(9, 9)).toBe(0);
  });

  it('finds the chunks a byte range touches', () => {
    expect(chunkSpan(0, 64, 64)).toEqual({ first: 0, last: 0 });
    expect(chunkSpan(63, 65, 64)).toEqual({ first: 0, last: 1 });
    expect(chunkSpan(128, 129, 64)).toEqual({ first: 2, last: 2 });
  });

  it('splits an index range where it wraps past the last sequence', () => {
    expect(wrappedRuns(3, 2, 10)).toEqual([{ first: 3, count: 2 }]);
    expect(wrappedRuns(8, 5, 10)).toEqual([
      { first: 8, count: 2 },
      { first: 0, count: 3 },
    ]);
    expect(wrappedRuns(23, 1, 10)).toEqual([{ first: 3, count: 1 }]);
    expect(wrappedRuns(0, 25, 10).map((r) => r.count)).toEqual([10, 10, 5]);
  });
});

describe('ShardLoader reads', () => {
  // 1003 tokens at S=7: 125 whole sequences (tokens 0..999) and a 3-token tail.
  it('reads the first, a middle and the last whole sequence', async () => {
    const { open } = await setup(1003);
    const loader = await open();
    expect(loader.numSequences(7)).toBe(125);
    expect(Array.from(await loader.readSequence(0, 7))).toEqual(range(0, 8));
    expect(Array.from(await loader.readSequence(61, 7))).toEqual(range(488, 496));
    expect(Array.from(await loader.readSequence(124, 7))).toEqual(range(992, 1000));
  });

  it('never serves the trailing partial sequence: index n wraps to 0', async () => {
    const { open } = await setup(1003);
    const loader = await open();
    expect(Array.from(await loader.readSequence(125, 7))).toEqual(range(0, 8));
    const { inputIds, targets } = await loader.batchForRange(0, 250, 7);
    expect(Math.max(...inputIds, ...targets)).toBe(999);
  });

  it('builds inputs and next-token targets for a batch that wraps', async () => {
    const { open } = await setup(1003);
    const loader = await open();
    const b = await loader.batchForRange(123, 3, 7);
    expect(b.batch).toBe(3);
    expect(b.seqLen).toBe(7);
    expect(Array.from(b.inputIds)).toEqual([...range(984, 991), ...range(992, 999), ...range(0, 7)]);
    expect(Array.from(b.targets)).toEqual([...range(985, 992), ...range(993, 1000), ...range(1, 8)]);
  });

  it('agrees with the whole shard for every sequence across chunk edges', async () => {
    const { open } = await setup(1003);
    const loader = await open({ chunkBytes: 6 }); // 3 tokens: sequences of 8 straddle chunks
    for (let i = 0; i < 125; i++) {
      expect(Array.from(await loader.readSequence(i, 7))).toEqual(range(i * 8, i * 8 + 8));
    }
  });

  it('reads uint32 shards', async () => {
    const { manifest, files } = await dataset(70_000, 70_001);
    expect(manifest.dtype).toBe('uint32');
    const loader = await openShardLoader({ baseUrl: BASE, fetch: fakeServer(files).fetch, chunkBytes: 4096 });
    expect(Array.from(await loader.readSequence(8749, 7))).toEqual(range(69_992, 70_000));
  });

  it('rejects a seqLen longer than the split and bad indices', async () => {
    const { open } = await setup(10);
    const loader = await open();
    await expect(loader.batchForRange(0, 1, 10)).rejects.toThrow(/fewer than one sequence of 11/);
    await expect(loader.batchForRange(-1, 1, 3)).rejects.toThrow(RangeError);
    await expect(loader.readTokens(5, 11)).rejects.toThrow(/outside \[0, 10\)/);
  });
});

describe('HTTP ranges', () => {
  it('fetches only the bytes it needs with a Range header', async () => {
    const { open, srv, shardUrl } = await setup(1003);
    const loader = await open();
    await loader.readSequence(61, 7); // tokens 488..495 = bytes 976..991, inside chunk 15 (960..1023)
    const shardRequests = srv.requests.filter((r) => r.url === shardUrl);
    expect(shardRequests).toEqual([{ url: shardUrl, range: 'bytes=960-1023', status: 206, bytesSent: 64 }]);
  });

  it('fetches the short last chunk with an in-bounds range', async () => {
    const { open, srv, shardUrl } = await setup(1003);
    const loader = await open();
    expect(Array.from(await loader.readTokens(1000, 1003))).toEqual([1000, 1001, 1002]);
    // 2006 bytes: the last chunk is bytes 1984..2005.
    expect(srv.requests.filter((r) => r.url === shardUrl).map((r) => r.range)).toEqual(['bytes=1984-2005']);
  });

  it('falls back to a full 200 body when the server ignores Range, then needs no more requests', async () => {
    const { open, srv, shardUrl } = await setup(1003, { ignoreRange: true });
    const loader = await open();
    expect(Array.from(await loader.readSequence(61, 7))).toEqual(range(488, 496));
    expect(srv.requests.filter((r) => r.url === shardUrl).map((r) => r.status)).toEqual([200]);
    const b = await loader.batchForRange(0, 125, 7);
    expect(b.targets[b.targets.length - 1]).toBe(999);
    expect(srv.requests.filter((r) => r.url === shardUrl)).toHaveLength(1);
  });

  it('rejects a full body whose hash differs from the manifest', async () => {
    const { open } = await setup(1003, {
      ignoreRange: true,
      tamper: (url, status, body) => {
        if (!url.endsWith('.bin')) return undefined;
        const bad = body.slice();
        bad[10] ^= 1;
        return new Response(bad, { status });
      },
    });
    const loader = await open();
    await expect(loader.readSequence(0, 7)).rejects.toThrow(/sha256 [0-9a-f]{64} does not match manifest/);
  });

  it('rejects a full body of the wrong length', async () => {
    const { open } = await setup(1003, {
      ignoreRange: true,
      tamper: (url, status, body) => (url.endsWith('.bin') ? new Response(body.slice(0, 100), { status }) : undefined),
    });
    await expect((await open()).readSequence(0, 7)).rejects.toThrow(/HTTP 200 body is 100 bytes, manifest says 2006/);
  });

  it('rejects a 206 for a different range or of the wrong length', async () => {
    const wrongRange = await setup(1003, {
      tamper: (url, status, body, headers) => {
        if (status !== 206) return undefined;
        headers.set('content-range', 'bytes 0-63/2006');
        return new Response(body.slice(), { status, headers });
      },
    });
    await expect((await wrongRange.open()).readSequence(61, 7)).rejects.toThrow(
      /asked for bytes 960-1023\/2006, got Content-Range "bytes 0-63\/2006"/,
    );
    const short = await setup(1003, {
      tamper: (_url, status, body) => (status === 206 ? new Response(body.slice(1), { status }) : undefined),
    });
    await expect((await short.open()).readSequence(61, 7)).rejects.toThrow(/should be 64 bytes, got 63/);
  });

  it('reports other statuses with the URL', async () => {
    const { open, srv, shardUrl } = await setup(1003);
    const loader = await open();
    srv.files.delete(shardUrl);
    await expect(loader.readSequence(0, 7)).rejects.toThrow(DataLoadError);
    await expect(loader.readSequence(0, 7)).rejects.toThrow(/seq\.train\.bin bytes=0-63: expected HTTP 206 or 200, got 404/);
  });

  it('rejects tokens outside the vocabulary even when the shard matches its manifest', async () => {
    const { manifest, files } = await dataset(16, 256);
    const bytes = encodeShard([...range(0, 15), 300], 'uint16');
    files.set(`${BASE}/seq.train.bin`, bytes);
    const train = { ...manifest.splits.train, sha256: await sha256Hex(bytes) };
    const loader = await openShardLoader({
      baseUrl: BASE,
      fetch: fakeServer(files).fetch,
      manifest: { ...manifest, splits: { ...manifest.splits, train } },
    });
    await expect(loader.batchForRange(0, 1, 7)).resolves.toBeDefined();
    await expect(loader.batchForRange(1, 1, 7)).rejects.toThrow(/token 300 is outside vocab 256/);
  });
});

describe('cache', () => {
  it('serves a second read of the same sequence without fetching', async () => {
    const { open, srv, shardUrl, cache } = await setup(1003);
    const loader = await open();
    const first = await loader.readSequence(61, 7);
    const fetched = srv.requests.length;
    expect(cache.size).toBe(1);
    expect(Array.from(await loader.readSequence(61, 7))).toEqual(Array.from(first));
    expect(srv.requests.length).toBe(fetched);
    expect(srv.requests.filter((r) => r.url === shardUrl)).toHaveLength(1);
  });

  it('is shared across loaders (a reload) and only fetches the chunks it lacks', async () => {
    const { open, srv, shardUrl } = await setup(1003);
    await (await open()).readTokens(0, 64); // chunks 0 and 1
    const reloaded = await open();
    expect(Array.from(await reloaded.readTokens(0, 96))).toEqual(range(0, 96)); // chunks 0..2
    expect(srv.requests.filter((r) => r.url === shardUrl).map((r) => r.range)).toEqual([
      'bytes=0-127',
      'bytes=128-191',
    ]);
  });

  it('does not reuse chunks of a shard whose content changed', async () => {
    const a = await setup(1003);
    await (await a.open()).readSequence(0, 7);
    const { manifest, files } = await dataset(2000);
    const srv = fakeServer(files);
    const loader = await openShardLoader({ baseUrl: BASE, fetch: srv.fetch, cache: a.cache, chunkBytes: 64, manifest });
    await loader.readSequence(0, 7);
    expect(srv.requests.filter((r) => r.url.endsWith('.bin'))).toHaveLength(1);
    expect(a.cache.size).toBe(2);
  });
});

describe('fetchManifest', () => {
  it('validates what it fetches', async () => {
    const { manifest, files } = await dataset(100);
    expect(await fetchManifest(BASE, fakeServer(files).fetch)).toEqual(manifest);
    const broken = new Map(files);
    broken.set(`${BASE}/manifest.json`, jsonBytes({ ...manifest, dtype: 'uint32' }));
    await expect(fetchManifest(BASE, fakeServer(broken).fetch)).rejects.toThrow(ManifestError);
    await expect(fetchManifest(BASE, fakeServer(broken).fetch)).rejects.toThrow(/manifest\.json[\s\S]*must be stored as uint16/);
    broken.set(`${BASE}/manifest.json`, new TextEncoder().encode('{"version":'));
    await expect(fetchManifest(BASE, fakeServer(broken).fetch)).rejects.toThrow(/body is not JSON/);
    await expect(fetchManifest(`${BASE}/missing/`, fakeServer(files).fetch)).rejects.toThrow(/expected HTTP 200, got 404/);
  });
});
