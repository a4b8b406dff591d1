/**
 * Error metrics for checking GPU kernels against float64 references.
 *
 * - maxAbsErr: max |got − ref|.
 * - maxAbsRef: max |ref|, so callers can express "≤ tol·max|ref|" bounds.
 * - maxRelErr: max of |got − ref| / (|ref| + 1e-30), taken only over elements
 *   with |ref| > 1e-6·maxAbsRef. Elements near zero are excluded because an
 *   fp32 result cannot match them to any relative tolerance; their error is
 *   still covered by maxAbsErr. If every |ref| is 0, maxRelErr is 0.
 * A NaN anywhere a finite value was expected reports Infinity for both errors,
 * so that every `err <= tol` check fails.
 */
export interface CompareResult {
  maxAbsErr: number;
  maxRelErr: number;
  maxAbsRef: number;
}

export function compareArrays(got: ArrayLike<number>, ref: ArrayLike<number>): CompareResult {
  if (got.length !== ref.length) {
    throw new RangeError(`compareArrays: got length ${got.length}, ref length ${ref.length}`);
  }
  let maxAbsRef = 0;
  for (let i = 0; i < ref.length; i++) maxAbsRef = Math.max(maxAbsRef, Math.abs(ref[i]));
  const relThreshold = 1e-6 * maxAbsRef;
  let maxAbsErr = 0;
  let maxRelErr = 0;
  for (let i = 0; i < ref.length; i++) {
    const err = elementError(got[i], ref[i]);
    maxAbsErr = Math.max(maxAbsErr, err);
    if (Math.abs(ref[i]) > relThreshold || !Number.isFinite(err)) {
      maxRelErr = Math.max(maxRelErr, err / (Math.abs(ref[i]) + 1e-30));
    }
  }
  return { maxAbsErr, maxRelErr, maxAbsRef };
}

function elementError(got: number, ref: number): number {
  if (Object.is(got, ref)) return 0;
  const err = Math.abs(got - ref);
  return Number.isNaN(err) ? Infinity : err;
}
