/** A tab's verifier duty and standing (docs/verification.md), read from the coordinator's state. */
import type { Check, ClientId, Round, RunState } from '../run/types';
import type { RunConfig } from '../run/run-config';
import { onProbation } from '../run/verification';

export function myChecks(round: Round, me: ClientId): Check[] {
  return (round.checks ?? []).filter((c) => c.verifiers.includes(me));
}

/**
 * The slots of the round whose updates a verifier may score against
 * (src/verify/references.ts): committed by members past probation that have
 * no strike, so a swarm of new keys, or a client already caught once, cannot
 * bend the sum that honest updates are measured by.
 */
export function trustedSlots(config: RunConfig, s: RunState, round: Round): number[] {
  return round.slots.flatMap((id, slot) => {
    const c = s.clients[id];
    const trusted = round.commitments[slot] !== null && c !== undefined && c.status === 'member' && c.strikes === 0 && !onProbation(config, c);
    return trusted ? [slot] : [];
  });
}

/** This tab's standing as the coordinator's state shows it (the Contribute page and `tessera.run.state()`). */
export interface Standing {
  /** Checked rounds passed; probation ends at probationRounds. */
  verifiedRounds: number;
  probation: boolean;
  /** Passed checks that end probation (the run's config). */
  probationRounds: number;
  /** Drawn to verify someone's update in the current round. */
  verifier: boolean;
  /** Joined, but a round started without it: newcomers on probation enter a few at a time (admitProbation). */
  waiting: boolean;
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
    probationRounds: config.verification.probationRounds,
    verifier: s?.round ? myChecks(s.round, me).length > 0 : false,
    waiting: c.status === 'joining' && s.round !== null && s.phase !== 'Cooldown',
    strikes: c.strikes,
    held: c.unvested.reduce((sum, u) => sum + u.amount, 0),
    vested: c.points,
    forfeited: c.forfeited,
    ejected: c.status === 'ejected',
  };
}
