/**
 * The socket handshake's signature (docs/run.md "Socket protocol"): the
 * server sends 32 random bytes, the client signs them with its ed25519 key,
 * and the public key becomes its client id.
 *
 * Signed bytes (64):
 *   off  size  field
 *     0    15  ASCII "tessera-auth-v1"
 *    15     1  0x00 (ends the tag; no tag of ours is a prefix of another)
 *    16    16  run id
 *    32    32  challenge
 *
 * The tag keeps a challenge signature from ever passing as a commitment or
 * witness signature made with the same key, and the run id keeps one run's
 * handshake from being replayed into another.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../protocol/commitment';
import { RUN_ID_BYTES } from '../protocol/update-codec';

export const AUTH_SIGNATURE_DOMAIN = 'tessera-auth-v1';
export const CHALLENGE_BYTES = 32;

const DOMAIN_BYTES = new TextEncoder().encode(AUTH_SIGNATURE_DOMAIN);

/** The exact bytes that get signed (layout in the header comment). */
export function authMessage(runId: Uint8Array, challenge: Uint8Array): Uint8Array {
  if (runId.length !== RUN_ID_BYTES) throw new RangeError(`run id must be ${RUN_ID_BYTES} bytes, got ${runId.length}`);
  if (challenge.length !== CHALLENGE_BYTES) throw new RangeError(`challenge must be ${CHALLENGE_BYTES} bytes, got ${challenge.length}`);
  const msg = new Uint8Array(DOMAIN_BYTES.length + 1 + RUN_ID_BYTES + CHALLENGE_BYTES);
  msg.set(DOMAIN_BYTES, 0);
  msg.set(runId, DOMAIN_BYTES.length + 1);
  msg.set(challenge, DOMAIN_BYTES.length + 1 + RUN_ID_BYTES);
  return msg;
}

export function signAuth(runId: Uint8Array, challenge: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed25519.sign(authMessage(runId, challenge), secretKey);
}

/** Strict RFC 8032 check, as verifyCommitment; malformed input from the network gives false. */
export function verifyAuth(runId: Uint8Array, challenge: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return false;
  try {
    return ed25519.verify(signature, authMessage(runId, challenge), publicKey, { zip215: false });
  } catch {
    return false;
  }
}
