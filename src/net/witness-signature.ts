/**
 * The signature on a witness report (docs/run.md "Events", docs/design.md §6): a
 * client signs which of the round's payloads it holds, its parameter
 * checksum and its verifier scores, so the coordinator can later show who
 * vouched for what and who scored what.
 *
 * Signed bytes:
 *   off  size  field
 *     0    18  ASCII "tessera-witness-v2"
 *    18     1  0x00 (ends the tag; no tag of ours is a prefix of another)
 *    19    16  run id
 *    35     4  step, u32 little-endian
 *    39     2  h, the held bitmap's length in bytes, u16 little-endian
 *    41     h  held bitmap, ⌈slots/8⌉ bytes, LSB-first
 *  41+h     8  parameter checksum (the 16 hex digits as 8 bytes)
 *  49+h     2  n, the number of scores, u16 little-endian
 *  51+h    4n  per score: slot u16 LE, score i16 LE (per-mille)
 *
 * Every variable part is preceded by its length, so the bytes parse one way only.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../protocol/commitment';
import { RUN_ID_BYTES } from '../protocol/update-codec';

export const WITNESS_SIGNATURE_DOMAIN = 'tessera-witness-v2';
export const CHECKSUM_BYTES = 8;

const DOMAIN_BYTES = new TextEncoder().encode(WITNESS_SIGNATURE_DOMAIN);

export interface WitnessContent {
  runId: Uint8Array;
  step: number;
  held: Uint8Array;
  checksum: Uint8Array;
  scores: readonly { slot: number; score: number }[];
}

/** The exact bytes that get signed (layout in the header comment). */
export function witnessMessage(w: WitnessContent): Uint8Array {
  if (w.runId.length !== RUN_ID_BYTES) throw new RangeError(`run id must be ${RUN_ID_BYTES} bytes, got ${w.runId.length}`);
  if (!Number.isInteger(w.step) || w.step < 0 || w.step > 0xffff_ffff) throw new RangeError(`step ${w.step} is not a u32`);
  if (w.checksum.length !== CHECKSUM_BYTES) throw new RangeError(`checksum must be ${CHECKSUM_BYTES} bytes, got ${w.checksum.length}`);
  if (w.held.length > 0xffff || w.scores.length > 0xffff) throw new RangeError('held bitmap or score list too long to sign');
  for (const { slot, score } of w.scores) {
    if (!Number.isInteger(slot) || slot < 0 || slot > 0xffff) throw new RangeError(`score slot ${slot} is not a u16`);
    if (!Number.isInteger(score) || score < -1000 || score > 1000) throw new RangeError(`score ${score} is not an integer per-mille`);
  }
  const head = DOMAIN_BYTES.length + 1 + RUN_ID_BYTES + 4;
  const msg = new Uint8Array(head + 2 + w.held.length + CHECKSUM_BYTES + 2 + 4 * w.scores.length);
  const view = new DataView(msg.buffer);
  msg.set(DOMAIN_BYTES, 0);
  msg.set(w.runId, DOMAIN_BYTES.length + 1);
  view.setUint32(head - 4, w.step, true);
  view.setUint16(head, w.held.length, true);
  msg.set(w.held, head + 2);
  let at = head + 2 + w.held.length;
  msg.set(w.checksum, at);
  at += CHECKSUM_BYTES;
  view.setUint16(at, w.scores.length, true);
  at += 2;
  for (const { slot, score } of w.scores) {
    view.setUint16(at, slot, true);
    view.setInt16(at + 2, score, true);
    at += 4;
  }
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
