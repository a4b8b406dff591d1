/**
 * tessera.demo (docs/design.md §8): DeMo's compress and apply steps on this page's
 * GPU, for kernel developers comparing them with the float64 reference from
 * devtools. One tensor each, run as a one-row tensor table through the same
 * batched kernels the trainer uses.
 */
import { elementCount } from '../demo/blocks';
import { decayFactorF32 } from '../demo/integer-decode';
import type { Gpu } from '../gpu/gpu';
import { pageGpu } from '../gpu/page-gpu';
import { packDemoUpdates } from '../kernels/demo/demo-apply';
import { applyOnce, compressOnce } from '../kernels/demo/demo-once';
import { demoTable } from '../kernels/demo/demo-table';

export interface DevtoolsCompressArgs {
  shape: number[];
  grad: Float32Array;
  momentum: Float32Array;
  lr: number;
  decay: number;
  chunk: number;
  topk: number;
  quantize1bit: boolean;
}

/** Steps 2–7 on the GPU: δ ← βδ + ηg, blockwise DCT, top-k, (1-bit), error feedback. */
export async function compressGradient(args: DevtoolsCompressArgs): Promise<{ indices: Uint32Array; values: Float32Array; momentum: Float32Array }> {
  const { shape, grad, momentum, chunk, topk, quantize1bit } = args;
  const table = demoTable([{ shape, offset: 0 }], chunk, topk);
  const n = table.elements;
  if (grad.length !== n || momentum.length !== n) throw new RangeError(`demo.compress: grad and momentum need ${n} values for shape [${shape}]`);
  const gpu = await pageGpu();
  const lr = Math.fround(args.lr);
  const decay = Math.fround(args.decay);
  const out = await compressOnce(gpu, table, { label: 'demo.devtools.compress', quantize1bit, lr, decay, grad, momentum });
  return { indices: out.indices, values: out.values, momentum: out.momentum };
}

export interface DevtoolsUpdate {
  indices: Uint32Array;
  values: ArrayLike<number>;
}

export interface DevtoolsApplyArgs {
  param: Float32Array;
  shape: number[];
  /** Each as demo.compress returned it, with 1-bit values (±1). */
  updates: DevtoolsUpdate[];
  /** Rounded to f32, as the coordinator sends it. */
  lr: number;
  chunk: number;
  weightDecay: number;
}

/**
 * p ← p·(1−ηλ), then p ← p − η·sign(idct(mean of the updates)), decoded
 * exactly in integers on the GPU: the page's, or `gpu` where there is no page
 * (the Node client's Dawn, compared bit for bit with the browsers').
 */
export async function applyUpdates(args: DevtoolsApplyArgs, gpu?: Gpu): Promise<Float32Array> {
  const { param, shape, updates, chunk, weightDecay } = args;
  const lr = Math.fround(args.lr);
  if (param.length !== elementCount(shape)) throw new RangeError(`demo.apply: param has ${param.length} values, shape [${shape}] needs ${elementCount(shape)}`);
  // Every update of a round keeps the same k per block; read it off the first.
  const blocks = demoTable([{ shape, offset: 0 }], chunk, 1).blocks;
  const topk = updates.length > 0 ? updates[0].indices.length / blocks : 1;
  if (!Number.isInteger(topk) || topk < 1) throw new RangeError(`demo.apply: an update's indices do not split into ${blocks} blocks`);
  for (const u of updates) {
    for (let i = 0; i < u.values.length; i++) {
      if (u.values[i] !== 1 && u.values[i] !== -1) throw new RangeError('demo.apply decodes 1-bit updates exactly: every value must be ±1');
    }
  }
  const table = demoTable([{ shape, offset: 0 }], chunk, topk);
  // Validates every update (lengths, indices, ±1 values) before touching the GPU.
  const packed = packDemoUpdates(table, updates.map((u) => [u]));
  const run = { label: 'demo.devtools.apply', lr, decay: decayFactorF32(lr, weightDecay), param, packed, updates: updates.length };
  return (await applyOnce(gpu ?? (await pageGpu()), table, run)).param;
}
