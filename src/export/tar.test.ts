/** The tar writer: one top folder, every file's bytes, and only plain names. */
import { describe, expect, it } from 'vitest';
import { tarFolder } from './tar';
import { untar } from './test-helpers';

describe('tarFolder', () => {
  it('puts every file, byte for byte, under one folder', async () => {
    const files = new Map([
      ['a.json', new TextEncoder().encode('{"x":1}\n')],
      ['empty.txt', new Uint8Array(0)],
      ['big.bin', Uint8Array.from({ length: 70_001 }, (_, i) => (i * 31) & 0xff)],
    ]);
    const tar = await tarFolder('model-1', files, { mtime: new Date(1_700_000_000_000) });
    expect(tar.length % 512).toBe(0);
    const entries = await untar(tar);
    expect([...entries.keys()]).toEqual(['model-1/', 'model-1/a.json', 'model-1/empty.txt', 'model-1/big.bin']);
    expect(entries.get('model-1/')!.type).toBe('directory');
    for (const [name, bytes] of files) expect(entries.get(`model-1/${name}`)).toEqual({ type: 'file', bytes });
    // Same input and mtime, same archive.
    expect(await tarFolder('model-1', files, { mtime: new Date(1_700_000_000_000) })).toEqual(tar);
  });

  it('refuses names that could land outside the folder', async () => {
    for (const [folder, name] of [['..', 'a'], ['ok', '../a'], ['ok', 'sub/a'], ['/abs', 'a'], ['ok', '']]) {
      await expect(tarFolder(folder, new Map([[name, new Uint8Array(1)]])), `${folder} ${name}`).rejects.toThrow(/not a plain file name/);
    }
  });
});
