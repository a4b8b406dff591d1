/**
 * tessera.demo (DESIGN.md §8): DeMo's apply step on this page's GPU, for
 * kernel developers comparing it with the float64 reference from devtools.
 */
import { blockGrid, blockShape, keptPerBlock } from '../demo/blocks';
import { decayFactorF32 } from '../demo/integer-decode';
import { pageGpu } from '../gpu/page-gpu';
import { demoApply, demoApplyScratchBytes, demoBasisBuffer, packDemoUpdates } from '../kernels/demo/demo-apply';
import { demoCompress, demoCompressScratchBytes, demoDctBasisBuffer } from '../kernels/demo/demo-compress';

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
  const block = blockShape(shape, chunk);
  const grid = blockGrid(shape, block);
  const n = grid.R * grid.C;
  if (grad.length !== n || momentum.length !== n) throw new RangeError(`demo.compress: grad and momentum need ${n} values for shape [${shape}]`);
  const k = keptPerBlock(grid.size, topk);
  const gpu = await pageGpu();
  const buffers = [
    gpu.upload('demo.devtools.grad', grad),
    gpu.upload('demo.devtools.momentum', momentum),
    demoDctBasisBuffer(gpu, grid.cr),
    demoDctBasisBuffer(gpu, grid.cc),
    gpu.buffer('demo.devtools.indices', grid.count * k * 4),
    gpu.buffer('demo.devtools.values', grid.count * k * 4),
    gpu.buffer('demo.devtools.scratch', demoCompressScratchBytes(n)),
  ];
  const [g, m, basisRows, basisCols, indices, values, scratch] = buffers;
  try {
    gpu.run(
      'demo.devtools.compress',
      demoCompress(gpu, { shape, block, k, quantize1bit, lr: Math.fround(args.lr), decay: Math.fround(args.decay), grad: g, momentum: m, basisRows, basisCols, indices, values, scratch }),
    );
    const [idx, val, mom] = await Promise.all([gpu.readU32(indices, grid.count * k), gpu.readF32(values, grid.count * k), gpu.readF32(m, n)]);
    return { indices: idx, values: val, momentum: mom };
  } finally {
    for (const b of buffers) b.destroy();
  }
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

/** p ← p·(1−ηλ), then p ← p − η·sign(idct(mean of the updates)), decoded exactly in integers on the GPU. */
export async function applyUpdates(args: DevtoolsApplyArgs): Promise<Float32Array> {
  const { param, shape, updates, chunk, weightDecay } = args;
  const lr = Math.fround(args.lr);
  const block = blockShape(shape, chunk);
  const grid = blockGrid(shape, block);
  if (param.length !== grid.R * grid.C) throw new RangeError(`demo.apply: param has ${param.length} values, shape [${shape}] needs ${grid.R * grid.C}`);
  // Every update of a round keeps the same k per block; read it off the first.
  const topk = updates.length > 0 ? updates[0].indices.length / grid.count : 1;
  if (!Number.isInteger(topk) || topk < 1) throw new RangeError(`demo.apply: an update's indices do not split into ${grid.count} blocks`);
  for (const u of updates) {
    for (let i = 0; i < u.values.length; i++) {
      if (u.values[i] !== 1 && u.values[i] !== -1) throw new RangeError('demo.apply decodes 1-bit updates exactly: every value must be ±1');
    }
  }
  const packed = packDemoUpdates(
    updates.map((u) => ({ indices: u.indices, values: Float64Array.from(u.values) })),
    shape,
    block,
    topk,
  );
  const gpu = await pageGpu();
  const rows = demoBasisBuffer(gpu, grid.cr);
  const cols = demoBasisBuffer(gpu, grid.cc);
  const buffers = [
    gpu.upload('demo.devtools.param', param),
    gpu.upload('demo.devtools.indices', packed.indices),
    gpu.upload('demo.devtools.signs', packed.signs),
    gpu.buffer('demo.devtools.scratch', demoApplyScratchBytes(param.length)),
  ];
  const [p, indices, signs, scratch] = buffers;
  try {
    gpu.run(
      'demo.devtools.apply',
      demoApply(gpu, {
        shape,
        block,
        k: packed.k,
        updates: updates.length,
        lr,
        decay: decayFactorF32(lr, weightDecay),
        param: p,
        indices,
        signs,
        basisRows: rows,
        basisCols: cols,
        scratch,
      }),
    );
    return await gpu.readF32(p, param.length);
  } finally {
    for (const b of [...buffers, rows, cols]) b.destroy();
  }
}
