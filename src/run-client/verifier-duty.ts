/**
 * A tab's verifier duty (docs/verification.md): which of the round's checks
 * it was drawn for, which of each author's sequences it samples and which
 * unassigned sequences serve as the control. The samples come from the tab's
 * own randomness: an author cannot know which of its sequences a verifier
 * will look at, so training on only some of them is a gamble at every check.
 */
import type { Assignment, Check, ClientId, Round, RunState } from '../run/types';
import type { RunConfig } from '../run/run-config';

/** Sequences sampled from the author's range per checked update. */
export const SAMPLE_SEQUENCES = 1;
/** Sequences in the control sample. */
export const CONTROL_SEQUENCES = 1;
/** The control comes from this many sequences past the round's batch (nobody trains them this round). */
const CONTROL_SPREAD = 1 << 20;

export interface Range {
  start: number;
  count: number;
}

export function myChecks(round: Round, me: ClientId): Check[] {
  return (round.checks ?? []).filter((c) => c.verifiers.includes(me));
}

/** `count` consecutive sequences at a random offset in the author's range (all of it when shorter). */
export function sampleOf(a: Assignment, random: () => number, count = SAMPLE_SEQUENCES): Range {
  const n = Math.min(count, a.count);
  return { start: a.start + Math.floor(random() * (a.count - n + 1)), count: n };
}

/** A random range after every sequence assigned this round. */
export function controlOf(round: Round, random: () => number, count = CONTROL_SEQUENCES): Range {
  const end = Math.max(0, ...round.assignments.map((a) => a.start + a.count));
  return { start: end + Math.floor(random() * CONTROL_SPREAD), count };
}

/** Uniform in [0, 1) from the platform's cryptographic generator. */
export function cryptoRandom(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 32;
}

/** This tab's standing as the coordinator's state shows it (the Contribute page and `tessera.run.state()`). */
export interface Standing {
  /** Checked rounds passed; probation ends at probationRounds. */
  verifiedRounds: number;
  probation: boolean;
  /** Drawn to verify someone's update in the current round. */
  verifier: boolean;
  strikes: number;
  /** Earned, not vested yet. */
  held: number;
  vested: number;
  forfeited: number;
  ejected: boolean;
}

export function standingOf(config: RunConfig | null, s: RunState | null, me: ClientId): Standing | null {
  const c = s?.clients[me];
  if (!c || !config) return null;
  return {
    verifiedRounds: c.verifiedRounds,
    probation: c.verifiedRounds < config.verification.probationRounds,
    verifier: s?.round ? myChecks(s.round, me).length > 0 : false,
    strikes: c.strikes,
    held: c.unvested.reduce((sum, u) => sum + u.amount, 0),
    vested: c.points,
    forfeited: c.forfeited,
    ejected: c.status === 'ejected',
  };
}
