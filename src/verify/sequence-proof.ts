/**
 * Sequence proofs (docs/verification.md "Recomputation"): with its update a
 * tab sends, for every sequence of its assigned range, a sketch of that
 * sequence's gradient (src/kernels/sketch/grad-sketch.ts: SKETCH_ROWS
 * random-sign projections of the whole gradient, seeded by the step). A
 * verifier recomputes the gradient of the sequence the draw gave it, on the
 * same pre-round parameters, and compares sketches. A sketch cannot be made
 * without the gradient it projects, and the draw comes after the commit, so a
 * tab that skipped sequences, trained on others or copied someone's update
 * fails for each sequence it did not compute.
 */
import { PROOF_ROWS, type ClientUpdate } from '../protocol/update-codec';

/** Errors are reported up to this (a claimed sketch may be anything). */
export const PROOF_ERROR_CAP = 1_000_000;

/** The sketch the update claims for the sequence at `offset` in its range. */
export function claimedSketch(update: ClientUpdate, offset: number): Float32Array {
  if (!Number.isInteger(offset) || offset < 0 || offset >= update.batchCount) {
    throw new RangeError(`sequence offset ${offset} is outside the update's ${update.batchCount} sequences`);
  }
  return update.proof.subarray(offset * PROOF_ROWS, (offset + 1) * PROOF_ROWS);
}

/** Per-mille relative error of a claimed sketch against the recomputed one, rounded up; a zero recomputation matches only zeros. */
export function proofErrorPermille(claimed: ArrayLike<number>, recomputed: ArrayLike<number>): number {
  if (claimed.length !== recomputed.length) throw new RangeError(`sketches of ${claimed.length} and ${recomputed.length} rows`);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < claimed.length; i++) {
    diff += (claimed[i] - recomputed[i]) ** 2;
    norm += recomputed[i] ** 2;
  }
  if (norm === 0) return diff === 0 ? 0 : Number.POSITIVE_INFINITY;
  return Math.ceil((1000 * Math.sqrt(diff)) / Math.sqrt(norm));
}
