/**
 * pow, sin and cos built only from +, −, ×, ÷ and exact scalings by 2, so
 * every JavaScript engine computes the same bits (IEEE-754 doubles round
 * each basic operation the same way everywhere and JS never fuses them).
 * Math.sin/cos/pow are not specified to the bit and differ between engines,
 * and replicas of a run must build identical RoPE tables (docs/design.md §2, §4).
 * Accuracy is a few ulp of a double, far below the f32 the tables become.
 */

// ln 2 split so that k·LN2_HI is exact for |k| < 2^20 (fdlibm's constants).
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
// π/2 in three parts for Cody–Waite reduction (fdlibm's pio2_1, pio2_2, pio2_3).
const PIO2_1 = 1.57079632673412561417e0;
const PIO2_2 = 6.07710050630396597660e-11;
const PIO2_3 = 2.02226624871116645580e-21;
const TWO_OVER_PI = 6.36619772367581382433e-1;

/** 2^k by exact doublings or halvings. */
function pow2(k: number): number {
  let r = 1;
  for (let i = 0; i < k; i++) r *= 2;
  for (let i = 0; i > k; i--) r /= 2;
  return r;
}

/** Natural log of x > 0: x = m·2^k with m in [√½, √2), ln m = 2·atanh((m−1)/(m+1)). */
export function portableLog(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`portableLog: ${x} is not a positive finite number`);
  let m = x;
  let k = 0;
  while (m >= Math.SQRT2) { m /= 2; k++; }
  while (m < Math.SQRT1_2) { m *= 2; k--; }
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  // |s| ≤ 0.1716, so s^(2j+1)/(2j+1) falls below 1e-17 by j = 11.
  let term = s;
  let sum = 0;
  for (let j = 0; j < 14; j++) {
    sum += term / (2 * j + 1);
    term *= s2;
  }
  return k * LN2_HI + (2 * sum + k * LN2_LO);
}

/** e^y: y = k·ln2 + r with |r| ≤ ln2/2, then a Taylor series for e^r. */
export function portableExp(y: number): number {
  if (!Number.isFinite(y)) throw new RangeError(`portableExp: ${y} is not finite`);
  const k = Math.round(y / (LN2_HI + LN2_LO));
  const r = y - k * LN2_HI - k * LN2_LO;
  let term = 1;
  let sum = 1;
  for (let n = 1; n < 24; n++) {
    term *= r / n;
    sum += term;
  }
  return sum * pow2(k);
}

/** base^e for base > 0. */
export function portablePow(base: number, e: number): number {
  return portableExp(e * portableLog(base));
}

/** sin and cos of x (|x| up to ~1e6: the largest angle is max position × 1). */
export function portableSinCos(x: number): { sin: number; cos: number } {
  if (!Number.isFinite(x) || Math.abs(x) > 1e6) throw new RangeError(`portableSinCos: ${x} is outside ±1e6`);
  const k = Math.round(x * TWO_OVER_PI);
  const r = x - k * PIO2_1 - k * PIO2_2 - k * PIO2_3;
  const r2 = r * r;
  // Taylor series on |r| ≤ π/4: 14 terms reach well below 1e-17.
  let s = 0;
  let c = 0;
  let ts = r;
  let tc = 1;
  for (let n = 0; n < 14; n++) {
    s += ts;
    c += tc;
    ts *= -r2 / ((2 * n + 2) * (2 * n + 3));
    tc *= -r2 / ((2 * n + 1) * (2 * n + 2));
  }
  switch (((k % 4) + 4) % 4) {
    case 0:
      return { sin: s, cos: c };
    case 1:
      return { sin: c, cos: -s };
    case 2:
      return { sin: -s, cos: -c };
    default:
      return { sin: -c, cos: s };
  }
}
