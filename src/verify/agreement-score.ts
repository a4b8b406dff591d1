/**
 * The verifier's score (docs/verification.md "The score"): how an update's
 * kept coefficients agree in sign with the round's trusted updates — the
 * verifier's own and those of other members past probation that it holds.
 * All were trained from the same parameters on the same kind of data, and
 * honest DeMo updates of one round mostly agree in sign on the coefficients
 * they share, while made-up signs agree on half.
 *
 * A matched-filter z-statistic in hundredths of a standard deviation. With w
 * the sum of the references' signs at each of the candidate's coefficients
 * (0 where none kept it) and s the candidate's signs:
 *
 *   score = 100 · Σ s·w / √(Σ w² + 1)
 *
 * If the signs are fair coins it is about N(0, 100) whatever the overlap and
 * however many references there are. With one reference it is
 * 100 · (same − opposite) / √(shared + 1), the pairwise score of the first
 * builds, which excluded 15 of 1000 honest client-rounds (a single honest
 * pair late in a run can agree on few coefficients by chance); the sum over
 * several references averages that out. A reference that is itself garbage
 * only adds noise to w.
 *
 * It says nothing about whether the update was trained at all: copies,
 * replays, other data and skipped sequences are the coordinator's exact
 * check's and the proofs' job (src/verify/sequence-proof.ts). Signs chosen to
 * follow the references' lean (all +1 where honest updates lean to +1) score
 * well too; a variant centred per tensor rejected those but excluded honest
 * updates whose agreement was mostly that lean, and once the proofs reject
 * every update whose author did not do the work, such signs can only come
 * from an author who trained honestly and then threw its result away.
 */
import { updateKeys } from './overlap';
import type { ClientUpdate } from '../protocol/update-codec';

/** The largest score on the wire (10 σ): Score's range is [−1000, 1000]. */
export const MAX_SCORE = 1000;

type Tensors = Pick<ClientUpdate, 'tensors'>;

/** The score of `candidate` against `references` (see above), rounded and clamped to ±MAX_SCORE. */
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
  const score = (100 * dot) / Math.sqrt(norm + 1);
  return Math.max(-MAX_SCORE, Math.min(MAX_SCORE, Math.round(score)));
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
