/**
 * The checks a signed rewards message must pass before anything is written:
 * the wallet's signature, the time window, and (inside the transaction that
 * uses it up) the nonce. Each failure is a RewardsError with its own code.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import bs58 from 'bs58';
import { parseIsoTime } from '../../src/rewards/iso-time';
import { decodeWalletAddress } from '../../src/rewards/wallet-address';
import type { NonceRow } from './rewards-db';
import { RewardsError } from './rewards-error';

/** How long a nonce can be used after it was handed out. */
export const NONCE_TTL_MS = 5 * 60_000;
/** How far the browser's clock may be off from ours. */
export const CLOCK_SKEW_MS = 5 * 60_000;
/** A message may not promise validity for longer than this (short-lived by design). */
export const MAX_MESSAGE_LIFETIME_MS = 60 * 60_000;

/** ed25519 (strict RFC 8032) over the exact UTF-8 bytes of `text`, by the wallet `address` (base58). */
export function verifyWalletSignature(text: string, signatureBase58: string, address: string): boolean {
  const publicKey = decodeWalletAddress(address);
  if (publicKey === null) return false;
  let signature: Uint8Array;
  try {
    signature = bs58.decode(signatureBase58);
  } catch {
    return false;
  }
  if (signature.length !== 64) return false;
  try {
    return ed25519.verify(signature, new TextEncoder().encode(text), publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** Issued At no later than now + skew and not older than a nonce can live; Expiration Time after now, after Issued At, not too far out. */
export function checkTimeWindow(issuedAtIso: string, expirationIso: string, now: number): void {
  const issuedAt = parseIsoTime(issuedAtIso);
  const expiration = parseIsoTime(expirationIso);
  if (issuedAt === null || expiration === null) throw new RewardsError('bad-message', 'Issued At and Expiration Time must be ISO times as toISOString() writes them');
  if (expiration <= issuedAt) throw new RewardsError('bad-time-window', `Expiration Time ${expirationIso} is not after Issued At ${issuedAtIso}`);
  if (expiration - issuedAt > MAX_MESSAGE_LIFETIME_MS) {
    throw new RewardsError('bad-time-window', `the message is valid for more than ${MAX_MESSAGE_LIFETIME_MS / 60_000} minutes; sign a shorter-lived one`);
  }
  if (issuedAt > now + CLOCK_SKEW_MS) throw new RewardsError('issued-in-future', `Issued At ${issuedAtIso} is in the future (server time ${new Date(now).toISOString()}); check the computer's clock`);
  if (issuedAt < now - NONCE_TTL_MS - CLOCK_SKEW_MS) throw new RewardsError('issued-too-old', `Issued At ${issuedAtIso} is too old; get a new nonce and sign again`);
  if (expiration <= now) throw new RewardsError('message-expired', `the message expired at ${expirationIso}; get a new nonce and sign again`);
}

/** The nonce must have been handed out by us, not used, and not expired. */
export function checkNonce(row: NonceRow | null, nonce: string, now: number): void {
  if (row === null) throw new RewardsError('nonce-unknown', `nonce ${nonce} was not issued by this server (or expired long ago); get a new one from /api/rewards/nonce`);
  if (row.usedAt !== null) throw new RewardsError('nonce-used', `nonce ${nonce} was already used; every signed message needs a new nonce`);
  if (row.expiresAt <= now) throw new RewardsError('nonce-expired', `nonce ${nonce} expired at ${new Date(row.expiresAt).toISOString()}; get a new one`);
}
