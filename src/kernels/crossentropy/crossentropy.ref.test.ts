import { describe, expect, it } from 'vitest';
import { gradientRelError, numericalGradient } from '../testing/fd';
import { randomFloats, randomInts } from '../testing/random';
import { crossEntropyBackward, crossEntropyForward } from './crossentropy.ref';
import { IGNORE_INDEX } from './ignore-index';

describe('cross-entropy reference', () => {
  const [rows, V] = [2 * 7, 13];
  const logits = randomFloats(rows * V, 60, 3);
  const targets = randomInts(rows, V, 61);
  targets[2] = IGNORE_INDEX;
  targets[9] = IGNORE_INDEX;
  const fwd = crossEntropyForward(logits, targets, rows, V);

  it('computes per-row losses and their mean over non-ignored rows', () => {
    expect(fwd.count).toBe(rows - 2);
    expect(fwd.losses[2]).toBe(0);
    expect(fwd.losses[9]).toBe(0);
    let z = 0;
    for (let c = 0; c < V; c++) z += Math.exp(logits[5 * V + c]);
    expect(fwd.lse[5]).toBeCloseTo(Math.log(z), 12);
    expect(fwd.losses[5]).toBeCloseTo(Math.log(z) - logits[5 * V + targets[5]], 12);
    expect(fwd.loss).toBeCloseTo(fwd.losses.reduce((a, b) => a + b, 0) / (rows - 2), 14);
  });

  it('backward matches finite differences of the mean loss', () => {
    const numeric = numericalGradient((t) => crossEntropyForward(t, targets, rows, V).loss, logits);
    const analytic = crossEntropyBackward(logits, targets, fwd.lse, rows, V, fwd.count);
    expect(gradientRelError(analytic, numeric)).toBeLessThan(1e-6);
  });

  it('gives ignored rows zero gradient', () => {
    const d = crossEntropyBackward(logits, targets, fwd.lse, rows, V, fwd.count);
    expect(d.subarray(2 * V, 3 * V).every((x) => x === 0)).toBe(true);
    expect(d.subarray(9 * V, 10 * V).every((x) => x === 0)).toBe(true);
  });

  it('gives loss 0 and zero gradient when every row is ignored', () => {
    const none = new Int32Array(rows).fill(IGNORE_INDEX);
    const f = crossEntropyForward(logits, none, rows, V);
    expect(f.loss).toBe(0);
    expect(f.count).toBe(0);
    expect(crossEntropyBackward(logits, none, f.lse, rows, V, 0).every((x) => x === 0)).toBe(true);
  });

  it('stays finite for huge logits', () => {
    const big = randomFloats(rows * V, 62, 1e4);
    const f = crossEntropyForward(big, targets, rows, V);
    expect(Number.isFinite(f.loss)).toBe(true);
  });

  it('throws on targets out of range', () => {
    const bad = Int32Array.from(targets);
    bad[0] = V;
    expect(() => crossEntropyForward(logits, bad, rows, V)).toThrow(RangeError);
    bad[0] = -1;
    expect(() => crossEntropyForward(logits, bad, rows, V)).toThrow(RangeError);
  });
});
