/**
 * GPU memory the model needs, without a GPU: the fixed buffers (parameters,
 * gradients, RoPE tables) and what its buffer pool holds for one batch shape.
 * The pool's size is counted by asking the very functions the forward and
 * backward use (layerActs, finalActs, backwardScratch) for their buffers
 * against a pool that only counts, so it cannot drift from what they
 * allocate; src/train/memory-plan.test.ts checks it against a real pool.
 */
import { allocatedBytes } from '../gpu/gpu';
import { CHECKSUM_OUT_LENGTH, checksumScratchLength } from '../kernels/checksum/checksum';
import { backwardScratch } from './backward';
import { modelDims, parameterSpecs, type ModelConfig } from './config';
import { finalActs, layerActs, type BatchShape, type ModelContext } from './model-context';
import { planLayout } from './param-layout';

/** A BufferPool that allocates nothing: like the real one, each name keeps its largest request. */
class CountingPool {
  private readonly floats = new Map<string, number>();
  get(name: string, floats: number): GPUBuffer {
    this.floats.set(name, Math.max(floats, this.floats.get(name) ?? 0));
    return null as unknown as GPUBuffer;
  }
  get bytes(): number {
    let n = 0;
    for (const f of this.floats.values()) n += allocatedBytes(f * 4);
    return n;
  }
  /** The largest single buffer: it must fit the adapter's maxStorageBufferBindingSize. */
  get largest(): number {
    return Math.max(0, ...[...this.floats.values()].map((f) => allocatedBytes(f * 4)));
  }
}

export interface ModelMemory {
  /** Parameters and their gradients (flat, in the model's layout). */
  params: number;
  grads: number;
  rope: number;
  /** The buffer pool after a training step on `shape` and a checksum. */
  pool: number;
  /** Its largest buffer (the logits, usually). */
  largestPoolBuffer: number;
}

export function modelMemory(config: ModelConfig, shape: BatchShape): ModelMemory {
  const layout = planLayout(parameterSpecs(config));
  const dims = modelDims(config);
  const pool = new CountingPool();
  const ctx = { dims, pool } as unknown as ModelContext;
  for (let l = 0; l < dims.L; l++) layerActs(ctx, l, shape);
  finalActs(ctx, shape);
  backwardScratch(ctx, shape);
  // GpuModel.uploadBuckets (the embedding gradient's token buckets) and GpuModel.checksum.
  pool.get('emb.offsets', dims.V + 1);
  pool.get('emb.positions', shape.B * shape.S);
  pool.get('checksum.partials', checksumScratchLength(layout.totalFloats));
  pool.get('checksum.out', CHECKSUM_OUT_LENGTH);
  const flat = allocatedBytes(layout.totalFloats * 4);
  // ropeTables: cos and sin, [max_position_embeddings, dr/2] each.
  const rope = 2 * allocatedBytes(config.max_position_embeddings * (dims.dr / 2) * 4);
  return { params: flat, grads: flat, rope, pool: pool.bytes, largestPoolBuffer: pool.largest };
}
