/** A Solana wallet address: base58 of a 32-byte ed25519 public key. */
import bs58 from 'bs58';

const BASE58 = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/;

/** The key bytes, or null when `text` is not base58 of exactly 32 bytes (in canonical spelling). */
export function decodeWalletAddress(text: string): Uint8Array | null {
  if (!BASE58.test(text)) return null;
  const bytes = bs58.decode(text);
  // Leading '1's encode zero bytes, so two spellings could decode alike; keep only the canonical one.
  if (bytes.length !== 32 || bs58.encode(bytes) !== text) return null;
  return bytes;
}

export function isWalletAddress(text: string): boolean {
  return decodeWalletAddress(text) !== null;
}
