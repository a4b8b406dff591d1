/**
 * Central finite differences for checking float64 reference backwards.
 *
 * With h = 1e-5 in float64 the truncation error is O(h²·f''') ≈ 1e-10 and
 * the rounding error O(ε·|f|/h) ≈ 1e-11·|f|, so analytic gradients should
 * agree to ~1e-8 relative on O(1) data; tests assert 1e-6 for headroom.
 */

/** Numerical gradient of scalar f at x: (f(x+h·eᵢ) − f(x−h·eᵢ)) / 2h. x is not modified. */
export function numericalGradient(
  f: (x: Float64Array) => number,
  x: Float64Array,
  h = 1e-5,
): Float64Array {
  const probe = Float64Array.from(x);
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const xi = probe[i];
    probe[i] = xi + h;
    const plus = f(probe);
    probe[i] = xi - h;
    const minus = f(probe);
    probe[i] = xi;
    grad[i] = (plus - minus) / (2 * h);
  }
  return grad;
}

/** sum(out ∘ r): a random scalar projection, whose gradient w.r.t. out is r. */
export function projectionLoss(out: ArrayLike<number>, r: ArrayLike<number>): number {
  if (out.length !== r.length) throw new RangeError(`projectionLoss: length ${out.length} vs ${r.length}`);
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i] * r[i];
  return s;
}

/**
 * Max over i of |analytic − numeric| / max(|numericᵢ|, floor·max|numeric|).
 * Relative per element, except that entries far below the array's scale are
 * judged against that scale: FD noise is absolute, so a tiny true gradient
 * cannot be matched to 1e-6 of itself.
 */
export function gradientRelError(
  analytic: ArrayLike<number>,
  numeric: ArrayLike<number>,
  floor = 1e-3,
): number {
  if (analytic.length !== numeric.length) {
    throw new RangeError(`gradientRelError: length ${analytic.length} vs ${numeric.length}`);
  }
  let scale = 0;
  for (let i = 0; i < numeric.length; i++) scale = Math.max(scale, Math.abs(numeric[i]));
  const minDenom = Math.max(floor * scale, 1e-300);
  let worst = 0;
  for (let i = 0; i < numeric.length; i++) {
    const err = Math.abs(analytic[i] - numeric[i]) / Math.max(Math.abs(numeric[i]), minDenom);
    // NaN must fail the check, and Math.max would propagate it silently.
    worst = Number.isNaN(err) ? Infinity : Math.max(worst, err);
  }
  return worst;
}
