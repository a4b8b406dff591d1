/**
 * Seeded randomness for kernel tests. Tests must be reproducible across runs
 * and machines, so nothing here touches Math.random.
 */

/** Mulberry32: tiny 32-bit PRNG, good enough for test data; returns [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * n standard-normal samples times `scale` (Box–Muller). Gaussian rather than
 * uniform so that values of mixed sign and magnitude exercise the kernels.
 */
export function randomFloats(n: number, seed: number, scale = 1): Float64Array {
  const rand = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    // 1 - rand() lies in (0, 1], so the log is finite.
    const r = Math.sqrt(-2 * Math.log(1 - rand()));
    const phi = 2 * Math.PI * rand();
    out[i] = scale * r * Math.cos(phi);
    if (i + 1 < n) out[i + 1] = scale * r * Math.sin(phi);
  }
  return out;
}

/** n integers uniform in [0, max). */
export function randomInts(n: number, max: number, seed: number): Int32Array {
  if (!Number.isInteger(max) || max <= 0) throw new RangeError(`randomInts: max must be a positive integer, got ${max}`);
  const rand = mulberry32(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.min(max - 1, Math.floor(rand() * max));
  return out;
}
