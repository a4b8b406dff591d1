/**
 * The signature on a witness report (docs/run.md "Events", DESIGN.md §6): a
 * client signs which of the round's payloads it holds and its parameter
 * checksum, so the coordinator can later show who vouched for what.
 *
 * Signed bytes:
 *   off  size  field
 *     0    18  ASCII "tessera-witness-v1"
 *    18     1  0x00 (ends the tag; no tag of ours is a prefix of another)
 *    19    16  run id
 *    35     4  step, u32 little-endian
 *    39     h  held bitmap, ⌈slots/8⌉ bytes, LSB-first
 *  39+h     8  parameter checksum (the 16 hex digits as 8 bytes)
 *
 * h varies with the round, but the checksum is fixed-size and last, so the
 * message still parses one way only.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../protocol/commitment';
import { RUN_ID_BYTES } from '../protocol/update-codec';

export const WITNESS_SIGNATURE_DOMAIN = 'tessera-witness-v1';
export const CHECKSUM_BYTES = 8;

const DOMAIN_BYTES = new TextEncoder().encode(WITNESS_SIGNATURE_DOMAIN);

export interface WitnessContent {
  runId: Uint8Array;
  step: number;
  held: Uint8Array;
  checksum: Uint8Array;
}

/** The exact bytes that get signed (layout in the header comment). */
export function witnessMessage(w: WitnessContent): Uint8Array {
  if (w.runId.length !== RUN_ID_BYTES) throw new RangeError(`run id must be ${RUN_ID_BYTES} bytes, got ${w.runId.length}`);
  if (!Number.isInteger(w.step) || w.step < 0 || w.step > 0xffff_ffff) throw new RangeError(`step ${w.step} is not a u32`);
  if (w.checksum.length !== CHECKSUM_BYTES) throw new RangeError(`checksum must be ${CHECKSUM_BYTES} bytes, got ${w.checksum.length}`);
  const head = DOMAIN_BYTES.length + 1 + RUN_ID_BYTES + 4;
  const msg = new Uint8Array(head + w.held.length + CHECKSUM_BYTES);
  msg.set(DOMAIN_BYTES, 0);
  msg.set(w.runId, DOMAIN_BYTES.length + 1);
  new DataView(msg.buffer).setUint32(head - 4, w.step, true);
  msg.set(w.held, head);
  msg.set(w.checksum, head + w.held.length);
  return msg;
}

export function signWitness(w: WitnessContent, secretKey: Uint8Array): Uint8Array {
  return ed25519.sign(witnessMessage(w), secretKey);
}

/** Strict RFC 8032 check, as verifyCommitment; malformed input from the network gives false. */
export function verifyWitness(w: WitnessContent, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return false;
  try {
    return ed25519.verify(signature, witnessMessage(w), publicKey, { zip215: false });
  } catch {
    return false;
  }
}
