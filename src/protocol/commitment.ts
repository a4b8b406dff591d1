/**
 * Commitment to an encoded update and the client's ed25519 signature over it
 * (docs/design.md §4 last paragraph, §6).
 *
 * The commitment is SHA-256 over the exact encoded bytes: the encoding is
 * canonical (see update-codec.ts), so equal updates have equal commitments.
 * @noble is synchronous and pure JS, so a browser tab, a worker and the Node
 * server compute the same bytes without WebCrypto's async API.
 *
 * What gets signed is not the bare hash but a 70-byte, domain-separated message:
 *
 *   off  size  field
 *     0    17  ASCII "tessera-update-v1"
 *    17     1  0x00 (terminates the tag, so no tag is a prefix of another)
 *    18    16  run id
 *    34     4  step, u32 little-endian
 *    38    32  SHA-256 commitment
 *
 * Why: the same ed25519 key also signs socket challenges and witness reports
 * (§6). Were a bare 32-byte hash signed, a signature made for one message type
 * could be presented as a signature on another whose bytes happen to coincide
 * (a challenge nonce is 32 attacker-chosen bytes). The tag rules that out. The
 * run id and step are in the signed bytes (although the hashed payload also
 * holds them) so a commitment can be checked against the round it is
 * announced for before the payload is revealed, and a signature from one
 * run or step can never be replayed into another.
 */

import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { RUN_ID_BYTES } from './update-codec';

export const COMMITMENT_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const PUBLIC_KEY_BYTES = 32;
export const SECRET_KEY_BYTES = 32;
export const UPDATE_SIGNATURE_DOMAIN = 'tessera-update-v1';

const DOMAIN_BYTES = new TextEncoder().encode(UPDATE_SIGNATURE_DOMAIN);
export const SIGNED_MESSAGE_BYTES = DOMAIN_BYTES.length + 1 + RUN_ID_BYTES + 4 + COMMITMENT_BYTES;

/** The round a commitment belongs to. */
export interface CommitmentContext {
  runId: Uint8Array;
  step: number;
}

export interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/** SHA-256 of the exact encoded update bytes. */
export function commitment(bytes: Uint8Array): Uint8Array {
  return sha256(bytes);
}

/** The exact bytes that get signed (layout in the header comment). */
export function commitmentMessage(hash: Uint8Array, context: CommitmentContext): Uint8Array {
  return domainMessage(DOMAIN_BYTES, hash, context);
}

/**
 * A client-made epoch checkpoint (docs/run.md "Checkpoints") is signed the
 * same way under its own tag, over the SHA-256 of its safetensors bytes and
 * the step it holds the parameters before: a signature on an update can
 * never pass for one on a checkpoint, nor the other way round.
 */
export const CHECKPOINT_SIGNATURE_DOMAIN = 'tessera-checkpoint-v1';
const CHECKPOINT_DOMAIN_BYTES = new TextEncoder().encode(CHECKPOINT_SIGNATURE_DOMAIN);

export function signCheckpoint(bytes: Uint8Array, secretKey: Uint8Array, context: CommitmentContext): Uint8Array {
  return ed25519.sign(domainMessage(CHECKPOINT_DOMAIN_BYTES, sha256(bytes), context), secretKey);
}

export function verifyCheckpoint(bytes: Uint8Array, signature: Uint8Array, publicKey: Uint8Array, context: CommitmentContext): boolean {
  return verifyDomainMessage(CHECKPOINT_DOMAIN_BYTES, sha256(bytes), signature, publicKey, context);
}

/** tag ‖ 0x00 ‖ run id ‖ u32 LE step ‖ hash, the layout of the header comment for any tag. */
function domainMessage(domain: Uint8Array, hash: Uint8Array, context: CommitmentContext): Uint8Array {
  if (hash.length !== COMMITMENT_BYTES) throw new RangeError(`commitment must be ${COMMITMENT_BYTES} bytes, got ${hash.length}`);
  if (context.runId.length !== RUN_ID_BYTES) throw new RangeError(`run id must be ${RUN_ID_BYTES} bytes, got ${context.runId.length}`);
  if (!Number.isInteger(context.step) || context.step < 0 || context.step > 0xffff_ffff) {
    throw new RangeError(`step ${context.step} is not a u32`);
  }
  const msg = new Uint8Array(domain.length + 1 + RUN_ID_BYTES + 4 + COMMITMENT_BYTES);
  let off = 0;
  msg.set(domain, off);
  off += domain.length + 1; // the 0x00 terminator is already zero
  msg.set(context.runId, off);
  off += RUN_ID_BYTES;
  new DataView(msg.buffer).setUint32(off, context.step, true);
  off += 4;
  msg.set(hash, off);
  return msg;
}

/** A fresh key pair, or a deterministic one from a 32-byte seed (tests). */
export function generateKeyPair(seed?: Uint8Array): KeyPair {
  if (seed !== undefined && seed.length !== SECRET_KEY_BYTES) throw new RangeError(`seed must be ${SECRET_KEY_BYTES} bytes`);
  // noble reuses a given seed buffer as the secret key; copy so the caller's buffer stays theirs.
  const { secretKey, publicKey } = ed25519.keygen(seed ? seed.slice() : undefined);
  return { secretKey, publicKey };
}

export function signCommitment(hash: Uint8Array, secretKey: Uint8Array, context: CommitmentContext): Uint8Array {
  return ed25519.sign(commitmentMessage(hash, context), secretKey);
}

/**
 * True only for a valid signature by `publicKey` on this hash for this round.
 * Malformed inputs (wrong lengths, off-curve keys) come from the network, so
 * they give false rather than throwing. Strict RFC 8032 verification
 * (zip215: false): every verifier runs this same code, so ZIP-215's
 * cross-implementation leniency buys nothing, and strictness rejects
 * non-canonical key encodings.
 */
export function verifyCommitment(
  hash: Uint8Array,
  signature: Uint8Array,
  publicKey: Uint8Array,
  context: CommitmentContext,
): boolean {
  return verifyDomainMessage(DOMAIN_BYTES, hash, signature, publicKey, context);
}

function verifyDomainMessage(domain: Uint8Array, hash: Uint8Array, signature: Uint8Array, publicKey: Uint8Array, context: CommitmentContext): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return false;
  let msg: Uint8Array;
  try {
    msg = domainMessage(domain, hash, context);
  } catch {
    return false;
  }
  try {
    return ed25519.verify(signature, msg, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
