/**
 * The verifier's score (docs/verification.md "The score"): how an update's
 * kept coefficients agree in sign with the round's trusted updates — the
 * verifier's own and those of other members past probation that it holds.
 * All were trained from the same parameters on the same kind of data, and
 * honest DeMo updates of one round mostly agree in sign on the coefficients
 * they share, while made-up signs agree on half.
 *
 * Two matched-filter z-statistics in hundredths of a standard deviation.
 * With w the sum of the references' signs at each of the candidate's
 * coefficients (0 where none kept it) and s the candidate's signs:
 *
 *   u = 100 · Σ s·w / √(Σ w² + 1)
 *   c = 100 · Σ cov_t / √(Σ var_t + 1), per tensor t over its n coefficients:
 *       cov_t = Σ s·w − (Σ s)(Σ w)/n
 *       var_t = (n − (Σ s)²/n) · (Σ w² − (Σ w)²/n) / (n − 1)
 *   score = min(u, c + CENTRED_MARGIN)
 *
 * If the signs are fair coins both are about N(0, 100) whatever the overlap
 * and however many references there are, so the score is at most that. c is
 * a permutation test, stratified by tensor, of "the signs are unrelated to
 * the references'" for any mix of signs: constant signs give c = 0, so they
 * score at most CENTRED_MARGIN. u alone let all +1 at an honest update's
 * indices pass 71 % of rounds (honest updates lean to one sign in places,
 * and the sum over references amplifies the lean); c alone excluded 7 of
 * 1000 honest client-rounds against u's 2, because part of an honest
 * update's agreement is that shared lean (scripts/verify-sim.ts, 100 rounds ×
 * 10 replicas). With one reference u is 100 · (same − opposite) /
 * √(shared + 1), the pairwise score of the first builds; one reference
 * excluded 15 of those 1000, since a single honest pair late in a run can
 * agree on few coefficients by chance, which the sum over several
 * references averages out. A reference that is itself garbage only adds
 * noise to w.
 *
 * It needs no gradient, so verifying costs decodes and merges of sorted key
 * lists, not a forward and backward pass. Copies and replays, which would
 * agree perfectly, are the coordinator's exact check's job.
 */
import { INDEX_RANGE, updateKeys } from './overlap';
import type { ClientUpdate } from '../protocol/update-codec';

/** The largest score on the wire (10 σ): Score's range is [−1000, 1000]. */
export const MAX_SCORE = 1000;

type Tensors = Pick<ClientUpdate, 'tensors'>;

/** The score of `candidate` against `references` (see above), rounded and clamped to ±MAX_SCORE. */
export function agreementScore(candidate: Tensors, references: Tensors[]): number {
  return agreementScoreOfKeys(updateKeys(candidate), references.map(updateKeys), tensorBlockStarts(candidate));
}

/** The first global block number of each tensor, in wire order (updateKeys numbers blocks across tensors). */
export function tensorBlockStarts(update: Tensors): number[] {
  const starts: number[] = [];
  let block = 0;
  for (const t of update.tensors) {
    starts.push(block);
    block += t.k > 0 ? t.indices.length / t.k : 0;
  }
  return starts;
}

/**
 * agreementScore on updateKeys' sorted keys (a verifier scoring many
 * candidates computes each reference's keys once); `starts` are
 * tensorBlockStarts, the same for every update of a run.
 */
export function agreementScoreOfKeys(candidate: Float64Array, references: Float64Array[], starts: readonly number[]): number {
  const w = new Float64Array(candidate.length);
  for (const ref of references) addSigns(candidate, ref, w);
  const score = Math.min(uncentred(candidate, w), centred(candidate, w, starts) + CENTRED_MARGIN);
  return Math.max(-MAX_SCORE, Math.min(MAX_SCORE, Math.round(score)));
}

/**
 * How far the centred score may sit below the uncentred one: constant signs
 * centre to exactly 0, so they score at most this, below the default pass
 * line of 250, while honest updates (centred medians mostly above 250) keep
 * their uncentred score.
 */
export const CENTRED_MARGIN = 200;

/** 100 · Σ s·w / √(Σ w² + 1). */
function uncentred(candidate: Float64Array, w: Float64Array): number {
  let dot = 0;
  let norm = 0;
  for (let i = 0; i < candidate.length; i++) {
    dot += signOf(candidate[i]) * w[i];
    norm += w[i] * w[i];
  }
  return (100 * dot) / Math.sqrt(norm + 1);
}

/** 100 · Σ cov_t / √(Σ var_t + 1), tensor by tensor. */
function centred(candidate: Float64Array, w: Float64Array, starts: readonly number[]): number {
  let cov = 0;
  let variance = 0;
  let i = 0;
  for (let t = 0; t < starts.length && i < candidate.length; t++) {
    const end = t + 1 < starts.length ? starts[t + 1] : Infinity;
    let n = 0;
    let sumS = 0;
    let sumW = 0;
    let sumSW = 0;
    let sumWW = 0;
    for (; i < candidate.length && blockOf(candidate[i]) < end; i++, n++) {
      const sign = signOf(candidate[i]);
      sumS += sign;
      sumW += w[i];
      sumSW += sign * w[i];
      sumWW += w[i] * w[i];
    }
    if (n < 2) continue;
    cov += sumSW - (sumS * sumW) / n;
    variance += ((n - (sumS * sumS) / n) * (sumWW - (sumW * sumW) / n)) / (n - 1);
  }
  return (100 * cov) / Math.sqrt(variance + 1);
}

/** The global block of a key (overlap.ts: ((block · 4096 + index) · 2 + signBit)). */
function blockOf(key: number): number {
  return Math.floor(key / (2 * INDEX_RANGE));
}

/** A key's sign: its low bit is 1 for −1 (overlap.ts). */
function signOf(key: number): number {
  return key % 2 === 1 ? -1 : 1;
}

/** Adds ref's sign to w at each of candidate's coefficients that ref kept too (one merge of two sorted lists). */
function addSigns(candidate: Float64Array, ref: Float64Array, w: Float64Array): void {
  let i = 0;
  let j = 0;
  while (i < candidate.length && j < ref.length) {
    const x = Math.floor(candidate[i] / 2);
    const y = Math.floor(ref[j] / 2);
    if (x === y) w[i++] += signOf(ref[j++]);
    else if (x < y) i++;
    else j++;
  }
}
