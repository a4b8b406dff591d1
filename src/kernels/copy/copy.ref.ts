/** float64 reference of the strided block copy (see shaders/copy.wgsl). */
import type { CopyShape, Strided } from './copy-shape';

export function copyRef(src: Float64Array, dst: Float64Array, shape: CopyShape, from: Strided, to: Strided): Float64Array {
  const out = Float64Array.from(dst);
  const reps = shape.reps ?? 1;
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < shape.rows; i++) {
      for (let j = 0; j < shape.cols; j++) {
        const s = src[from.offset + r * (from.repStride ?? 0) + i * from.rowStride + j];
        const d = to.offset + r * (to.repStride ?? 0) + i * to.rowStride + j;
        if (s === undefined || d >= out.length) throw new RangeError('copyRef: index out of range');
        out[d] = shape.accumulate ? out[d] + s : s;
      }
    }
  }
  return out;
}
