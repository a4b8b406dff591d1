/**
 * One timing method for every library, so their numbers are comparable:
 * warm-up (pipeline compilation, uploads and allocation happen there), then
 * `reps` steps back to back and a single GPU sync. Syncing once at the end
 * lets each library keep its GPU queue full, as it would inside a model.
 *
 * The CPU here is shared and loaded (SwiftShader runs the "GPU" on it), so a
 * single batch is at the mercy of whatever else runs. Batches of all
 * candidates are interleaved over several trials and the median is kept:
 * a burst of load then hits every library alike instead of one of them.
 */
import type { Agreement, Impl, Layout } from './types';

export interface TimingOptions {
  reps: number;
  warmup: number;
  trials: number;
}

export interface Finished {
  /** C after the timed runs. */
  output: Float32Array;
  check: Agreement | null;
  /** GPU time per rep from timestamp queries, where the library exposes it. */
  gpuMs: number | null;
}

/** Something to time: one library, one layout, one size, inputs already on the GPU. */
export interface Candidate {
  impl: Impl;
  layout: Layout;
  /** How the sync is done and anything a reader needs to trust the number. */
  note: string;
  step(): unknown;
  sync(): Promise<unknown>;
  /** Runs after all timing: reads C back, checks it, measures GPU time. */
  finish(): Promise<Finished>;
  dispose(): Promise<void>;
}

async function batchMs(c: Candidate, reps: number): Promise<number> {
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) await c.step();
  await c.sync();
  return (performance.now() - t0) / reps;
}

async function warm(c: Candidate, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    await c.step();
    await c.sync();
  }
}

export interface Timings {
  /** Wall ms per rep of each candidate, one value per trial (the caller takes the median). */
  trials: number[][];
  /** A candidate that threw is dropped from later trials; the others go on. */
  errors: (string | null)[];
}

export async function timeInterleaved(candidates: Candidate[], opts: TimingOptions): Promise<Timings> {
  const trials = candidates.map((): number[] => []);
  const errors = candidates.map((): string | null => null);
  const guarded = async (i: number, f: () => Promise<void>) => {
    if (errors[i] !== null) return;
    try {
      await f();
    } catch (err) {
      errors[i] = errorText(err);
    }
  };
  for (const [i, c] of candidates.entries()) await guarded(i, () => warm(c, opts.warmup));
  for (let t = 0; t < opts.trials; t++) {
    for (const [i, c] of candidates.entries()) await guarded(i, async () => void trials[i].push(await batchMs(c, opts.reps)));
  }
  return { trials, errors };
}

export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
