/**
 * One batched DeMo compress or apply over a table, from host arrays to host
 * arrays on fresh GPU buffers (destroyed after): what the devtools API
 * (src/devtools/demo-api.ts) and the kernel checks run. The trainer keeps its
 * buffers instead.
 */
import type { Gpu } from '../../gpu/gpu';
import { timeDispatches } from '../check';
import { demoApply, demoApplyScratchBytes, demoBasisBuffer } from './demo-apply';
import { demoCompress, demoCompressScratchBytes, demoDctBasisBuffer } from './demo-compress';
import { demoTableBuffer } from './demo-layout';
import type { DemoTable } from './demo-table';

export interface CompressRun {
  label?: string;
  quantize1bit: boolean;
  lr: number;
  decay: number;
  /** The flat gradient and starting momentum, `total` floats each. */
  grad: Float32Array;
  momentum: Float32Array;
  gridLimit?: number;
  /** Time this many runs of the dispatches after the checked one (they change the momentum further). */
  timeReps?: number;
}

export interface CompressOutput {
  /** [table.entries]. */
  indices: Uint32Array;
  values: Float32Array;
  /** The whole flat momentum after the step. */
  momentum: Float32Array;
  /** ms per run when timeReps was given, else NaN. */
  ms: number;
}

/** One demoCompress of every tensor of `table` from fresh buffers; `label` names the submit. */
export async function compressOnce(gpu: Gpu, table: DemoTable, run: CompressRun): Promise<CompressOutput> {
  const owned = [
    gpu.upload('demo.once.grad', run.grad),
    gpu.upload('demo.once.momentum', run.momentum),
    demoTableBuffer(gpu, table),
    demoDctBasisBuffer(gpu, table),
    gpu.buffer('demo.once.indices', table.entries * 4),
    gpu.buffer('demo.once.values', table.entries * 4),
    gpu.buffer('demo.once.scratch', demoCompressScratchBytes(table)),
    gpu.buffer('demo.once.scratch', demoCompressScratchBytes(table)),
  ];
  const [grad, momentum, tableBuffer, basis, indices, values, rows, coeffs] = owned;
  try {
    const dispatches = demoCompress(gpu, {
      table, tableBuffer, gridLimit: run.gridLimit, quantize1bit: run.quantize1bit, lr: run.lr, decay: run.decay,
      grad, momentum, basis, indices, values, scratch: [rows, coeffs],
    });
    gpu.run(run.label ?? 'demo.compress', dispatches);
    const out = {
      indices: await gpu.readU32(indices, table.entries),
      values: await gpu.readF32(values, table.entries),
      momentum: await gpu.readF32(momentum, run.momentum.length),
    };
    const ms = run.timeReps === undefined ? Number.NaN : await timeDispatches(gpu, 'demo.compress', dispatches, run.timeReps);
    return { ...out, ms };
  } finally {
    for (const b of owned) b.destroy();
  }
}

export interface ApplyRun {
  label?: string;
  lr: number;
  decay: number;
  /** The flat parameters before the step. */
  param: Float32Array;
  /** packDemoUpdates of the run's M updates. */
  packed: { indices: Uint32Array; signs: Int32Array };
  updates: number;
  gridLimit?: number;
  /** Time this many runs of the dispatches after the checked one. */
  timeReps?: number;
}

/** One demoApply to every tensor of `table` from fresh buffers: the whole flat parameter buffer after it, and ms per run when timeReps was given (else NaN). */
export async function applyOnce(gpu: Gpu, table: DemoTable, run: ApplyRun): Promise<{ param: Float32Array; ms: number }> {
  const owned = [
    gpu.upload('demo.once.param', run.param),
    gpu.upload('demo.once.indices', run.packed.indices),
    gpu.upload('demo.once.signs', run.packed.signs),
    demoTableBuffer(gpu, table),
    demoBasisBuffer(gpu, table),
    gpu.buffer('demo.once.scratch', demoApplyScratchBytes(table)),
    gpu.buffer('demo.once.scratch', demoApplyScratchBytes(table)),
  ];
  const [param, indices, signs, tableBuffer, basis, mean, rows] = owned;
  try {
    const dispatches = demoApply(gpu, {
      table, tableBuffer, gridLimit: run.gridLimit, updates: run.updates, lr: run.lr, decay: run.decay,
      param, indices, signs, basis, scratch: [mean, rows],
    });
    gpu.run(run.label ?? 'demo.apply', dispatches);
    const out = await gpu.readF32(param, run.param.length);
    const ms = run.timeReps === undefined ? Number.NaN : await timeDispatches(gpu, 'demo.apply', dispatches, run.timeReps);
    return { param: out, ms };
  } finally {
    for (const b of owned) b.destroy();
  }
}
