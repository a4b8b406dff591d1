/**
 * The verifier's score (docs/verification.md "The score"): how an update's
 * kept coefficients agree in sign with the round's trusted updates — the
 * verifier's own and those of other members past probation that it holds.
 * All were trained from the same parameters on the same kind of data, and
 * honest DeMo updates of one round mostly agree in sign on the coefficients
 * they share, while made-up signs agree on half.
 *
 * The score is a matched-filter z-statistic in hundredths of a standard
 * deviation. With w the sum of the references' signs at each of the
 * candidate's coefficients (0 where none kept it) and s the candidate's signs:
 *
 *   score = 100 · Σ s·w / √(Σ w² + 1)
 *
 * Under "the signs are made up" Σ s·w is a sum of independent ±w, so the
 * score is about N(0, 100) whatever the overlap and however many references
 * there are. With one reference it is 100 · (same − opposite) / √(shared + 1),
 * the pairwise score the first builds used. Why more than one: a single
 * honest pair late in a run can agree on few coefficients by chance
 * (measured: honest pairs' p1 fell to ~150 after round 30 of tinyDemo, and
 * 1.5 % of honest updates were excluded), while the sum over several
 * references averages that chance out; a reference that is itself garbage
 * only adds noise to w.
 *
 * It needs no gradient, so verifying costs decodes and merges of sorted key
 * lists, not a forward and backward pass. Copies and replays, which would
 * agree perfectly, are the coordinator's exact check's job.
 */
import { updateKeys } from './overlap';
import type { ClientUpdate } from '../protocol/update-codec';

/** The largest score on the wire (10 σ): Score's range is [−1000, 1000]. */
export const MAX_SCORE = 1000;

type Tensors = Pick<ClientUpdate, 'tensors'>;

/** 100 · Σ s·w / √(Σ w² + 1) over the candidate's coefficients, rounded and clamped to ±MAX_SCORE. */
export function agreementScore(candidate: Tensors, references: Tensors[]): number {
  return agreementScoreOfKeys(updateKeys(candidate), references.map(updateKeys));
}

/** agreementScore on updateKeys' sorted keys (a verifier scoring many candidates computes each reference's keys once). */
export function agreementScoreOfKeys(candidate: Float64Array, references: Float64Array[]): number {
  const w = new Float64Array(candidate.length);
  for (const ref of references) addSigns(candidate, ref, w);
  let dot = 0;
  let norm = 0;
  for (let i = 0; i < candidate.length; i++) {
    dot += signOf(candidate[i]) * w[i];
    norm += w[i] * w[i];
  }
  const z = dot / Math.sqrt(norm + 1);
  return Math.max(-MAX_SCORE, Math.min(MAX_SCORE, Math.round(100 * z)));
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
