/** float64 references for the SwiGLU gate: h = silu(gate) ∘ up, elementwise. */

export function swigluForward(gate: Float64Array, up: Float64Array): Float64Array {
  checkLengths('swigluForward', gate, up);
  const h = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) h[i] = gate[i] * sigmoid(gate[i]) * up[i];
  return h;
}

/** silu'(x) = σ(x)·(1 + x·(1 − σ(x))). */
export function swigluBackward(
  gate: Float64Array,
  up: Float64Array,
  dh: Float64Array,
): { dgate: Float64Array; dup: Float64Array } {
  checkLengths('swigluBackward', gate, up);
  checkLengths('swigluBackward', gate, dh);
  const dgate = new Float64Array(gate.length);
  const dup = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const s = sigmoid(gate[i]);
    dgate[i] = dh[i] * up[i] * s * (1 + gate[i] * (1 - s));
    dup[i] = dh[i] * gate[i] * s;
  }
  return { dgate, dup };
}

/** Branches so that exp never overflows for large |x|. */
function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

function checkLengths(op: string, a: Float64Array, b: Float64Array): void {
  if (a.length !== b.length) throw new RangeError(`${op}: lengths ${a.length} and ${b.length} differ`);
}
