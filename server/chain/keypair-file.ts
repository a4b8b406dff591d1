/** Reads a Solana CLI keypair file: a JSON array of the 64 secret-key bytes. */
import { readFileSync } from 'node:fs';
import { Keypair } from '@solana/web3.js';
import { z } from 'zod';

const keypairBytesSchema = z.array(z.number().int().min(0).max(255)).length(64);

export function loadKeypairFile(path: string): Keypair {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read keypair file ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`keypair file ${path} is not JSON (expected the Solana CLI format: an array of 64 numbers)`);
  }
  const bytes = keypairBytesSchema.safeParse(json);
  if (!bytes.success) throw new Error(`keypair file ${path} must hold a JSON array of exactly 64 bytes (0-255)`);
  try {
    return Keypair.fromSecretKey(Uint8Array.from(bytes.data));
  } catch (error) {
    throw new Error(`keypair file ${path} is not a valid ed25519 keypair: ${(error as Error).message}`);
  }
}
