/**
 * The memory plan (src/train/memory-plan.ts planMemory) against what a
 * replica really allocated after a round of the same shape: the plan decides
 * a tab's micro-batch and whether it may join at all, so an undercount would
 * let a tab run out of memory halfway through a round, and an overcount
 * would turn away tabs that fit.
 */
import type { Gpu } from '../src/gpu/gpu';
import type { ModelConfig } from '../src/model/config';
import { planMemory, type MemoryPlan } from '../src/train/memory-plan';
import type { AllocSnapshot } from './alloc-tracker';

export interface MemoryPlanShape {
  model: ModelConfig;
  seqLen: number;
  /** Sequences of the round (the plan's maxSequences). */
  sequences: number;
  /** Agreed updates applied per round (the plan's maxUpdates). */
  updates: number;
  chunk: number;
  topk: number;
  /** Bytes this tab may use. */
  budget: number;
}

export function planFor(gpu: Gpu, s: MemoryPlanShape): MemoryPlan {
  const { maxBufferSize, maxStorageBufferBindingSize } = gpu.limits;
  return planMemory({
    model: s.model,
    seqLen: s.seqLen,
    optimizer: { chunk: s.chunk, topk: s.topk },
    maxSequences: s.sequences,
    maxUpdates: s.updates,
    budget: s.budget,
    limits: { maxBufferSize, maxStorageBufferBindingSize },
  });
}

/** Plan parts as the allocations' labels name them: the plan's categories, measured. */
const PARTS: { part: keyof MemoryPlan['bytes']; match: (label: string) => boolean }[] = [
  { part: 'weights', match: (l) => l === 'model.params' },
  { part: 'gradients', match: (l) => l === 'model.grads' },
  { part: 'momentum', match: (l) => l === 'demo.momentum' },
  { part: 'activations', match: (l) => l.startsWith('model.act.') },
  { part: 'demo', match: (l) => (l.startsWith('demo.') && l !== 'demo.momentum') || l.startsWith('rope.') },
];

export interface MemoryCheck {
  plan: MemoryPlan;
  allocated: Omit<AllocSnapshot, 'byLabel'>;
  /** Per plan part: planned and allocated bytes; 'other' is live storage no part names. */
  parts: { part: string; planned: number | null; allocated: number }[];
  /** Live storage − planned total: > 0 means the plan undercounts. */
  difference: number;
  /** The largest live storage buffers, for reading a difference. */
  largest: AllocSnapshot['byLabel'];
}

export function checkMemory(plan: MemoryPlan, snap: AllocSnapshot): MemoryCheck {
  const parts: MemoryCheck['parts'] = PARTS.map(({ part, match }) => ({
    part,
    planned: plan.bytes[part],
    allocated: snap.byLabel.filter((b) => match(b.label)).reduce((a, b) => a + b.bytes, 0),
  }));
  const named = parts.reduce((a, p) => a + p.allocated, 0);
  parts.push({ part: 'other', planned: null, allocated: snap.storage - named });
  const { byLabel, ...allocated } = snap;
  return { plan, allocated, parts, difference: snap.storage - plan.bytes.total, largest: byLabel.slice(0, 12) };
}
