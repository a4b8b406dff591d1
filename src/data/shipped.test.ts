/**
 * The shards in public/data are generated files committed next to their
 * source text; these checks fail when one is changed without regenerating
 * the other (see data/corpus/SOURCE.md for the command).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openShardLoader } from './loader';
import { parseManifest } from './manifest';
import { decodeShard, joinTrainVal, sha256Hex } from './shards';
import { fakeServer } from './test-helpers';
import { getTokenizer } from './tokenizers';

const root = new URL('../../', import.meta.url);
const read = (path: string) => new Uint8Array(readFileSync(new URL(path, root)));
const corpusBytes = read('data/corpus/austen.txt');
const corpus = new TextDecoder().decode(corpusBytes);

describe.each(['austen-byte', 'austen-gpt2'])('public/data/%s', (dir) => {
  const manifest = parseManifest(JSON.parse(readFileSync(new URL(`public/data/${dir}/manifest.json`, root), 'utf8')));
  const shard = (split: 'train' | 'val') => read(`public/data/${dir}/${manifest.splits[split].file}`);

  it('was built from the committed corpus and names its source and licence', async () => {
    expect(manifest.inputs).toEqual([
      { path: 'data/corpus/austen.txt', bytes: corpusBytes.byteLength, sha256: await sha256Hex(corpusBytes) },
    ]);
    expect(manifest.source.license).toMatch(/public domain/i);
    expect(manifest.tokenizer).toBe(dir.slice('austen-'.length));
  });

  it('has shards matching the manifest sizes and hashes', async () => {
    for (const split of ['train', 'val'] as const) {
      const bytes = shard(split);
      expect(bytes.byteLength).toBe(manifest.splits[split].bytes);
      expect(await sha256Hex(bytes)).toBe(manifest.splits[split].sha256);
    }
  });

  it('decodes back to exactly the corpus text', () => {
    const opts = { seqLen: manifest.splitSeqLen, blockSequences: manifest.splitBlockSequences, valFraction: manifest.valFraction };
    const tokens = joinTrainVal(decodeShard(shard('train'), manifest.dtype), decodeShard(shard('val'), manifest.dtype), opts);
    const eot = manifest.eotToken;
    const body = eot === null ? tokens : tokens.subarray(0, tokens.length - 1);
    if (eot !== null) expect(tokens[tokens.length - 1]).toBe(eot);
    expect(getTokenizer(manifest.tokenizer).decode(body)).toBe(corpus);
  });

  it('loads through the range loader as the browser would', async () => {
    const files = new Map<string, Uint8Array>([[`/data/${dir}/manifest.json`, read(`public/data/${dir}/manifest.json`)]]);
    files.set(`/data/${dir}/${manifest.splits.train.file}`, shard('train'));
    const loader = await openShardLoader({ baseUrl: `/data/${dir}`, fetch: fakeServer(files).fetch });
    const { inputIds } = await loader.batchForRange(0, 1, 64);
    expect(getTokenizer(manifest.tokenizer).decode(inputIds)).toMatch(/^SENSE AND SENSIBILITY\n\nby Jane Austen/);
  });
});
