/**
 * The run state machine's state, events and effects (docs/run.md). Plain JSON
 * data: the server stores `JSON.stringify(state)` after every step, and a
 * restarted server continues from `JSON.parse` of it.
 */
import type { RunConfig } from './run-config';

export type Phase = 'WaitingForMembers' | 'Warmup' | 'RoundTrain' | 'RoundWitness' | 'Cooldown' | 'Paused' | 'Finished';

/** Hex of an ed25519 public key (64 chars); the client's identity. */
export type ClientId = string;

export interface ClientRecord {
  id: ClientId;
  /**
   * joining: waits for the next round start; member: trains; gone: left or
   * dropped (kept for its points); ejected: struck out, its key is refused.
   */
  status: 'joining' | 'member' | 'gone' | 'ejected';
  /** Order of joining, so members keep a stable order across rounds. */
  joinSeq: number;
  /** Rounds in a row without an agreed update of its own. */
  missedRounds: number;
  /** Vested points: what the ledger holds and the wallet can claim. */
  points: number;
  /** Updates of this client that were agreed. */
  agreedUpdates: number;
  /** Agreed updates that a verifier committee checked and passed; probation lasts until probationRounds of them. */
  verifiedRounds: number;
  /** Failed checks (copies, failed verification, contradicting verdicts); maxStrikes of them eject the key. */
  strikes: number;
  /** Verdicts of this client that contradicted the committee's decision since its last verifier strike. */
  contradictions: number;
  /** Points earned but not vested yet, oldest first: each vests vestingRounds after its step unless a strike forfeits it. */
  unvested: { step: number; amount: number }[];
  /** Points lost to strikes. */
  forfeited: number;
  /**
   * Thousandths of a sequence per second: a moving average of its commits'
   * sequences over their time from the round's start, on the coordinator's
   * clock (src/run/pace-shares.ts); null until its first commit in this
   * session. Sizes its share of the batch when the run shares by pace.
   */
  pace: number | null;
}

/** One update the round checks: its slot and the clients assigned to score it (never its author). */
export interface Check {
  slot: number;
  verifiers: ClientId[];
  /**
   * Aligned with verifiers: the proof unit of the author's range (a group of
   * its sequences, src/verify/sequence-proof.ts unitRange) whose gradient
   * that verifier recomputes against the update's proof. Distinct while the
   * range has enough units.
   */
  units: number[];
}

/** A verifier's score for one checked slot, an integer in [-1000, 1000] (src/verify/agreement-score.ts: hundredths of a σ). */
export interface Score {
  slot: number;
  score: number;
}

export interface Assignment {
  /** First sequence index (virtual, taken mod the dataset's sequence count by clients). */
  start: number;
  /** Sequences to train; with a time box (trainTimeBox) the most the member may train. */
  count: number;
}

export interface WitnessReport {
  /** Hex bitmap over the round's slots, LSB-first: bit i of byte ⌊i/8⌋ = holds slot i's payload. */
  held: string;
  /** Parameter checksum before this round's apply (16 hex). */
  checksum: string;
  /** Scores for the checked slots this client verifies. */
  scores: Score[];
}

/** The largest overlap (per-mille) of an update's (tensor, block, index) set with an earlier update of the run, and that one's hash. */
export interface CommitOverlap {
  permille: number;
  with: string;
}

export interface Round {
  step: number;
  /** Hex SHA-256 of (runId bytes ‖ u32 LE step). */
  seed: string;
  /** Client ids in slot order. */
  slots: ClientId[];
  /** Per slot, in slot order. */
  assignments: Assignment[];
  /** u32 bits of Math.fround(lr(step)): every client uses exactly this η. */
  lrBits: number;
  /** Per slot: hex SHA-256 of the update bytes, or null before/without a commit. */
  commitments: (string | null)[];
  /**
   * Per slot: the sequences its committed update trained, from its
   * assignment's start (the whole assignment unless the run time-boxes
   * rounds), or null before a commit.
   */
  trained: (number | null)[];
  /** Per slot: the slot's witness report, or null. */
  witnesses: (WitnessReport | null)[];
  /** Per slot: why the coordinator's exact checks failed its update (a copy, decided when commits close: copy-rule.ts), or null. */
  copies: (string | null)[];
  /** Per slot: what the coordinator's copy check measured at its commit (null before a commit, or with nothing to compare). */
  overlaps: (CommitOverlap | null)[];
  /** The updates to verify and their verifiers, drawn when commits close (null until then, so no author knows in advance). */
  checks: Check[] | null;
  startedAt: number;
  /**
   * The rounds [0, base) whose agreed sets the parameters this round trains
   * from hold: `step` when rounds run one after the other, `step - 1` when
   * it started while the round before was still being witnessed (pipelined
   * rounds, docs/design.md §11). Its verifiers recompute at those parameters
   * and its witnesses report their checksum.
   */
  base: number;
  /** When its commits closed (null before): the clock of its witness stage while the next round already trains. */
  closedAt: number | null;
}

export interface RunState {
  /** Bumped when the layout of this object changes. */
  version: 2;
  phase: Phase;
  /** When the current phase began (ms), the clock of its timeout. */
  phaseStartedAt: number;
  /** The phase that `resume` returns to. */
  pausedFrom: Phase | null;
  epoch: number;
  epochStartedAt: number;
  /** First step of the current epoch (its checkpoint holds the parameters before it). */
  epochStartStep: number;
  /** The step of the current or next round; rounds [0, step) are done. */
  step: number;
  /** Next unassigned virtual sequence index. */
  dataCursor: number;
  tokensSeen: number;
  nextJoinSeq: number;
  clients: Record<ClientId, ClientRecord>;
  /** The round that trains (RoundTrain) or is witnessed (RoundWitness). */
  round: Round | null;
  /**
   * Pipelined runs only: the round before `round`, whose commits closed and
   * whose witnesses are still coming in while `round` trains. Its step is
   * `step - 1`; rounds [0, step - 1) are done while it is set.
   */
  witnessing: Round | null;
}

export type RunEvent =
  | { type: 'join'; clientId: ClientId; now: number }
  | { type: 'leave'; clientId: ClientId; now: number }
  /** `overlap`: the largest overlap (per-mille) of this update's (tensor, block, index) set with an earlier update of the run, and that one's hash. */
  /** `count`: the sequences the update trained (its header's batch count); the whole assignment when left out. */
  | { type: 'commit'; clientId: ClientId; step: number; hash: string; count?: number; overlap: CommitOverlap | null; now: number }
  | { type: 'witness'; clientId: ClientId; step: number; held: string; checksum: string; scores: Score[]; now: number }
  /** The coordinator's secret salt for this round's checks, revealed once commits close. */
  | { type: 'draw'; step: number; salt: string; now: number }
  | { type: 'tick'; now: number }
  | { type: 'pause'; now: number }
  | { type: 'resume'; now: number }
  | { type: 'recovered'; now: number };

export type Effect =
  | { type: 'phase'; from: Phase; to: Phase; step: number; epoch: number }
  | { type: 'roundStarted'; round: Round }
  /**
   * `checksum`: the checksum of the parameters the round trained from (after rounds [0, `base`)) that its witnesses
   * agree on (the majority, weighted as for resyncs), or null when nobody witnessed; a client-made checkpoint of step
   * `base` must have it.
   */
  | { type: 'agreed'; step: number; epoch: number; slots: number[]; clients: ClientId[]; hashes: string[]; lrBits: number; excluded: Exclusion[]; checksum: string | null; base: number }
  /** Points that vested now, for the round `step` in which they were earned. */
  | { type: 'points'; clientId: ClientId; step: number; amount: number }
  | { type: 'verdict'; step: number; slot: number; clientId: ClientId; scores: (Score & { verifier: ClientId })[]; median: number | null; pass: boolean | null }
  | { type: 'strike'; clientId: ClientId; step: number; reason: string; strikes: number }
  | { type: 'forfeited'; clientId: ClientId; step: number; amount: number }
  | { type: 'ejected'; clientId: ClientId; step: number; reason: string }
  | { type: 'resync'; clientId: ClientId; step: number; checksum: string }
  | { type: 'dropped'; clientId: ClientId; step: number; reason: string }
  | { type: 'epochEnd'; epoch: number; step: number }
  | { type: 'finished'; step: number }
  /** `event` is 'unknown' when the input was not an event at all. */
  | { type: 'rejected'; clientId: ClientId | null; event: RunEvent['type'] | 'unknown'; reason: string };

/** A committed update left out of the agreed set, and why. */
export interface Exclusion {
  slot: number;
  clientId: ClientId;
  reason: string;
}

export interface StepResult {
  state: RunState;
  effects: Effect[];
}

export type { RunConfig };
