import code from '../../../shaders/grad_sketch.wgsl?raw';
import type { Dispatch, Gpu } from '../../gpu/gpu';
import { params } from '../../gpu/params';
import { specialize } from '../../gpu/wgsl';
import { foldGrid } from '../../gpu/grid';
import { fmix32, lowbias32 } from '../checksum/u32-mix';

/** Sketch rows: one hash bit each, so at most 32. */
export const SKETCH_ROWS = 4;

/** Threads per workgroup (a power of two: the barrier tree halves it). */
export const GRAD_SKETCH_WG = 256;
const WG = GRAD_SKETCH_WG;
// As in gradnorm: one barrier tree per 16k elements keeps the pass memory-bound.
const PER_THREAD = 64;
/** Gradient elements summed by one workgroup into one set of SKETCH_ROWS partials. */
export const GRAD_SKETCH_CHUNK = WG * PER_THREAD;

/** Length in f32 words of the partials scratch for n elements. */
export function gradSketchScratchLength(n: number): number {
  return SKETCH_ROWS * Math.max(1, chunks(n));
}

function chunks(n: number): number {
  return Math.ceil(n / GRAD_SKETCH_CHUNK);
}

/**
 * h(seed, p) = lowbias32(p ^ (seed · 0x9e3779b9)) in wrapping u32 arithmetic,
 * the hash of shaders/grad_sketch.wgsl; bit r gives row r's sign at p.
 */
export function sketchHash(seed: number, p: number): number {
  return lowbias32(p ^ Math.imul(seed, 0x9e3779b9));
}

// Any fixed salt; without one step 0 would get seed 0 (fmix32(0) = 0).
const SEED_SALT = 0x2545f491;

/** The seed of round `step`'s sketch rows (any fixed u32 mix of the step). */
export function sketchSeed(step: number): number {
  if (!Number.isInteger(step) || step < 0 || step > 0xffffffff) throw new RangeError(`sketchSeed: bad step ${step}`);
  // fmix32 is a bijection: distinct steps get distinct seeds.
  return fmix32(step ^ SEED_SALT);
}

export interface GradSketchArgs {
  /** Elements of grads to sketch. */
  n: number;
  /** f32 [n], read only. */
  grads: GPUBuffer;
  /** f32 [gradSketchScratchLength(n)], scratch (overwritten). */
  partials: GPUBuffer;
  /** f32, written at [outOffset, outOffset + SKETCH_ROWS); every other word is left untouched. */
  out: GPUBuffer;
  /** In f32 words. */
  outOffset: number;
  /** u32. */
  seed: number;
  /** Test hook: pretend the device allows at most this many workgroups per grid dimension. */
  gridLimit?: number;
}

function pipeline(gpu: Gpu, entry: string): GPUComputePipeline {
  return gpu.pipeline('grad_sketch', specialize(code, { WG, PER_THREAD, ROWS: SKETCH_ROWS }), entry);
}

/**
 * Two dispatches: `grad_sketch.partials` (SKETCH_ROWS signed sums per chunk of
 * GRAD_SKETCH_CHUNK elements) then `grad_sketch.total` (fixed-order sums of
 * the partials into out[outOffset…]). Sketches of several sequences can go
 * into one out buffer from one encoder, sharing one partials scratch:
 * dispatches in a pass run in order.
 */
export function gradSketch(gpu: Gpu, args: GradSketchArgs): Dispatch[] {
  const { n, outOffset } = args;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`gradSketch: bad n ${n}`);
  // Out-of-bounds storage writes are clamped or dropped silently, so refuse them here.
  if (args.grads.size < n * 4) throw new RangeError(`gradSketch: grads holds ${args.grads.size} bytes, need ${n * 4}`);
  if (args.partials.size < gradSketchScratchLength(n) * 4) {
    throw new RangeError(`gradSketch: partials holds ${args.partials.size} bytes, need ${gradSketchScratchLength(n) * 4}`);
  }
  if (!Number.isInteger(outOffset) || outOffset < 0 || args.out.size < (outOffset + SKETCH_ROWS) * 4) {
    throw new RangeError(`gradSketch: out of ${args.out.size} bytes has no ${SKETCH_ROWS} words at offset ${outOffset}`);
  }
  const limit = args.gridLimit ?? gpu.limits.maxComputeWorkgroupsPerDimension;
  const p = params().u32(n).u32(chunks(n)).u32(args.seed).u32(outOffset).bytes();
  return [
    {
      label: 'grad_sketch.partials',
      pipeline: pipeline(gpu, 'partials'),
      params: p,
      buffers: [args.grads, args.partials],
      workgroups: foldGrid(chunks(n), limit),
    },
    {
      label: 'grad_sketch.total',
      pipeline: pipeline(gpu, 'total'),
      params: p,
      buffers: [args.partials, args.out],
      workgroups: [1],
    },
  ];
}
