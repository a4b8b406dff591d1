/**
 * The verification part of the wire as a rogue uses it: which slots of a
 * round it was drawn to score (round.checks, null until commits close), and
 * its signed witness message with those scores (integer per-mille in
 * [-1000, 1000]), covered by the signature as an honest tab's are.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { ClientMessage } from '../../src/net/messages';
import { signWitness } from '../../src/net/witness-signature';
import type { Round } from '../../src/run/types';

export interface Score {
  slot: number;
  score: number;
}

/** Slots of this round that `verifier` was assigned to score. */
export function slotsToVerify(round: Round, verifier: string): number[] {
  return (round.checks ?? []).filter((c) => c.verifiers.includes(verifier)).map((c) => c.slot);
}

/** A signed witness message. */
export function witnessMessage(opts: { round: Round; runId: string; secretKey: Uint8Array; held: Uint8Array; checksum: string; scores: Score[] }): ClientMessage {
  const { round, held, checksum, scores } = opts;
  const signature = bytesToHex(signWitness({ runId: hexToBytes(opts.runId), step: round.step, held, checksum: hexToBytes(checksum), scores }, opts.secretKey));
  return { type: 'witness', step: round.step, held: bytesToHex(held), checksum, scores, signature };
}
