/**
 * Result shapes shared by the bench page and the runners (scripts/bench.ts,
 * scripts/bench-node.ts). The JSON file is `BenchReport`; new sections (model
 * tokens/s, per-kernel shares, DeMo) become new optional keys beside `matmul`.
 */

export interface Size {
  M: number;
  N: number;
  K: number;
}

export interface AdapterRecord {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

/** Max |theirs − reference| against max |reference|: a broken comparison shows up here, not as a fast number. */
export interface Agreement {
  against: string;
  maxAbsDiff: number;
  maxAbsRef: number;
  /** maxAbsDiff ≤ 1e-4 · maxAbsRef, the matmul tolerance of docs/design.md §3. */
  ok: boolean;
}

export type Impl = 'ours' | 'ort' | 'tfjs';
export type Layout = 'nt' | 'nn' | 'tn';

export interface MatmulEntry {
  impl: Impl;
  layout: Layout;
  /** Wall clock per rep (median over trials): reps back to back, one GPU sync at the end. */
  wallMs: number | null;
  /** Every trial's wall ms per rep, to judge the noise. */
  wallMsTrials: number[];
  gflops: number | null;
  /** GPU time per rep from timestamp queries, where the library exposes it. */
  gpuMs: number | null;
  gpuGflops: number | null;
  check: Agreement | null;
  /** How the end-of-run sync was done, and anything a reader must know to trust the number. */
  note: string;
  error?: string;
}

export interface MatmulSizeResult extends Size {
  flop: number;
  reps: number;
  trials: number;
  entries: MatmulEntry[];
}

/** What an output is checked against: float64 (all of C or sampled entries), or our C for the same product. */
export interface Reference {
  label: string;
  values: ArrayLike<number>;
  /** When set, values[i] is the expected C[indices[i]] (a sampled float64 check); else values is all of C. */
  indices?: Uint32Array;
}

export type Adapters = Partial<Record<Impl, AdapterRecord>>;

/** The page's answer to tesseraBench.matmul. */
export interface MatmulBench {
  adapters: Adapters;
  /** Libraries that could not start, with the reason; their columns stay empty. */
  unavailable: Partial<Record<Impl, string>>;
  results: MatmulSizeResult[];
}

/**
 * bench-results/bench.json. Sections are optional keys beside `matmul`, so a
 * run of one section still writes a valid report.
 */
export interface BenchReport {
  /** The adapter each library got from its own navigator.gpu.requestAdapter. */
  adapter: Adapters;
  sameAdapter: boolean;
  env: Record<string, string | number | boolean>;
  matmul?: MatmulSizeResult[];
  unavailable?: Partial<Record<Impl, string>>;
  [section: string]: unknown;
}

export function flopOf(s: Size): number {
  return 2 * s.M * s.N * s.K;
}

export function gflopsOf(s: Size, ms: number | null): number | null {
  return ms === null || ms <= 0 ? null : flopOf(s) / (ms * 1e6);
}

export function sizeLabel(s: Size): string {
  return s.M === s.N && s.N === s.K ? `${s.M}³` : `${s.M}×${s.N}×${s.K}`;
}
