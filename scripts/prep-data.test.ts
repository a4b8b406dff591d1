/**
 * The prep-data command as a user runs it, reading files as streams: on the
 * shipped corpus it reproduces the committed shards and manifests byte for
 * byte (they were made by the whole-corpus build), from a .txt.gz input
 * too, and a failing build leaves no partial shard behind.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'tessera-prep-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const run = (...args: string[]) => promisify(execFile)(join(root, 'node_modules/.bin/vite-node'), ['scripts/prep-data.ts', '--', ...args], { cwd: root });
const read = (path: string) => readFileSync(path.startsWith('/') ? path : join(root, path));

describe('prep-data', () => {
  it('rebuilds public/data/austen-gpt2 byte for byte', async () => {
    const out = join(tmp, 'austen-gpt2');
    await run('--input', 'data/corpus/austen.txt', '--out', out, '--tokenizer', 'gpt2');
    const shipped = readdirSync(join(root, 'public/data/austen-gpt2')).sort();
    expect(readdirSync(out).sort()).toEqual(shipped);
    for (const file of shipped) expect(read(join(out, file)).equals(read(`public/data/austen-gpt2/${file}`)), file).toBe(true);
  });

  it('reads a .txt.gz input as a stream and writes the shards of the same text', async () => {
    const dir = join(tmp, 'gz');
    const input = join(dir, 'austen.txt.gz');
    mkdirSync(dir, { recursive: true });
    writeFileSync(input, gzipSync(read('data/corpus/austen.txt')));
    copyFileSync(join(root, 'data/corpus/austen.source.json'), join(dir, 'austen.source.json'));
    const out = join(tmp, 'austen-byte');
    await run('--input', input, '--out', out, '--tokenizer', 'byte');
    for (const file of ['austen.train.bin', 'austen.val.bin']) expect(read(join(out, file)).equals(read(`public/data/austen-byte/${file}`)), file).toBe(true);
    const manifest = JSON.parse(read(join(out, 'manifest.json')).toString()) as { inputs: { bytes: number; sha256: string }[] };
    const shipped = JSON.parse(read('public/data/austen-byte/manifest.json').toString()) as typeof manifest;
    expect(manifest.inputs[0].sha256).toBe(shipped.inputs[0].sha256);
  });

  it('fails on input that is not UTF-8, naming it, and leaves no partial shards', async () => {
    const dir = join(tmp, 'bad');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'bad.txt'), Buffer.concat([Buffer.from('fine text '.repeat(10_000)), Buffer.from([0xff])]));
    const out = join(tmp, 'bad-out');
    const failed = run('--input', join(dir, 'bad.txt'), '--out', out, '--tokenizer', 'byte', '--source', 'test', '--license', 'CC0');
    await expect(failed).rejects.toThrow(/bad\.txt is not valid UTF-8/);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });
});
