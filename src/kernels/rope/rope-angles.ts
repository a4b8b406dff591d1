/**
 * RoPE's angle tables, built on the CPU for the GPU kernel (rope.ts) and the
 * float64 reference alike. Production code, though it computes in float64:
 * the kernels take these tables rather than calling the GPU's sin/cos, so
 * every device rotates by the same angles.
 */
import { portablePow, portableSinCos } from './portable-math';

/** cos/sin [S, dr/2] of angle p·theta^(−2i/dr). */
export function ropeAngles(S: number, dr: number, theta: number): { cos: Float64Array; sin: Float64Array } {
  if (!Number.isInteger(S) || S < 0) throw new RangeError(`ropeAngles: S must be a non-negative integer, got ${S}`);
  checkRopeDim('ropeAngles', dr);
  const half = dr / 2;
  const cos = new Float64Array(S * half);
  const sin = new Float64Array(S * half);
  for (let p = 0; p < S; p++) {
    for (let i = 0; i < half; i++) {
      // Portable math, not Math.*: every replica must build the same tables.
      const angle = p * portablePow(theta, (-2 * i) / dr);
      const sc = portableSinCos(angle);
      cos[p * half + i] = sc.cos;
      sin[p * half + i] = sc.sin;
    }
  }
  return { cos, sin };
}

/** Rotation pairs columns, so dr must be even. */
export function checkRopeDim(op: string, dr: number): void {
  if (!Number.isInteger(dr) || dr < 0 || dr % 2 !== 0) throw new RangeError(`${op}: dr must be a non-negative even integer, got ${dr}`);
}
