/**
 * What the Network page holds of the run's history, and how the answers of
 * /api/history and the events of /api/events change it (src/net/history.ts
 * has their shapes). Pure: the hook (useNetwork.ts) does the fetching.
 */
import type { EpochHistory, HistoryResponse, Leaderboard, LiveEvent, LiveStatus, RoundHistory } from '../../net/history';

/** Most rounds the page keeps (the charts' span); older ones fall off as new ones arrive. */
export const KEEP_ROUNDS = 5000;

export interface NetworkData {
  /** Ascending by step, no duplicates, at most KEEP_ROUNDS. */
  rounds: RoundHistory[];
  epochs: EpochHistory[];
  leaderboard: Leaderboard | null;
  status: LiveStatus | null;
}

export const EMPTY_NETWORK: NetworkData = { rounds: [], epochs: [], leaderboard: null, status: null };

/** `have` and `add` merged by step (a step in `add` replaces the one in `have`), the newest `keep`. */
export function mergeRounds(have: readonly RoundHistory[], add: readonly RoundHistory[], keep = KEEP_ROUNDS): RoundHistory[] {
  if (add.length === 0) return have as RoundHistory[];
  const last = have.at(-1);
  // The usual case: one new round after the others.
  const merged =
    last !== undefined && add.every((r, i) => r.step > (i === 0 ? last.step : add[i - 1].step))
      ? [...have, ...add]
      : [...new Map([...have, ...add].map((r) => [r.step, r])).values()].sort((a, b) => a.step - b.step);
  return merged.length > keep ? merged.slice(-keep) : merged;
}

/** The step the next history request starts from: after the newest round held, else the latest `keep` rounds of the run. */
export function historyStart(d: NetworkData, latestStep: number | null, keep = KEEP_ROUNDS): number {
  const last = d.rounds.at(-1);
  if (last !== undefined) return last.step + 1;
  return latestStep === null ? 0 : Math.max(0, latestStep - keep);
}

/**
 * One page of /api/history. Its status replaces the held one only when it is further along: a status event
 * that came while the request was under way is newer.
 */
export function applyHistory(d: NetworkData, res: HistoryResponse, keep = KEEP_ROUNDS): NetworkData {
  return {
    rounds: mergeRounds(d.rounds, res.rounds, keep),
    epochs: res.epochs,
    leaderboard: res.leaderboard,
    status: d.status === null || res.status.step > d.status.step ? res.status : d.status,
  };
}

export function applyEvent(d: NetworkData, e: LiveEvent, keep = KEEP_ROUNDS): NetworkData {
  switch (e.event) {
    case 'round':
      return { ...d, rounds: mergeRounds(d.rounds, [e.data], keep) };
    case 'status':
      return { ...d, status: e.data };
    case 'leaderboard':
      return { ...d, leaderboard: e.data };
    case 'epochs':
      return { ...d, epochs: e.data };
  }
}

/** Rounds per minute over the `window` rounds up to index `i` (by their end times); null before two rounds. */
export function roundsPerMinuteAt(rounds: readonly RoundHistory[], i: number, window = 10): number | null {
  const first = Math.max(0, i - window);
  if (i <= first) return null;
  const span = rounds[i].endedAt - rounds[first].endedAt;
  return span > 0 ? ((i - first) * 60_000) / span : null;
}
