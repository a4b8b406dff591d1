/** float64 references for RMSNorm: y = g ∘ x / sqrt(mean(x²) + eps), per row of length D. */
import { expectDim, expectLength } from '../testing/shape';

export function rmsnormForward(
  x: Float64Array,
  g: Float64Array,
  rows: number,
  D: number,
  eps: number,
): { y: Float64Array; rstd: Float64Array } {
  checkArgs('rmsnormForward', x, g, rows, D);
  const y = new Float64Array(rows * D);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let d = 0; d < D; d++) ss += x[r * D + d] * x[r * D + d];
    rstd[r] = 1 / Math.sqrt(ss / D + eps);
    for (let d = 0; d < D; d++) y[r * D + d] = g[d] * x[r * D + d] * rstd[r];
  }
  return { y, rstd };
}

/**
 * With ĝ = g∘dy and s = rstd: dx = s·ĝ − x·s³·mean(ĝ∘x), since
 * ∂s/∂x = −s³·x/D. dg is the column sum of dy∘x·s over rows.
 */
export function rmsnormBackward(
  dy: Float64Array,
  x: Float64Array,
  g: Float64Array,
  rstd: Float64Array,
  rows: number,
  D: number,
): { dx: Float64Array; dg: Float64Array } {
  checkArgs('rmsnormBackward', x, g, rows, D);
  expectLength('rmsnormBackward', 'dy', dy, rows * D);
  expectLength('rmsnormBackward', 'rstd', rstd, rows);
  const dx = new Float64Array(rows * D);
  const dg = new Float64Array(D);
  for (let r = 0; r < rows; r++) {
    const s = rstd[r];
    let dot = 0;
    for (let d = 0; d < D; d++) dot += g[d] * dy[r * D + d] * x[r * D + d];
    const c = (s * s * s * dot) / D;
    for (let d = 0; d < D; d++) {
      const i = r * D + d;
      dx[i] = s * g[d] * dy[i] - c * x[i];
      dg[d] += dy[i] * x[i] * s;
    }
  }
  return { dx, dg };
}

function checkArgs(op: string, x: Float64Array, g: Float64Array, rows: number, D: number): void {
  expectDim(op, 'rows', rows);
  expectDim(op, 'D', D);
  expectLength(op, 'x', x, rows * D);
  expectLength(op, 'g', g, D);
}
