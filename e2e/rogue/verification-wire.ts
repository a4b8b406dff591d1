/**
 * ─────────────────────────────────────────────────────────────────────────
 * THE ONE PLACE THE ROGUES KNOW ABOUT THE VERIFICATION WIRE CHANGE.
 *
 * The defended protocol (docs/verification.md, landing in src/net/ and
 * src/run/) gives the round `checks: {slot, verifiers}[]` (null until commits
 * close) and the witness message `scores: {slot, score}[]` (integer
 * per-mille in [-1000, 1000], one per checked slot this client verifies),
 * covered by the signature: signWitness({runId, step, held, checksum, scores}).
 *
 * The rogues run against either coordinator: a round that carries a `checks`
 * key speaks the new protocol, and only then does the witness carry scores
 * (the old server's strict schema refuses an unknown field). Once every
 * coordinator speaks it, SPEAKS_SCORES can be the constant `true`.
 * ─────────────────────────────────────────────────────────────────────────
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { ClientMessage } from '../../src/net/messages';
import { signWitness } from '../../src/net/witness-signature';
import type { Round } from '../../src/run/types';

export interface Check {
  slot: number;
  verifiers: string[];
}

export interface Score {
  slot: number;
  score: number;
}

/** Whether this round (from a `round` or `state` message) is of the verifying protocol. */
export const SPEAKS_SCORES = (round: Round): boolean => 'checks' in round;

/** The round's checks: who verifies which slot; [] before they are drawn or on the old protocol. */
export function roundChecks(round: Round): Check[] {
  return ((round as unknown as { checks?: Check[] | null }).checks ?? []).map((c) => ({ slot: c.slot, verifiers: [...c.verifiers] }));
}

/** Slots of this round that `verifier` was assigned to score. */
export function slotsToVerify(round: Round, verifier: string): number[] {
  return roundChecks(round)
    .filter((c) => c.verifiers.includes(verifier))
    .map((c) => c.slot);
}

/** A signed witness message, with scores when the round speaks the verifying protocol. */
export function witnessMessage(opts: {
  round: Round;
  runId: string;
  secretKey: Uint8Array;
  held: Uint8Array;
  checksum: string;
  scores: Score[];
}): ClientMessage {
  const withScores = SPEAKS_SCORES(opts.round);
  const scores = withScores ? opts.scores : [];
  // A variable, not a literal: the old WitnessContent has no `scores` (the old signWitness ignores it).
  const content = { runId: hexToBytes(opts.runId), step: opts.round.step, held: opts.held, checksum: hexToBytes(opts.checksum), scores };
  const signature = bytesToHex(signWitness(content, opts.secretKey));
  const msg = { type: 'witness', step: opts.round.step, held: bytesToHex(opts.held), checksum: opts.checksum, ...(withScores ? { scores } : {}), signature };
  return msg as unknown as ClientMessage;
}
