import code from '../../../shaders/embedding.wgsl?raw';
import type { Binding, Dispatch, Gpu } from '../../gpu/gpu';
import { params } from '../../gpu/params';
import { elementGrid } from '../../gpu/grid';

/** Threads per workgroup; must match WG in shaders/embedding.wgsl. */
const WG = 256;

/** Token positions grouped by token id, in CSR form. */
export interface TokenBuckets {
  /** [V+1]: the positions of id v are positions[offsets[v] … offsets[v+1]). */
  offsets: Uint32Array;
  /** [n]: token positions (indices into ids), increasing within each bucket. */
  positions: Uint32Array;
}

/** Throws a RangeError naming the first id outside [0, V) (or not an integer). */
export function checkTokenIds(ids: ArrayLike<number>, V: number): void {
  if (!Number.isInteger(V) || V <= 0) throw new RangeError(`embedding: vocab_size must be a positive integer, got ${V}`);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= V) {
      throw new RangeError(`embedding: token id ${id} at position ${i} is outside the vocabulary [0, ${V})`);
    }
  }
}

/**
 * Buckets positions by token id (a stable counting sort), validating the ids.
 * The backward sums each bucket in this order, so it is deterministic; the
 * caller computes this once per batch on the CPU and uploads both arrays.
 */
export function bucketTokens(ids: ArrayLike<number>, V: number): TokenBuckets {
  checkTokenIds(ids, V);
  const offsets = new Uint32Array(V + 1);
  for (let i = 0; i < ids.length; i++) offsets[ids[i] + 1]++;
  for (let v = 0; v < V; v++) offsets[v + 1] += offsets[v];
  const next = offsets.slice(0, V);
  const positions = new Uint32Array(ids.length);
  // Visiting positions in increasing order keeps each bucket sorted.
  for (let i = 0; i < ids.length; i++) positions[next[ids[i]]++] = i;
  return { offsets, positions };
}

export interface EmbeddingForwardArgs {
  /** Tokens: B·S. */
  n: number;
  /** vocab_size. */
  V: number;
  /** hidden_size. */
  D: number;
  /** Token ids [n] as u32 (validated on the CPU with checkTokenIds or bucketTokens; an invalid id yields a zero row). */
  ids: Binding;
  /** embed_tokens.weight [V, D]. */
  table: Binding;
  /** Output [n, D], overwritten. */
  y: Binding;
}

export interface EmbeddingBackwardArgs {
  V: number;
  D: number;
  /** bucketTokens(ids, V).offsets uploaded [V+1] u32. */
  offsets: Binding;
  /** bucketTokens(ids, V).positions uploaded [n] u32. */
  positions: Binding;
  /** Gradient of the forward output [n, D]. */
  dy: Binding;
  /** Gradient of embed_tokens.weight [V, D]: every row overwritten, or added to when accumulate. */
  dTable: Binding;
  /** dTable += gradient (gradient accumulation) instead of dTable = gradient. */
  accumulate?: boolean;
}

/** y[t] = table[ids[t]]. */
export function embeddingForward(gpu: Gpu, args: EmbeddingForwardArgs): Dispatch {
  return {
    label: 'embedding.forward',
    pipeline: gpu.pipeline('embedding.forward', code, 'forward'),
    params: params().u32(args.n).u32(args.D).u32(args.V).bytes(),
    buffers: [args.ids, args.table, args.y],
    workgroups: elementGrid(gpu, args.n * args.D, WG),
  };
}

/** dTable[v] (+)= Σ dy[t] over the positions t of id v, in increasing t. */
export function embeddingBackward(gpu: Gpu, args: EmbeddingBackwardArgs): Dispatch {
  return {
    label: 'embedding.backward',
    pipeline: gpu.pipeline('embedding.backward', code, 'backward'),
    params: params().u32(args.V).u32(args.D).u32(args.accumulate ? 1 : 0).bytes(),
    buffers: [args.offsets, args.positions, args.dy, args.dTable],
    workgroups: elementGrid(gpu, args.V * args.D, WG),
  };
}

