/**
 * float64 references for RoPE on a strided slice (DeepSeek's interleaved
 * convention, = Hugging Face rope_interleave). x is [rows, stride] with
 * rows = B·S·heads laid out [B,S,heads]; columns offset…offset+dr are rotated
 * and every other column passes through, so q ([.., dn+dr], offset dn) and
 * k_pe inside ckp ([.., rkv+dr], heads 1, offset rkv) need no copies.
 */
import { expectDim, expectLength } from '../testing/shape';
import { checkRopeDim, ropeAngles } from './rope-angles';

export function ropeForward(
  x: Float64Array,
  B: number,
  S: number,
  heads: number,
  stride: number,
  offset: number,
  dr: number,
  theta: number,
): Float64Array {
  return rotate('ropeForward', x, B, S, heads, stride, offset, dr, theta, 1);
}

/** The rotation is orthogonal, so its transpose (the gradient) is rotation by −angle. */
export function ropeBackward(
  dy: Float64Array,
  B: number,
  S: number,
  heads: number,
  stride: number,
  offset: number,
  dr: number,
  theta: number,
): Float64Array {
  return rotate('ropeBackward', dy, B, S, heads, stride, offset, dr, theta, -1);
}

function rotate(
  op: string,
  x: Float64Array,
  B: number,
  S: number,
  heads: number,
  stride: number,
  offset: number,
  dr: number,
  theta: number,
  direction: 1 | -1,
): Float64Array {
  for (const [name, v] of [['B', B], ['S', S], ['heads', heads], ['stride', stride], ['offset', offset]] as const) {
    expectDim(op, name, v);
  }
  checkRopeDim(op, dr);
  if (offset + dr > stride) throw new RangeError(`${op}: offset ${offset} + dr ${dr} exceeds stride ${stride}`);
  const rows = B * S * heads;
  expectLength(op, 'x', x, rows * stride);
  const { cos, sin } = ropeAngles(S, dr, theta);
  const half = dr / 2;
  const y = Float64Array.from(x);
  for (let row = 0; row < rows; row++) {
    const p = Math.floor(row / heads) % S;
    for (let i = 0; i < half; i++) {
      const c = cos[p * half + i];
      const s = direction * sin[p * half + i];
      const j = row * stride + offset + 2 * i;
      const a = x[j];
      const b = x[j + 1];
      y[j] = a * c - b * s;
      y[j + 1] = a * s + b * c;
    }
  }
  return y;
}
