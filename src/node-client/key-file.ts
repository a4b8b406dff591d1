/**
 * The headless client's identity: its ed25519 key pair in a file (a tab keeps
 * it in IndexedDB, src/run-client/identity.ts), so a restart is the same
 * client with the same points and wallet binding. The file is made on first
 * use, readable by its owner only (mode 0600), and never replaced: a file
 * that is malformed, or readable by others, stops the client with a message
 * saying what to do, since a new key would quietly cost its owner the points
 * of the old one.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { generateKeyPair, type KeyPair } from '../protocol/commitment';

export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');
const keyFileSchema = z.object({ version: z.literal(1), publicKey: hex32, secretKey: hex32 }).strict();

/** The key pair in `path`, made (mode 0600) when there is no file yet. */
export async function loadOrCreateKey(path: string): Promise<{ key: KeyPair; created: boolean }> {
  const existing = await readKey(path);
  if (existing) return { key: existing, created: false };
  const key = generateKeyPair();
  const text = `${JSON.stringify({ version: 1, publicKey: bytesToHex(key.publicKey), secretKey: bytesToHex(key.secretKey) }, null, 2)}\n`;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Written whole under another name, then linked into place: the key file appears complete or not at all,
  // and if another process made one meanwhile, the link fails and its key is the one used.
  const tmp = `${path}.tmp-${process.pid}-${bytesToHex(randomBytes(4))}`;
  await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
  try {
    await link(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const theirs = await readKey(path);
    if (!theirs) throw new KeyFileError(`key file ${path} appeared while this client made one, and it cannot be read`);
    return { key: theirs, created: false };
  } finally {
    await unlink(tmp).catch(() => {});
  }
  return { key, created: true };
}

/** The key pair in `path`; null when there is no file; throws KeyFileError for a file this client will not use. */
async function readKey(path: string): Promise<KeyPair | null> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if ((mode & 0o077) !== 0) {
    throw new KeyFileError(`key file ${path} can be read by others (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    throw new KeyFileError(`key file ${path} is not JSON; it is left as it is: move it away to start as a new client (and lose its points)`);
  }
  const result = keyFileSchema.safeParse(parsed);
  if (!result.success) throw new KeyFileError(`key file ${path} is malformed (${z.prettifyError(result.error)}); it is left as it is`);
  const secretKey = hexToBytes(result.data.secretKey);
  const publicKey = ed25519.getPublicKey(secretKey);
  if (bytesToHex(publicKey) !== result.data.publicKey) throw new KeyFileError(`key file ${path}: its public key is not the one its secret key makes; it is left as it is`);
  return { publicKey, secretKey };
}
