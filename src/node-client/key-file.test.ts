import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyFileError, loadOrCreateKey } from './key-file';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-key-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function keyFileError(path: string): Promise<KeyFileError> {
  try {
    await loadOrCreateKey(path);
  } catch (err) {
    expect(err).toBeInstanceOf(KeyFileError);
    return err as KeyFileError;
  }
  throw new Error(`expected KeyFileError for ${path}`);
}

/** Writes `text` at `path` with mode 0600. */
function writeKeyFile(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

describe('loadOrCreateKey', () => {
  it('makes the key file, mode 0600, in a new folder, then reads the same key back', async () => {
    const p = join(dir, 'state', 'nested', 'key.json');
    const first = await loadOrCreateKey(p);
    expect(first.created).toBe(true);
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'state', 'nested')).isDirectory()).toBe(true);
    expect(statSync(join(dir, 'state', 'nested')).mode & 0o077).toBe(0);
    expect(first.key.publicKey).toHaveLength(32);
    expect(first.key.secretKey).toHaveLength(32);
    // No temporary file is left next to it.
    expect(readdirSync(join(dir, 'state', 'nested'))).toEqual(['key.json']);

    const json = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
    expect(json).toEqual({ version: 1, publicKey: bytesToHex(first.key.publicKey), secretKey: bytesToHex(first.key.secretKey) });

    const before = readFileSync(p);
    const second = await loadOrCreateKey(p);
    expect(second.created).toBe(false);
    expect(bytesToHex(second.key.secretKey)).toBe(bytesToHex(first.key.secretKey));
    expect(bytesToHex(second.key.publicKey)).toBe(bytesToHex(first.key.publicKey));
    expect(readFileSync(p).equals(before)).toBe(true);
  });

  it('gives a key that signs and verifies', async () => {
    const { key } = await loadOrCreateKey(join(dir, 'key.json'));
    const msg = new TextEncoder().encode('tessera round 7');
    const sig = ed25519.sign(msg, key.secretKey);
    expect(ed25519.verify(sig, msg, key.publicKey)).toBe(true);
    expect(ed25519.verify(sig, new TextEncoder().encode('tessera round 8'), key.publicKey)).toBe(false);
    // Read back from the file, it still verifies the same signature.
    const again = await loadOrCreateKey(join(dir, 'key.json'));
    expect(ed25519.verify(sig, msg, again.key.publicKey)).toBe(true);
    expect(ed25519.verify(ed25519.sign(msg, again.key.secretKey), msg, key.publicKey)).toBe(true);
  });

  it('makes two different keys in two places', async () => {
    const a = await loadOrCreateKey(join(dir, 'a.json'));
    const b = await loadOrCreateKey(join(dir, 'b.json'));
    expect(bytesToHex(a.key.publicKey)).not.toBe(bytesToHex(b.key.publicKey));
  });

  it('refuses a file others can read, telling to chmod it, and leaves it alone', async () => {
    const p = join(dir, 'key.json');
    await loadOrCreateKey(p);
    chmodSync(p, 0o644);
    const before = readFileSync(p);
    const err = await keyFileError(p);
    expect(err.message).toMatch(/chmod/);
    expect(err.message).toContain(p);
    expect(readFileSync(p).equals(before)).toBe(true);
    expect(statSync(p).mode & 0o777).toBe(0o644);

    chmodSync(p, 0o640);
    expect((await keyFileError(p)).message).toMatch(/chmod/);
    chmodSync(p, 0o600);
    expect((await loadOrCreateKey(p)).created).toBe(false);
  });

  it('refuses a file that is not JSON and leaves it alone', async () => {
    const p = join(dir, 'key.json');
    writeKeyFile(p, 'this is not json {');
    const err = await keyFileError(p);
    expect(err.message).toMatch(/not JSON/);
    expect(readFileSync(p, 'utf8')).toBe('this is not json {');
    expect(readdirSync(dir)).toEqual(['key.json']);
  });

  it('refuses JSON with the wrong fields', async () => {
    const p = join(dir, 'key.json');
    await loadOrCreateKey(join(dir, 'good.json'));
    const good = JSON.parse(readFileSync(join(dir, 'good.json'), 'utf8')) as Record<string, unknown>;
    const cases: unknown[] = [
      {},
      [],
      null,
      { ...good, version: 2 },
      { ...good, secretKey: undefined },
      { ...good, publicKey: (good.publicKey as string).toUpperCase() },
      { ...good, secretKey: (good.secretKey as string).slice(2) },
      { ...good, extra: true },
      { ...good, publicKey: 42 },
    ];
    for (const c of cases) {
      const text = JSON.stringify(c);
      writeKeyFile(p, text);
      const err = await keyFileError(p);
      expect(err.message, text).toMatch(/malformed/);
      expect(readFileSync(p, 'utf8')).toBe(text);
    }
  });

  it('refuses a file whose public key is not its secret key’s', async () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    await loadOrCreateKey(a);
    await loadOrCreateKey(b);
    const ja = JSON.parse(readFileSync(a, 'utf8')) as { publicKey: string };
    const jb = JSON.parse(readFileSync(b, 'utf8')) as { publicKey: string };
    const swapped = JSON.stringify({ ...ja, publicKey: jb.publicKey });
    writeKeyFile(a, swapped);
    const err = await keyFileError(a);
    expect(err.message).toMatch(/public key/);
    expect(readFileSync(a, 'utf8')).toBe(swapped);
  });

  it('gives two concurrent callers on a missing file the same key', async () => {
    const p = join(dir, 'state', 'key.json');
    const [x, y] = await Promise.all([loadOrCreateKey(p), loadOrCreateKey(p)]);
    expect(bytesToHex(x.key.secretKey)).toBe(bytesToHex(y.key.secretKey));
    expect(bytesToHex(x.key.publicKey)).toBe(bytesToHex(y.key.publicKey));
    expect([x.created, y.created].filter(Boolean)).toHaveLength(1);
    const stored = JSON.parse(readFileSync(p, 'utf8')) as { secretKey: string };
    expect(stored.secretKey).toBe(bytesToHex(x.key.secretKey));
    expect(readdirSync(join(dir, 'state'))).toEqual(['key.json']);
  });
});
