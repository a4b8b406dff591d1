/**
 * float64 reference for one AdamW step with PyTorch semantics
 * (torch.optim.AdamW, single-tensor path):
 *   p ← p·(1 − lr·wd)                      (decoupled decay, before the update)
 *   m ← β1·m + (1 − β1)·g
 *   v ← β2·v + (1 − β2)·g²
 *   p ← p − (lr / (1 − β1ᵗ)) · m / (sqrt(v) / sqrt(1 − β2ᵗ) + eps)
 * Note eps is added after the bias correction of sqrt(v), as PyTorch does.
 */
import type { AdamWOptions } from './adamw-options';

export function adamwStep(
  p: Float64Array,
  g: Float64Array,
  m: Float64Array,
  v: Float64Array,
  opts: AdamWOptions,
): { p: Float64Array; m: Float64Array; v: Float64Array } {
  const { lr, beta1, beta2, eps, weightDecay, step } = opts;
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`adamwStep: step must be an integer ≥ 1, got ${step}`);
  for (const [name, arr] of [['g', g], ['m', m], ['v', v]] as const) {
    if (arr.length !== p.length) throw new RangeError(`adamwStep: ${name} has length ${arr.length}, expected ${p.length}`);
  }
  const stepSize = lr / (1 - Math.pow(beta1, step));
  const bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
  const decay = 1 - lr * weightDecay;
  const pOut = new Float64Array(p.length);
  const mOut = new Float64Array(p.length);
  const vOut = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    mOut[i] = beta1 * m[i] + (1 - beta1) * g[i];
    vOut[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
    const denom = Math.sqrt(vOut[i]) / bc2Sqrt + eps;
    pOut[i] = p[i] * decay - (stepSize * mOut[i]) / denom;
  }
  return { p: pOut, m: mOut, v: vOut };
}
