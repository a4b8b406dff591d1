/**
 * float64 references for fused softmax + cross-entropy over logits [rows, V].
 * Rows whose target is IGNORE_INDEX (-100, as in PyTorch) contribute nothing,
 * and the mean is over the remaining `count` rows.
 */
import { expectDim, expectLength } from '../testing/shape';
import { IGNORE_INDEX } from './ignore-index';

export function crossEntropyForward(
  logits: Float64Array,
  targets: Int32Array,
  rows: number,
  V: number,
): { loss: number; losses: Float64Array; lse: Float64Array; count: number } {
  checkArgs('crossEntropyForward', logits, targets, rows, V);
  const losses = new Float64Array(rows);
  const lse = new Float64Array(rows);
  let count = 0;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    // lse is kept for ignored rows too: the GPU kernel computes it for every row.
    lse[r] = rowLogSumExp(logits, r * V, V);
    if (targets[r] === IGNORE_INDEX) continue;
    losses[r] = lse[r] - logits[r * V + targets[r]];
    total += losses[r];
    count++;
  }
  return { loss: count > 0 ? total / count : 0, losses, lse, count };
}

/** d loss / d logits = (softmax − onehot(target)) / count; ignored rows are zero. */
export function crossEntropyBackward(
  logits: Float64Array,
  targets: Int32Array,
  lse: Float64Array,
  rows: number,
  V: number,
  count: number,
): Float64Array {
  checkArgs('crossEntropyBackward', logits, targets, rows, V);
  expectLength('crossEntropyBackward', 'lse', lse, rows);
  const dlogits = new Float64Array(rows * V);
  if (count === 0) return dlogits;
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t === IGNORE_INDEX) continue;
    for (let c = 0; c < V; c++) {
      const p = Math.exp(logits[r * V + c] - lse[r]);
      dlogits[r * V + c] = (p - (c === t ? 1 : 0)) / count;
    }
  }
  return dlogits;
}

function rowLogSumExp(x: Float64Array, start: number, n: number): number {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, x[start + i]);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(x[start + i] - max);
  return max + Math.log(sum);
}

function checkArgs(op: string, logits: Float64Array, targets: Int32Array, rows: number, V: number): void {
  expectDim(op, 'rows', rows);
  expectDim(op, 'V', V);
  expectLength(op, 'logits', logits, rows * V);
  expectLength(op, 'targets', targets, rows);
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t !== IGNORE_INDEX && (t < 0 || t >= V)) {
      throw new RangeError(`${op}: targets[${r}] = ${t} is outside [0, ${V}) and is not ${IGNORE_INDEX}`);
    }
  }
}
