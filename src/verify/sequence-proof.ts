/**
 * Proofs of training (docs/verification.md "Recomputation"): with its update
 * a tab sends, for each unit of its assigned range (consecutive sequences, at
 * most MAX_PROOF_UNITS of them: src/protocol/update-codec.ts), a sketch of
 * the summed gradient of the unit's sequences (src/kernels/sketch/grad-sketch.ts:
 * SKETCH_ROWS random-sign projections of the whole gradient, seeded by the
 * step). A verifier recomputes the unit the draw gave it, on the same
 * pre-round parameters, and compares sketches. A sketch cannot be made
 * without the gradient it projects, and the draw comes after the commit, so a
 * tab that skipped sequences, trained on others or copied someone's update
 * fails for each unit it did not compute.
 */
import { PROOF_ROWS, proofUnits, unitSizeFor, unitSizeOf, type ClientUpdate } from '../protocol/update-codec';

/** Errors are reported up to this (a claimed sketch may be anything). */
export const PROOF_ERROR_CAP = 1_000_000;

/**
 * Unit u of a range of `count` sequences in units of `unitSize`: offsets
 * [start, start + count) within the range. Every unit but the last holds
 * unitSize; the last ends at the count (a tab that trained until its time box
 * ended stopped inside it).
 */
export function unitRange(count: number, u: number, unitSize = unitSizeFor(count)): { start: number; count: number } {
  const units = proofUnits(count, unitSize);
  if (!Number.isInteger(u) || u < 0 || u >= units) throw new RangeError(`unit ${u} is outside the ${units} proofs of ${count} sequences`);
  const start = u * unitSize;
  return { start, count: Math.min(unitSize, count - start) };
}

/** Unit u of the update's range. */
export function updateUnit(update: Pick<ClientUpdate, 'batchCount' | 'unitSize'>, u: number): { start: number; count: number } {
  return unitRange(update.batchCount, u, unitSizeOf(update));
}

/** The sketch the update claims for unit u of its range. */
export function claimedSketch(update: ClientUpdate, u: number): Float32Array {
  updateUnit(update, u);
  return update.proof.subarray(u * PROOF_ROWS, (u + 1) * PROOF_ROWS);
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
