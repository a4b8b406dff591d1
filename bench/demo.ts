/**
 * DeMo vs AdamW at equal tokens (docs/design.md §10): N replicas exchange codec
 * bytes (src/train/demo-simulation.ts) while one AdamW replica trains on the
 * same sequences with N× the batch. Reports bytes per update against the dense
 * fp32 gradient, the encode+decode share of a step, and both loss curves.
 */
import { simulateAdamW, simulateDemo, type DemoSimulationResult } from '../src/train/demo-simulation';
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
  adamw: { lr: number; losses: number[] };
}

export const DEFAULT_DEMO_BENCH: DemoBenchSpec = { preset: 'tinyDemo', replicas: 4, batchPerReplica: 2, seqLen: 32, steps: 30, lr: 3e-3 };

export async function benchDemo(input: Partial<DemoBenchSpec> = {}): Promise<DemoBenchResult> {
  // Unset fields (undefined from an absent flag) keep the defaults.
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const spec: DemoBenchSpec = { ...DEFAULT_DEMO_BENCH, ...given };
  const demo = await simulateDemo({
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
  });
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
  return { spec, demo, adamw: { lr: adamwLr, losses: adamw.losses } };
}
