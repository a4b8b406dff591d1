/**
 * The verifier's score (docs/verification.md "The score"): how an update's
 * kept coefficients agree in sign with the verifier's own update of the same
 * round. Both were trained from the same parameters on the same kind of data,
 * and honest DeMo updates of one round agree in sign on almost every
 * coefficient they share (measured on tinyDemo: 89 % or more of the shared
 * coefficients for 95 % of honest pairs), while made-up signs agree on half.
 *
 * The score is a z-statistic in hundredths of a standard deviation:
 *
 *   score = 100 · (same − opposite) / √(shared + 1)
 *
 * Under "the signs are made up" same − opposite is a sum of `shared` fair ±1
 * coins, so the score is about N(0, 100) whatever the overlap; an honest pair
 * lands at 100·agreement·√shared (measured: min 355, median 1000+). A fixed
 * threshold therefore means the same false-pass rate for a garbage update on
 * every model and top-k, which a share of the update's size (the first score
 * tried) did not: with a few hundred kept coefficients a tab whose honest
 * update shared few coefficients with the verifier's sat at the threshold.
 * The +1 keeps an update that shares nothing at 0.
 *
 * It needs no gradient, so verifying costs a decode and a merge of two
 * sorted key lists, not a forward and backward pass. Copies and replays,
 * which would agree perfectly, are the coordinator's exact check's job.
 */
import { indexOverlap, overlap, updateKeys } from './overlap';
import type { ClientUpdate } from '../protocol/update-codec';

/** The largest score on the wire (10 σ): Score's range is [−1000, 1000]. */
export const MAX_SCORE = 1000;

/** 100 · (same − opposite) / √(shared + 1) over shared (tensor, block, index), rounded and clamped to ±MAX_SCORE. */
export function agreementScore(candidate: Pick<ClientUpdate, 'tensors'>, own: Pick<ClientUpdate, 'tensors'>): number {
  const a = updateKeys(candidate);
  const b = updateKeys(own);
  const m = Math.min(a.length, b.length);
  // overlap and indexOverlap are shares of m: same = overlap·m, shared = indexOverlap·m.
  const same = Math.round(overlap(a, b) * m);
  const shared = Math.round(indexOverlap(a, b) * m);
  const z = (2 * same - shared) / Math.sqrt(shared + 1);
  return Math.max(-MAX_SCORE, Math.min(MAX_SCORE, Math.round(100 * z)));
}
