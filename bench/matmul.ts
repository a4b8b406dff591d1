/**
 * The matmul section: for each size, ours ('nt' and 'nn'), ORT (MatMul, i.e.
 * 'nn') and tfjs ('nt' and 'nn') on the same inputs in the same page. Our
 * output is checked against float64 (all of C, or sampled entries at big
 * sizes), and every other
 * library is checked against ours, so a broken comparison cannot pass silently.
 */
import { Gpu } from '../src/gpu/gpu';
import { float64Reference, matmulData, type MatmulData } from './data';
import { oursCandidate } from './ours';
import { OrtBench } from './ort';
import { TfjsBench } from './tfjs';
import { errorText, median, timeInterleaved, type Candidate, type Finished, type TimingOptions } from './timing';
import {
  flopOf,
  gflopsOf,
  type Adapters,
  type Impl,
  type Layout,
  type MatmulBench,
  type MatmulEntry,
  type MatmulSizeResult,
  type Reference,
  type Size,
} from './types';

interface Libraries {
  gpu: Gpu;
  ort: OrtBench | null;
  tfjs: TfjsBench | null;
  unavailable: Partial<Record<Impl, string>>;
}

let started: Promise<Libraries> | null = null;

/** Each library asks navigator.gpu for its own adapter and device, once per page. */
function libraries(): Promise<Libraries> {
  started ??= (async () => {
    const unavailable: Partial<Record<Impl, string>> = {};
    const gpu = await Gpu.create();
    const ort = await OrtBench.create().catch((err: unknown) => void (unavailable.ort = errorText(err)));
    const tfjs = await TfjsBench.create().catch((err: unknown) => void (unavailable.tfjs = errorText(err)));
    return { gpu, ort: ort ?? null, tfjs: tfjs ?? null, unavailable };
  })();
  return started;
}

function adapters(libs: Libraries): Adapters {
  const out: Adapters = { ours: { ...libs.gpu.info } };
  if (libs.ort) out.ort = libs.ort.adapter;
  if (libs.tfjs) out.tfjs = libs.tfjs.adapter;
  return out;
}

export async function benchMatmul(sizes: Size[], opts: TimingOptions): Promise<MatmulBench> {
  const libs = await libraries();
  const results: MatmulSizeResult[] = [];
  for (const size of sizes) {
    console.log(`[bench] matmul ${size.M}×${size.N}×${size.K}`);
    results.push(await benchSize(libs, size, opts));
  }
  return { adapters: adapters(libs), unavailable: libs.unavailable, results };
}

/** Our outputs become the references of the other libraries once ours have finished. */
class OurOutputs {
  private readonly byLayout = new Map<Layout, Float32Array>();
  set(layout: Layout, output: Float32Array): void {
    this.byLayout.set(layout, output);
  }
  ref(layout: Layout): Reference {
    const values = this.byLayout.get(layout);
    if (!values) throw new Error(`no output of ours ${layout} to check against`);
    return { label: `ours ${layout}`, values };
  }
}

async function benchSize(libs: Libraries, size: Size, opts: TimingOptions): Promise<MatmulSizeResult> {
  const d = matmulData(size);
  const ours = new OurOutputs();
  const { candidates, failed } = await prepareAll(libs, d, ours, opts.reps);
  try {
    const timings = await timeInterleaved(candidates, opts);
    const entries: MatmulEntry[] = [];
    // Ours come first in `candidates`, so their outputs exist before the others are checked.
    for (const [i, c] of candidates.entries()) {
      const fin = timings.errors[i] === null ? await finishGuarded(c) : timings.errors[i]!;
      if (typeof fin !== 'string' && c.impl === 'ours') ours.set(c.layout, fin.output);
      entries.push(toEntry(size, c, timings.trials[i], fin));
    }
    return { ...size, flop: flopOf(size), reps: opts.reps, trials: opts.trials, entries: [...entries, ...failed] };
  } finally {
    for (const c of candidates) await c.dispose().catch(() => undefined);
  }
}

async function prepareAll(libs: Libraries, d: MatmulData, ours: OurOutputs, reps: number) {
  // Ours against float64 (sampled at big sizes); every other library against all of our C.
  const cpu = float64Reference(d);
  const candidates: Candidate[] = [
    oursCandidate(libs.gpu, d, 'nt', { reps, reference: cpu }),
    oursCandidate(libs.gpu, d, 'nn', { reps, reference: cpu }),
  ];
  const failed: MatmulEntry[] = [];
  const add = async (impl: Impl, layout: Layout, make: () => Promise<Candidate> | Candidate) => {
    try {
      candidates.push(await make());
    } catch (err) {
      failed.push(errorEntry(impl, layout, errorText(err)));
    }
  };
  const { ort, tfjs } = libs;
  if (ort) await add('ort', 'nn', () => ort.candidate(d, () => ours.ref('nn')));
  if (tfjs) {
    for (const layout of ['nt', 'nn'] as const) await add('tfjs', layout, () => tfjs.candidate(d, layout, reps, () => ours.ref(layout)));
  }
  return { candidates, failed };
}

async function finishGuarded(c: Candidate): Promise<Finished | string> {
  try {
    return await c.finish();
  } catch (err) {
    return errorText(err);
  }
}

function toEntry(size: Size, c: Candidate, trials: number[], fin: Finished | string): MatmulEntry {
  if (typeof fin === 'string') return { ...errorEntry(c.impl, c.layout, fin), wallMsTrials: trials, note: c.note };
  const wallMs = median(trials);
  return {
    impl: c.impl,
    layout: c.layout,
    wallMs,
    wallMsTrials: trials,
    gflops: gflopsOf(size, wallMs),
    gpuMs: fin.gpuMs,
    gpuGflops: gflopsOf(size, fin.gpuMs),
    check: fin.check,
    note: c.note,
  };
}

function errorEntry(impl: Impl, layout: Layout, error: string): MatmulEntry {
  return { impl, layout, wallMs: null, wallMsTrials: [], gflops: null, gpuMs: null, gpuGflops: null, check: null, note: '', error };
}
