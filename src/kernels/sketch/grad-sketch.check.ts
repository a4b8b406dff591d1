import type { Gpu } from '../../gpu/gpu';
import { randomFloats } from '../testing/random';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, timeDispatches, toF32, withinTolerance } from '../check';
import { GRAD_SKETCH_CHUNK, GRAD_SKETCH_WG, SKETCH_ROWS, gradSketch, gradSketchScratchLength, sketchSeed } from './grad-sketch';
import { gradSketchRef } from './grad-sketch.ref';

/** 6 full chunks and a partial one; `shape.n` overrides. Folded into a 3×3 grid with 2 spare workgroups. */
const DEFAULT_N = 6 * GRAD_SKETCH_CHUNK + 777;
/** Below one workgroup's first row, an exact number of chunks, nothing at all. */
const SMALL_N = [100, 2 * GRAD_SKETCH_CHUNK, 0];
const GRAD_SCALE = 0.01;
/** Words between sketches in the shared out buffer that no dispatch may touch. */
const GAP = 2;
/** A NaN payload no sum can produce, compared as bits. */
const SENTINEL = 0x7fc0beef;

/**
 * The longest chain of f32 additions any element goes through for n
 * elements: its thread's running sum, the partials tree, the total's
 * running sum over chunks, the total's tree. Summation in f32 with that
 * depth d errs by at most γ_d·Σ|g| (Higham, Accuracy and Stability §4.2),
 * γ_d = d·u / (1 − d·u), u = 2⁻²⁴. The ±g terms themselves are exact.
 */
function summationBound(n: number): number {
  const chunks = Math.ceil(n / GRAD_SKETCH_CHUNK);
  const d = GRAD_SKETCH_CHUNK / GRAD_SKETCH_WG + 2 * Math.log2(GRAD_SKETCH_WG) + Math.ceil(chunks / GRAD_SKETCH_WG);
  const u = 2 ** -24;
  return (d * u) / (1 - d * u);
}

interface Case {
  n: number;
  seed: number;
  outOffset: number;
  grads: Float32Array;
  gridLimit?: number;
}

function makeCases(opts: CheckOptions): Case[] {
  const sizes = [opts.shape?.n ?? DEFAULT_N, ...SMALL_N];
  const dataSeed = opts.seed ?? 1;
  return sizes.map((n, k) => {
    const chunks = Math.ceil(n / GRAD_SKETCH_CHUNK);
    return {
      n,
      seed: sketchSeed(k + 1),
      // Unaligned offsets with sentinel words before, between and after.
      outOffset: 1 + k * (SKETCH_ROWS + GAP),
      grads: toF32(randomFloats(n, dataSeed + k, GRAD_SCALE)),
      // The first case takes the 2-D grid ~100M elements need, spare workgroups included.
      gridLimit: k === 0 ? Math.max(1, Math.ceil(Math.sqrt(chunks))) : undefined,
    };
  });
}

async function runCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const cases = makeCases(opts);
  const outWords = 1 + cases.length * (SKETCH_ROWS + GAP);
  const grads = cases.map((c) => gpu.upload('check.grad_sketch.grads', c.grads));
  const scratch = Math.max(...cases.map((c) => gradSketchScratchLength(c.n)));
  const partials = gpu.buffer('check.grad_sketch.partials', scratch * 4);
  const out = gpu.upload('check.grad_sketch.out', new Uint32Array(outWords).fill(SENTINEL));
  // Every sketch in one encoder, one after another through the same scratch, as
  // a step sketches its sequences.
  const dispatches = cases.flatMap((c, k) => gradSketch(gpu, { ...c, grads: grads[k], partials, out }));
  const reads: Uint32Array[] = [];
  for (let run = 0; run < 2; run++) {
    gpu.run('check.grad_sketch', dispatches);
    reads.push(await gpu.readU32(out, outWords));
  }
  const [bits, again] = reads;
  const got = new Float32Array(bits.buffer);

  // Relative error as f32 summation bounds it: |got − ref| / Σ|g|. Dividing by
  // |ref| instead would fail whenever a row's signed sum happens to cancel.
  let maxAbsErr = 0;
  let maxRelErr = 0;
  let maxAbsRef = 0;
  const written = new Set<number>();
  for (const c of cases) {
    const ref = gradSketchRef(c.grads, c.seed);
    let l1 = 0;
    for (const g of c.grads) l1 += Math.abs(g);
    for (let r = 0; r < SKETCH_ROWS; r++) {
      written.add(c.outOffset + r);
      const v = got[c.outOffset + r];
      const e = Number.isNaN(v) ? Infinity : Math.abs(v - ref[r]);
      maxAbsErr = Math.max(maxAbsErr, e);
      maxRelErr = Math.max(maxRelErr, e === 0 ? 0 : e / l1);
      maxAbsRef = Math.max(maxAbsRef, Math.abs(ref[r]));
    }
  }
  // Words outside every sketch keep their bits, and a rerun gives the same bits.
  const untouched = bits.every((b, i) => written.has(i) || b === SENTINEL);
  const repeatable = bits.every((b, i) => b === again[i]);
  if (!untouched || !repeatable) maxAbsErr = maxRelErr = Infinity;

  const main = cases[0];
  const ms = await timeDispatches(gpu, 'grad_sketch', gradSketch(gpu, { ...main, grads: grads[0], partials, out, gridLimit: undefined }), opts.reps ?? 3);
  for (const b of [...grads, partials, out]) b.destroy();
  const tolerance = { kind: 'relative', value: summationBound(Math.max(...cases.map((c) => c.n))) } as const;
  const err = { maxAbsErr, maxRelErr, maxAbsRef };
  return {
    name: 'grad_sketch',
    shape: shapeString({ n: main.n, rows: SKETCH_ROWS, cases: cases.length }),
    ...err,
    tolerance,
    pass: withinTolerance(tolerance, err),
    ms,
  };
}

export const gradSketchChecks: KernelCheck[] = [
  {
    name: 'grad_sketch',
    description:
      `${SKETCH_ROWS}-row random-sign sketch of flat f32 gradients against the float64 reference, error relative to Σ|g| within the f32 summation bound; ` +
      'n with a partial last chunk through a folded 2-D grid, n below one workgroup, an exact number of chunks and n = 0, all written at unaligned offsets of one out buffer in one encoder, ' +
      'sharing one scratch; the words around them must keep their bits and a rerun must give the same bits',
    run: runCheck,
  },
];
