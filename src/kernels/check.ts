/**
 * The contract between a GPU kernel and its float64 reference: a check runs
 * the kernel on random inputs, runs the reference, and compares with the
 * tolerance DESIGN.md §3 states for that kind of op.
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

/** Times a list of dispatches: one warm-up, then `reps` runs, ms per run. */
export async function timeDispatches(gpu: Gpu, label: string, dispatches: Dispatch[], reps = 3): Promise<number> {
  gpu.run(`${label}.warmup`, dispatches);
  await gpu.idle();
  if (gpu.features.timestamp) {
    const before = gpu.profiling;
    gpu.profiling = true;
    let total = 0;
    for (let r = 0; r < reps; r++) {
      gpu.run(label, dispatches);
      await gpu.idle();
      // The profile resolves on a mapAsync after the work is done.
      total += await waitForProfile(gpu);
    }
    gpu.profiling = before;
    return total / reps;
  }
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) gpu.run(label, dispatches);
  await gpu.idle();
  return (performance.now() - t0) / reps;
}

async function waitForProfile(gpu: Gpu): Promise<number> {
  const prev = gpu.lastProfile;
  for (let i = 0; i < 200 && gpu.lastProfile === prev; i++) await new Promise((r) => setTimeout(r, 1));
  return gpu.lastProfile.reduce((s, t) => s + t.ms, 0);
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
