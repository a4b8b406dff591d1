/** Small statistics for the benchmark's figures. */

/**
 * The q-quantile (0 ≤ q ≤ 1) by linear interpolation between closest ranks
 * (the "R-7" definition, numpy's default): p50 of [1, 2, 3, 4] is 2.5, p99 of
 * ten values lies between the two largest. NaN for no values.
 */
export function quantile(values: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} is not in [0, 1]`);
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

export function max(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => (b > a ? b : a), -Infinity);
}

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  return { n: values.length, p50: quantile(values, 0.5), p99: quantile(values, 0.99), mean: mean(values), max: max(values) };
}

/**
 * The largest N whose value stays within `factor` times the value at the
 * smallest N, scanning upward and stopping at the first N that does not
 * (or was not measured): null when not even the smallest N was measured.
 */
export function largestWithin(points: readonly { n: number; value: number | null }[], factor: number): number | null {
  const sorted = [...points].sort((a, b) => a.n - b.n);
  const base = sorted[0]?.value;
  if (base === undefined || base === null || !Number.isFinite(base)) return null;
  let best = sorted[0].n;
  for (const p of sorted.slice(1)) {
    if (p.value === null || !Number.isFinite(p.value) || p.value > factor * base) break;
    best = p.n;
  }
  return best;
}
