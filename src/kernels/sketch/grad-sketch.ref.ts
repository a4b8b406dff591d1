/** float64 reference for the random-sign gradient sketch (shaders/grad_sketch.wgsl). */
import { SKETCH_ROWS, sketchHash } from './grad-sketch';

/** out[r] = Σ_p σ_r(p)·g[p], σ_r(p) = −1 when bit r of sketchHash(seed, p) is set, else +1. */
export function gradSketchRef(g: Float32Array | Float64Array, seed: number): Float64Array {
  const out = new Float64Array(SKETCH_ROWS);
  for (let p = 0; p < g.length; p++) {
    const h = sketchHash(seed, p);
    for (let r = 0; r < SKETCH_ROWS; r++) out[r] += (h >>> r) & 1 ? -g[p] : g[p];
  }
  return out;
}
