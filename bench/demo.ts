/**
 * DeMo vs AdamW at equal tokens (docs/design.md §10): N replicas exchange codec
 * bytes (src/train/demo-simulation.ts) while one AdamW replica trains on the
 * same sequences with N× the batch. Reports bytes per update against the dense
 * fp32 gradient, the encode+decode share of a step, and the loss curves of
 * AdamW, DeMo and DeMo one round stale (delay 1, as pipelined rounds train).
 */
import { simulateAdamW, simulateDemo, type DemoSimulationResult, type DemoSimulationSpec } from '../src/train/demo-simulation';
import type { ScheduleName } from '../src/train/schedule';

export interface DemoBenchSpec {
  preset: string;
  replicas: number;
  batchPerReplica: number;
  seqLen: number;
  steps: number;
  lr: number;
  /** AdamW's learning rate (default: lr). */
  adamwLr?: number;
  /** Both optimizers follow the same schedule shape (default constant). */
  schedule?: ScheduleName;
  warmupSteps?: number;
  chunk?: number;
  topk?: number;
  weightDecay?: number;
}

export interface DemoBenchResult {
  spec: DemoBenchSpec;
  demo: DemoSimulationResult;
  /** The same run with delay 1: every step's gradients one agreed set stale. */
  delayed: DemoSimulationResult;
  adamw: { lr: number; losses: number[] };
  final: FinalLosses;
}

/** Final losses at equal tokens: each the mean of the last `window` steps, the same steps and sequences for all three. */
export interface FinalLosses {
  steps: number;
  tokensPerStep: number;
  tokens: number;
  window: number;
  adamw: number;
  demo: number;
  delayed: number;
  demoOverAdamw: number;
  delayedOverAdamw: number;
  delayedOverDemo: number;
}

export const DEFAULT_DEMO_BENCH: DemoBenchSpec = { preset: 'tinyDemo', replicas: 4, batchPerReplica: 2, seqLen: 32, steps: 30, lr: 3e-3 };

/** A tenth of the run, at most 20 steps: one step's loss is one batch's, too noisy to compare. */
export function finalWindow(steps: number): number {
  return Math.max(1, Math.min(20, Math.ceil(steps / 10)));
}

export function finalLosses(spec: DemoBenchSpec, adamw: number[], demo: number[], delayed: number[]): FinalLosses {
  const window = finalWindow(spec.steps);
  const tail = (xs: number[]) => xs.slice(-window).reduce((a, b) => a + b, 0) / window;
  const [a, d, dd] = [tail(adamw), tail(demo), tail(delayed)];
  const tokensPerStep = spec.replicas * spec.batchPerReplica * spec.seqLen;
  return {
    steps: spec.steps,
    tokensPerStep,
    tokens: tokensPerStep * spec.steps,
    window,
    adamw: a,
    demo: d,
    delayed: dd,
    demoOverAdamw: d / a,
    delayedOverAdamw: dd / a,
    delayedOverDemo: dd / d,
  };
}

export async function benchDemo(input: Partial<DemoBenchSpec> = {}): Promise<DemoBenchResult> {
  // Unset fields (undefined from an absent flag) keep the defaults.
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const spec: DemoBenchSpec = { ...DEFAULT_DEMO_BENCH, ...given };
  const demoSpec: DemoSimulationSpec = {
    preset: spec.preset,
    replicas: spec.replicas,
    batchPerReplica: spec.batchPerReplica,
    seqLen: spec.seqLen,
    steps: spec.steps,
    lr: spec.lr,
    schedule: spec.schedule,
    warmupSteps: spec.warmupSteps,
    chunk: spec.chunk,
    topk: spec.topk,
    weightDecay: spec.weightDecay,
  };
  const demo = await simulateDemo(demoSpec);
  const delayed = await simulateDemo({ ...demoSpec, delay: 1 });
  const adamwLr = spec.adamwLr ?? spec.lr;
  const adamw = await simulateAdamW({
    preset: spec.preset,
    batch: spec.replicas * spec.batchPerReplica,
    seqLen: spec.seqLen,
    steps: spec.steps,
    lr: adamwLr,
    schedule: spec.schedule,
    warmupSteps: spec.warmupSteps,
    weightDecay: spec.weightDecay,
  });
  return { spec, demo, delayed, adamw: { lr: adamwLr, losses: adamw.losses }, final: finalLosses(spec, adamw.losses, demo.losses, delayed.losses) };
}
