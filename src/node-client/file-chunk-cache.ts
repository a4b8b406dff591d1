/**
 * The headless client's cache of dataset chunks (src/data/loader.ts's
 * ChunkCache; a tab keeps them in IndexedDB): one file per chunk, named by
 * the SHA-256 of its key, written to a temporary file and renamed, so a
 * crash never leaves half a chunk under a chunk's name.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { ChunkCache } from '../data/loader';

export async function openFileChunkCache(dir: string): Promise<ChunkCache> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = (key: string) => join(dir, bytesToHex(sha256(utf8ToBytes(key))));
  return {
    async get(key) {
      try {
        return new Uint8Array(await readFile(path(key)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    async put(key, bytes) {
      const tmp = `${path(key)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
      try {
        await writeFile(tmp, bytes, { mode: 0o600, flag: 'wx' });
        await rename(tmp, path(key));
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    },
  };
}
