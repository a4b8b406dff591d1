/**
 * The bench page's API, driven by scripts/bench.ts through Playwright (or by
 * hand from the console): globalThis.tesseraBench.matmul(sizes, reps).
 */
import { benchDemo, type DemoBenchResult, type DemoBenchSpec } from './demo';
import { benchDemoShare, type DemoShareResult, type DemoShareSpec } from './demo-share';
import { benchGeneration, type GenerationResult, type GenerationSpec } from './generation';
import { Gpu } from '../src/gpu/gpu';
import { drawLossChart } from './loss-chart';
import { benchMatmul } from './matmul';
import { benchTraining, type TrainingResult, type TrainingSpec } from './training';
import { simulateDemo, type DemoSimulationResult, type DemoSimulationSpec } from '../src/train/demo-simulation';
import type { MatmulBench, Size } from './types';

type SizeSpec = Size | [number, number, number];

export interface TesseraBench {
  /** Defaults: reps 5, warmup 1, trials 3 (median kept). */
  matmul(sizes: SizeSpec[], reps?: number, opts?: { warmup?: number; trials?: number }): Promise<MatmulBench>;
  /** Tokens/s and per-kernel shares of training steps, e.g. {preset: 'tiny', batch: 8, seqLen: 64, steps: 5}. */
  training(spec: TrainingSpec): Promise<TrainingResult>;
  /** Draws loss curves into the page for a screenshot; returns the element's selector. */
  lossChart(title: string, series: { name: string; losses: number[] }[]): string;
  /** DeMo replicas vs AdamW at equal tokens, e.g. {preset: 'tiny', replicas: 4, batchPerReplica: 2, seqLen: 32, steps: 30}. */
  demo(spec?: Partial<DemoBenchSpec>): Promise<DemoBenchResult>;
  /** One DeMo simulation alone (src/train/demo-simulation.ts), e.g. with {delay: 1}: no AdamW baseline. */
  demoSimulation(spec: DemoSimulationSpec): Promise<DemoSimulationResult>;
  /** DeMo encode + decode as a share of a round of spec.roundTokens, on a fresh device (bench/demo-share.ts). */
  demoShare(spec: DemoShareSpec): Promise<DemoShareResult>;
  /** Generation tokens/s (prefill and decode) with onnxruntime-web per backend (bench/generation.ts). */
  generation(spec: GenerationSpec): Promise<GenerationResult>;
}

function toSize(s: SizeSpec): Size {
  const [M, N, K] = Array.isArray(s) ? s : [s.M, s.N, s.K];
  for (const v of [M, N, K]) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`tesseraBench: bad size ${JSON.stringify(s)}`);
  }
  return { M, N, K };
}

const api: TesseraBench = {
  matmul: (sizes, reps = 5, opts = {}) => benchMatmul(sizes.map(toSize), { reps, warmup: opts.warmup ?? 1, trials: opts.trials ?? 3 }),
  training: (spec) => benchTraining(spec),
  lossChart: (title, series) => drawLossChart(title, series),
  demo: (spec) => benchDemo(spec),
  demoSimulation: (spec) => simulateDemo(spec),
  generation: (spec) => benchGeneration(spec, (line) => console.log(`[bench] ${line}`)),
  demoShare: async (spec) => {
    const gpu = await Gpu.create();
    try {
      return await benchDemoShare(gpu, spec, { log: (line) => console.log(`[bench] ${line}`) });
    } finally {
      gpu.device.destroy();
    }
  },
};

declare global {
  var tesseraBench: TesseraBench;
}

globalThis.tesseraBench = api;
const status = document.getElementById('status');
if (status) status.textContent = 'ready: call tesseraBench.matmul([[256, 256, 256]], 5) from the console';
