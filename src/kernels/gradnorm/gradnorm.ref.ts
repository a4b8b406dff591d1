/** float64 references for global gradient-norm clipping, PyTorch clip_grad_norm_ rule. */

/** sqrt of the sum of squares over every element of every tensor. */
export function globalNorm(grads: Float64Array[]): number {
  let ss = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) ss += g[i] * g[i];
  return Math.sqrt(ss);
}

/** min(1, maxNorm / (norm + 1e-6)): the 1e-6 is PyTorch's, which keeps norm = 0 finite. */
export function clipCoefficient(norm: number, maxNorm: number): number {
  return Math.min(1, maxNorm / (norm + 1e-6));
}

/** Scaled copies of every gradient, and the pre-clip norm (what a trainer logs). */
export function clipGrads(grads: Float64Array[], maxNorm: number): { norm: number; grads: Float64Array[] } {
  const norm = globalNorm(grads);
  const coef = clipCoefficient(norm, maxNorm);
  return { norm, grads: grads.map((g) => g.map((x) => x * coef)) };
}
