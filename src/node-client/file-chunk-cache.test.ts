import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openFileChunkCache } from './file-chunk-cache';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-chunks-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

describe('openFileChunkCache', () => {
  it('makes its folder and has nothing for an unknown key', async () => {
    const cache = await openFileChunkCache(join(dir, 'data-cache', 'x'));
    expect(statSync(join(dir, 'data-cache', 'x')).isDirectory()).toBe(true);
    expect(await cache.get('https://example.org/data/train-00000.bin')).toBeUndefined();
    expect(await cache.get('')).toBeUndefined();
  });

  it('gives back the bytes put, under keys of any shape', async () => {
    const cache = await openFileChunkCache(dir);
    const keys = [
      'plain',
      'a/b/c',
      '../../escape',
      'http://127.0.0.1:8080/data/tiny/shard-0003.bin:17',
      `https://example.org/${'very-long-segment/'.repeat(40)}chunk:${'9'.repeat(100)}`,
      'ünïcødé:🙂',
    ];
    const values = keys.map((_, i) => bytesOf(1000 + i * 7, i));
    for (let i = 0; i < keys.length; i++) await cache.put(keys[i], values[i]);
    for (let i = 0; i < keys.length; i++) {
      const got = await cache.get(keys[i]);
      expect(got).toBeInstanceOf(Uint8Array);
      expect(got).toEqual(values[i]);
    }
    // One file per key, all inside the folder (a key cannot name a path).
    expect(readdirSync(dir)).toHaveLength(keys.length);
    for (const name of readdirSync(dir)) expect(name).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps an empty chunk apart from a missing one', async () => {
    const cache = await openFileChunkCache(dir);
    await cache.put('empty', new Uint8Array(0));
    const got = await cache.get('empty');
    expect(got).toBeInstanceOf(Uint8Array);
    expect(got).toHaveLength(0);
  });

  it('overwrites a chunk put again', async () => {
    const cache = await openFileChunkCache(dir);
    await cache.put('k', bytesOf(500, 1));
    await cache.put('k', bytesOf(20, 2));
    expect(await cache.get('k')).toEqual(bytesOf(20, 2));
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it('stores a view by its own bytes', async () => {
    const cache = await openFileChunkCache(dir);
    const whole = bytesOf(100, 3);
    await cache.put('view', whole.subarray(10, 30));
    expect(await cache.get('view')).toEqual(whole.slice(10, 30));
  });

  it('is seen by a second cache on the same folder', async () => {
    const a = await openFileChunkCache(dir);
    await a.put('shared:1', bytesOf(300, 4));
    const b = await openFileChunkCache(dir);
    expect(await b.get('shared:1')).toEqual(bytesOf(300, 4));
    expect(await b.get('shared:2')).toBeUndefined();
  });

  it('leaves no temporary files, even with puts in parallel', async () => {
    const cache = await openFileChunkCache(dir);
    await Promise.all(Array.from({ length: 20 }, (_, i) => cache.put(`k/${i}`, bytesOf(100 + i, i))));
    const names = readdirSync(dir);
    expect(names).toHaveLength(20);
    expect(names.filter((n) => n.includes('tmp'))).toEqual([]);
    for (let i = 0; i < 20; i++) expect(await cache.get(`k/${i}`)).toEqual(bytesOf(100 + i, i));
  });
});
