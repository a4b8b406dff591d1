/**
 * The run's history for the Network page (src/net/history.ts has the
 * shapes): what the coordinator knows of each ended round when it stores it
 * (roundFacts), the points leaderboard, the live status, and the answer of
 * GET /api/history.
 *
 * A round's row is written by Store.applyStep in the same transaction as its
 * `agreed` effect; its times come from the state before that step: the
 * round's startedAt, and the phase clock (phaseStartedAt) of RoundWitness. A
 * round whose witness phase was paused, or interrupted by a coordinator
 * restart, counts that time in its train time (`resume` and `recovered`
 * restart the phase clock).
 */
import { LEADERBOARD_SIZE, MAX_EPOCHS, type HistoryResponse, type Leaderboard, type LiveStatus } from '../src/net/history';
import type { RunConfig } from '../src/run/run-config';
import { trainedOf } from '../src/run/state-machine';
import type { Effect, RunState } from '../src/run/types';
import type { RoundFacts, Store } from './store';

/**
 * The facts of each round that `effects` end, from the state before the step. Only the round that was in
 * flight has them; a round started and ended within the same step (no members left) gets its times from `now`.
 */
export function roundFacts(config: RunConfig, before: RunState, effects: readonly Effect[], now: number): RoundFacts[] {
  const out: RoundFacts[] = [];
  let tokensSeen = before.tokensSeen;
  for (const e of effects) {
    if (e.type !== 'agreed') continue;
    const round = [before.witnessing, before.round].find((r) => r?.step === e.step) ?? null;
    const tokens = round === null ? 0 : trainedOf(round) * config.seqLen;
    tokensSeen += tokens;
    out.push({
      step: e.step,
      startedAt: round?.startedAt ?? now,
      // Still in RoundTrain before this step: the commits closed now, in the same step that ended the round.
      witnessStartedAt: round === null ? now : round === before.witnessing ? (round.closedAt ?? now) : before.phase === 'RoundWitness' ? before.phaseStartedAt : now,
      members: round?.slots.length ?? e.slots.length + e.excluded.length,
      tokens,
      tokensSeen,
    });
  }
  return out;
}

export function liveStatus(s: RunState): LiveStatus {
  let members = 0;
  let joining = 0;
  for (const c of Object.values(s.clients)) {
    if (c.status === 'member') members++;
    else if (c.status === 'joining') joining++;
  }
  return { phase: s.phase, epoch: s.epoch, step: s.step, members, joining, tokensSeen: s.tokensSeen };
}

/** Points per client (vested, then held), and per bound wallet over all its clients; the top LEADERBOARD_SIZE of each. */
export function leaderboard(s: RunState, wallets: ReadonlyMap<string, string>): Leaderboard {
  const rows = Object.values(s.clients).map((c) => ({
    id: c.id,
    status: c.status,
    points: c.points,
    held: c.unvested.reduce((sum, u) => sum + u.amount, 0),
    agreedUpdates: c.agreedUpdates,
    wallet: wallets.get(c.id) ?? null,
  }));
  const byPoints = <T extends { points: number; held: number }>(a: T, b: T) => b.points - a.points || b.held - a.held;
  const perWallet = new Map<string, { wallet: string; clients: number; points: number; held: number }>();
  for (const r of rows) {
    if (r.wallet === null) continue;
    const w = perWallet.get(r.wallet) ?? { wallet: r.wallet, clients: 0, points: 0, held: 0 };
    w.clients += 1;
    w.points += r.points;
    w.held += r.held;
    perWallet.set(r.wallet, w);
  }
  return {
    clients: rows.sort((a, b) => byPoints(a, b) || (a.id < b.id ? -1 : 1)).slice(0, LEADERBOARD_SIZE),
    wallets: [...perWallet.values()].sort((a, b) => byPoints(a, b) || (a.wallet < b.wallet ? -1 : 1)).slice(0, LEADERBOARD_SIZE),
  };
}

/** GET /api/history: rounds fromStep… (at most `limit`), with the epochs, the leaderboard and the status of now. */
export function historyResponse(store: Store, state: RunState, fromStep: number, limit: number): HistoryResponse {
  const rounds = store.roundsFrom(fromStep, limit);
  const last = rounds.at(-1);
  return {
    fromStep,
    nextStep: last === undefined ? fromStep : last.step + 1,
    more: last !== undefined && rounds.length === limit && store.hasRoundsAfter(last.step),
    rounds,
    epochs: store.epochs(MAX_EPOCHS),
    leaderboard: leaderboard(state, store.walletBindings()),
    status: liveStatus(state),
  };
}
