/**
 * The contract between a GPU kernel and its float64 reference: a check runs
 * the kernel on random inputs, runs the reference, and compares with the
 * tolerance docs/design.md §3 states for that kind of op.
 */
import type { Dispatch, Gpu } from '../gpu/gpu';

export type Tolerance =
  /** max |got − ref| ≤ value · max|ref| (matmul and attention chains) */
  | { kind: 'absScaled'; value: number }
  /** max relative error ≤ value (elementwise, norms, RoPE, losses) */
  | { kind: 'relative'; value: number };

export interface CheckOptions {
  /** Shape overrides; each check documents the keys it reads. */
  shape?: Record<string, number>;
  seed?: number;
  /** Timed repetitions after one warm-up (default 3). */
  reps?: number;
}

export interface CheckResult {
  name: string;
  shape: string;
  maxAbsErr: number;
  maxRelErr: number;
  maxAbsRef: number;
  tolerance: Tolerance;
  pass: boolean;
  /** GPU time per run of the kernel's dispatches (timestamp queries when available, else wall clock). */
  ms: number;
  gflops?: number;
}

export interface KernelCheck {
  name: string;
  description: string;
  run(gpu: Gpu, opts?: CheckOptions): Promise<CheckResult>;
}

export function withinTolerance(t: Tolerance, e: { maxAbsErr: number; maxRelErr: number; maxAbsRef: number }): boolean {
  if (!Number.isFinite(e.maxAbsErr)) return false;
  return t.kind === 'absScaled' ? e.maxAbsErr <= t.value * Math.max(e.maxAbsRef, 1e-30) : e.maxRelErr <= t.value;
}

/**
 * Times a list of dispatches: ms per run of the whole list. One warm-up
 * submit, then `reps` runs back to back in ONE submit, as a model step runs
 * its kernels. A submit per run with a wait in between would add submit
 * latency to every run and let a real GPU clock down in the gaps (on an H100
 * that read 2–5× slow). GPU time from timestamp queries when available (the
 * profiler gives each dispatch its own timed pass and sums them per label),
 * else wall clock around the timed submit.
 */
export async function timeDispatches(gpu: Gpu, label: string, dispatches: Dispatch[], reps = 3): Promise<number> {
  const runs = Math.max(1, Math.floor(reps));
  const submit = (l: string) => {
    const rec = gpu.encoder(l);
    for (let r = 0; r < runs; r++) for (const d of dispatches) rec.dispatch(d);
    rec.submit();
  };
  const before = gpu.profiling;
  try {
    // Untimed, so that its profile cannot arrive late and pass for the timed one.
    gpu.profiling = false;
    submit(`${label}.warmup`);
    await gpu.idle();
    if (gpu.features.timestamp) {
      gpu.profiling = true;
      const prev = gpu.lastProfile;
      submit(label);
      await gpu.idle();
      gpu.profiling = false;
      const timings = await nextProfile(gpu, prev);
      // Dispatches beyond the profiler's capacity run untimed: then the sum
      // would be short, and wall clock is the honest number.
      const count = timings?.reduce((s, t) => s + t.count, 0) ?? 0;
      if (timings && count === runs * dispatches.filter(hasWork).length) {
        return timings.reduce((s, t) => s + t.ms, 0) / runs;
      }
    }
  } finally {
    gpu.profiling = before;
  }
  const t0 = performance.now();
  submit(label);
  await gpu.idle();
  return (performance.now() - t0) / runs;
}

/** The Recorder skips empty grids, and the profiler never sees them. */
function hasWork(d: Dispatch): boolean {
  const [x, y = 1, z = 1] = d.workgroups;
  return x > 0 && y > 0 && z > 0;
}

/** The profile of the submit after `prev`; it resolves on a mapAsync after the work is done. Null if it never comes. */
async function nextProfile(gpu: Gpu, prev: Gpu['lastProfile']): Promise<Gpu['lastProfile'] | null> {
  for (let i = 0; i < 2000 && gpu.lastProfile === prev; i++) await new Promise((r) => setTimeout(r, 1));
  return gpu.lastProfile === prev ? null : gpu.lastProfile;
}

export function toF32(x: ArrayLike<number>): Float32Array {
  return Float32Array.from(x);
}

export function toF64(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x);
}

export function shapeString(shape: Record<string, number>): string {
  return Object.entries(shape)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}
