/**
 * A tab's memory plan (docs/design.md §13): what the model, its gradients, DeMo
 * and the activations of one micro-batch take on the GPU, and so how many
 * sequences a forward/backward may carry. Built from the model config and
 * the adapter's limits before anything is downloaded, so a tab that cannot
 * hold the model says so, with the numbers, instead of failing halfway.
 *
 * WebGPU tells a page nothing about how much memory its GPU has, only the
 * largest buffer it may create and bind; the budget is the volunteer's
 * setting (the Contribute page; run-client.ts DEFAULT_GPU_MEMORY unless they
 * change it).
 */
import { formatBytes } from '../app/format';
import { demoTable } from '../kernels/demo/demo-table';
import { modelMemory } from '../model/batch-memory';
import { parameterSpecs, type ModelConfig } from '../model/config';
import { planLayout } from '../model/param-layout';
import { MAX_PROOF_UNITS } from '../protocol/update-codec';
import { demoBufferBytes, demoRoundBytes } from './demo-trainer';
import type { MemoryPlan } from './run-worker-protocol';

export type { MemoryPlan };

/** More sequences a micro-batch gain little on any GPU we have and cost memory linearly. */
export const MAX_MICRO_BATCH = 64;

export interface PlanInput {
  model: ModelConfig;
  seqLen: number;
  optimizer: { chunk: number; topk: number };
  /** Most sequences the tab may be assigned in a round (the run's largest global batch). */
  maxSequences: number;
  /** Most updates a round may agree (one per member; at most the global batch). */
  maxUpdates: number;
  /** The GPU memory this tab may use, in bytes. */
  budget: number;
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number };
}

/**
 * The largest micro-batch (up to the sequences of one proof unit: a
 * micro-batch never crosses one) whose total fits the budget and whose every
 * buffer fits the adapter's binding limit.
 */
export function planMemory(input: PlanInput): MemoryPlan {
  const { model, seqLen, budget, limits } = input;
  const layout = planLayout(parameterSpecs(model));
  const table = demoTable(layout.slots, input.optimizer.chunk, input.optimizer.topk);
  const demoFixed = demoBufferBytes(table, layout.totalFloats);
  const demo = demoFixed.normPartials + demoFixed.normOut + demoFixed.scratch + demoFixed.tables + demoFixed.kept + demoFixed.sketchPartials + demoRoundBytes(table, input.maxUpdates, input.maxSequences);
  const at = (k: number) => modelMemory(model, { B: k, S: seqLen });
  const one = at(1);
  const fixed = one.params + one.grads + one.rope + demoFixed.momentum + demo;
  const perSequence = one.pool;
  const unit = Math.ceil(input.maxSequences / MAX_PROOF_UNITS);
  const cap = Math.max(1, Math.min(MAX_MICRO_BATCH, unit));
  const bytes = (pool: number) => ({
    weights: one.params,
    gradients: one.grads,
    momentum: demoFixed.momentum,
    demo: demo + one.rope,
    activationsPerSequence: perSequence,
    activations: pool,
    total: fixed + pool,
  });
  const bindable = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  // Whole-buffer bindings: the flat parameters, gradients and momentum, and DeMo's scratch.
  const biggestFixed = Math.max(one.params, demoFixed.scratch / 2);
  if (biggestFixed > bindable) {
    return refuse(input, bytes(0), `the model's ${layout.parameterCount.toLocaleString('en-US')} parameters need ${formatBytes(biggestFixed)} buffers, but this GPU binds at most ${formatBytes(bindable)}`);
  }
  let best = 0;
  let bestPool = 0;
  for (let k = 1; k <= cap; k++) {
    const m = k === 1 ? one : at(k);
    if (m.largestPoolBuffer > bindable || fixed + m.pool > budget) break;
    best = k;
    bestPool = m.pool;
  }
  if (best === 0) {
    const why =
      one.largestPoolBuffer > bindable
        ? `one sequence of ${seqLen} tokens needs a ${formatBytes(one.largestPoolBuffer)} buffer, but this GPU binds at most ${formatBytes(bindable)}`
        : `the model needs ${formatBytes(fixed + perSequence)} (weights ${formatBytes(one.params)}, gradients ${formatBytes(one.grads)}, momentum ${formatBytes(demoFixed.momentum)}, DeMo ${formatBytes(demo + one.rope)}, one sequence's activations ${formatBytes(perSequence)}), more than the ${formatBytes(budget)} this tab may use`;
    return refuse(input, bytes(perSequence), why);
  }
  return { fits: true, microBatch: best, reason: null, budget, bytes: bytes(bestPool) };
}

function refuse(input: PlanInput, bytes: MemoryPlan['bytes'], reason: string): MemoryPlan {
  return { fits: false, microBatch: 0, reason: `this tab cannot train this model: ${reason}`, budget: input.budget, bytes };
}
