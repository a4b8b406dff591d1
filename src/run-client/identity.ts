/**
 * This tab's identity: an ed25519 key pair kept in IndexedDB, so a reload or
 * a return visit is the same client (its points, its wallet binding). The
 * key signs the socket challenge, commitments and witness reports.
 */
import { openDB } from 'idb';
import { generateKeyPair, PUBLIC_KEY_BYTES, SECRET_KEY_BYTES, type KeyPair } from '../protocol/commitment';

const DB = 'tessera-identity';
const STORE = 'keys';
const KEY = 'client';

function isKeyPair(v: unknown): v is KeyPair {
  const k = v as KeyPair | undefined;
  return k?.secretKey instanceof Uint8Array && k.secretKey.length === SECRET_KEY_BYTES && k.publicKey instanceof Uint8Array && k.publicKey.length === PUBLIC_KEY_BYTES;
}

/** The stored key pair, made and stored on first use. A corrupt entry is replaced (and logged). */
export async function loadIdentity(dbName = DB): Promise<KeyPair> {
  const db = await openDB(dbName, 1, {
    upgrade(database) {
      database.createObjectStore(STORE);
    },
  });
  try {
    const stored: unknown = await db.get(STORE, KEY);
    if (isKeyPair(stored)) return stored;
    if (stored !== undefined) console.error('identity: the stored key was malformed; making a new one');
    const fresh = generateKeyPair();
    await db.put(STORE, fresh, KEY);
    return fresh;
  } finally {
    db.close();
  }
}
