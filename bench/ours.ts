/**
 * Our register-tiled WGSL matmul through the project's runtime (the vec4
 * kernel whenever the shape allows, tiles chosen per shape, as the model runs
 * it), plus our timestamp-query GPU time.
 */
import type { Dispatch, Gpu } from '../src/gpu/gpu';
import { matmul, type MatmulLayout, type MatmulTiles } from '../src/kernels/matmul/matmul';
import { agreement, type MatmulData } from './data';
import type { Candidate } from './timing';
import type { Reference } from './types';

/** A and B in the storage order `layout` reads; C is always [M,N] and the same product A·B. */
function operands(d: MatmulData, layout: MatmulLayout): { a: Float32Array; b: Float32Array } {
  if (layout === 'nt') return { a: d.a, b: d.bt };
  if (layout === 'nn') return { a: d.a, b: d.b };
  return { a: transposeA(d), b: d.b };
}

/** 'tn' reads A stored [K,M]; storing Aᵀ keeps C = A·B in every layout. */
function transposeA(d: MatmulData): Float32Array {
  const out = new Float32Array(d.a.length);
  for (let m = 0; m < d.M; m++) for (let k = 0; k < d.K; k++) out[k * d.M + m] = d.a[m * d.K + k];
  return out;
}

export interface OursOptions {
  reps: number;
  tiles?: MatmulTiles;
  /** Checked in finish() when given. */
  reference?: Reference;
}

export function oursCandidate(gpu: Gpu, d: MatmulData, layout: MatmulLayout, opts: OursOptions): Candidate {
  const { a, b } = operands(d, layout);
  const label = `bench.matmul.${layout}`;
  const bufs = { a: gpu.upload(`${label}.a`, a), b: gpu.upload(`${label}.b`, b), c: gpu.buffer(`${label}.c`, d.M * d.N * 4) };
  const dispatch = matmul(gpu, { layout, M: d.M, N: d.N, K: d.K, ...bufs, tiles: opts.tiles, label });
  return {
    impl: 'ours',
    layout,
    note: 'sync: queue.onSubmittedWorkDone; gpuMs: timestamp queries',
    step: () => gpu.run(label, [dispatch]),
    sync: () => gpu.idle(),
    async finish() {
      const output = await gpu.readF32(bufs.c, d.M * d.N);
      const gpuMs = await timestampMs(gpu, label, dispatch, opts.reps);
      return { output, gpuMs, check: opts.reference ? agreement(output, opts.reference) : null };
    },
    async dispose() {
      for (const buf of Object.values(bufs)) buf.destroy();
    },
  };
}

/**
 * GPU ms per dispatch from timestamp queries, `reps` dispatches in one
 * submit, as timeDispatches (src/kernels/check.ts) now also times; this one
 * returns null without timestamps instead of falling back to wall clock.
 * One dispatch per submit with idle waits between read 2–5× slow on the
 * H100 (the clocks drop in the gaps). An untimed batch first brings the
 * clocks up.
 */
async function timestampMs(gpu: Gpu, label: string, dispatch: Dispatch, reps: number): Promise<number | null> {
  if (!gpu.features.timestamp) return null;
  const batch = () => {
    const rec = gpu.encoder(label);
    for (let r = 0; r < reps; r++) rec.dispatch(dispatch);
    rec.submit();
  };
  batch();
  const before = gpu.profiling;
  gpu.profiling = true;
  try {
    const prev = gpu.lastProfile;
    batch();
    await gpu.idle();
    // The timings arrive through a mapAsync that settles after the work.
    for (let i = 0; i < 2000 && gpu.lastProfile === prev; i++) await new Promise((r) => setTimeout(r, 1));
    const t = gpu.lastProfile === prev ? undefined : gpu.lastProfile.find((x) => x.label === label);
    return t ? t.ms / t.count : null;
  } finally {
    gpu.profiling = before;
  }
}
