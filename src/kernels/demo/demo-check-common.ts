/**
 * What the DeMo kernel checks share: tensors laid out in one flat buffer the
 * way the model lays out its parameters (gaps between them, which the checks
 * fill with NaN guards), updates to apply, and a bitwise comparison.
 */
import { elementCount } from '../../demo/blocks';
import { demoCompress as demoCompressF64 } from '../../demo/demo.ref';
import type { DemoUpdate } from '../../demo/update-format';
import { randomFloats } from '../testing/random';
import { packDemoUpdates } from './demo-apply';
import type { DemoTable } from './demo-table';

/** Element offsets of `shapes` in one flat buffer: each a multiple of 64 (256 bytes), at least one spare element after each. */
export function flatLayout(shapes: readonly (readonly number[])[]): { offsets: number[]; total: number } {
  let offset = 64;
  const offsets = shapes.map((shape) => {
    const at = offset;
    offset += Math.ceil((elementCount(shape) + 1) / 64) * 64;
    return at;
  });
  return { offsets, total: offset + 64 };
}

/** Each tensor's values copied into a NaN-filled flat buffer of `total` at `offsets`. */
export function flatten(parts: readonly ArrayLike<number>[], offsets: readonly number[], total: number): Float32Array {
  const flat = new Float32Array(total).fill(Number.NaN);
  parts.forEach((p, i) => flat.set(p, offsets[i]));
  return flat;
}

/**
 * `count` 1-bit updates from the reference compressor on correlated random
 * gradients: a shared part (negated in the last update) makes updates keep
 * the same coefficients often with mixed signs, so the fixed-point mean sees
 * m = 1..count and non-integer quotients like 2^5·1/3.
 */
export function makeUpdates(shape: number[], seed: number, count: number, chunk: number, topk: number): DemoUpdate[] {
  const n = elementCount(shape);
  const shared = randomFloats(n, seed, 1);
  return Array.from({ length: count }, (_, m) => {
    const noise = randomFloats(n, seed + 100 + m, 0.5);
    const sign = m === count - 1 ? -1 : 1;
    const grad = shared.map((x, i) => sign * x + noise[i]);
    const { indices, values } = demoCompressF64({ shape, grad, momentum: new Float64Array(n), lr: 1, decay: 0.999, chunk, topk, quantize1bit: true });
    return { indices, values };
  });
}

/** Every tensor's updates taken in `order` (indices into each tensor's list), packed for the whole table. */
export function packInOrder(table: DemoTable, tensors: readonly { updates: readonly DemoUpdate[] }[], order: readonly number[]) {
  return packDemoUpdates(table, order.map((m) => tensors.map((t) => t.updates[m])));
}

/** Positions where the bits of two equally long arrays differ. */
export function bitMismatches(a: Float32Array | Uint32Array, b: Float32Array | Uint32Array): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let bad = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) bad++;
  return bad;
}
