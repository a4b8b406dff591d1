/**
 * What demo-apply.ts and demo-compress.ts share: the WGSL part both modules
 * start with (shaders/demo_blocks.wgsl: the uniform params, the tensor table,
 * block addressing and tiles), its params packing, the table
 * upload and the pass builder.
 */
import blocksPart from '../../../shaders/demo_blocks.wgsl?raw';
import type { Binding, Dispatch, Gpu, Workgroups } from '../../gpu/gpu';
import { foldGrid } from '../../gpu/grid';
import { params } from '../../gpu/params';
import { specialize } from '../../gpu/wgsl';
import type { DemoTable } from './demo-table';

/** Threads per workgroup: a block pass gives each a 4×16 tile of its block (a block is at most 64×64); an entry pass, one kept entry. */
export const DEMO_WG = 64;

/** The arguments every batched DeMo op takes. */
export interface DemoTableArgs {
  table: DemoTable;
  /** demoTableBuffer(gpu, table). */
  tableBuffer: Binding;
  /** Test hook: pretend the device allows at most this many workgroups per grid dimension. */
  gridLimit?: number;
}

/** The table's records as a storage buffer; upload once per table. */
export function demoTableBuffer(gpu: Gpu, table: DemoTable): GPUBuffer {
  return gpu.upload('demo.table', table.records);
}

/** One 4-byte value per element of the table: each of compress's two scratch buffers, and the per-element part of apply's. */
export function demoScratchBytes(table: DemoTable): number {
  return table.elements * 4;
}

/** The uniform fields that differ between the ops; the unused ones stay 0. */
interface DemoScalars {
  updates?: number;
  quantize?: boolean;
  lr: number;
  decay: number;
}

/** The Params struct of shaders/demo_blocks.wgsl. */
function demoParams(table: DemoTable, s: DemoScalars): ArrayBuffer {
  return params()
    .u32(table.tensors.length)
    .u32(table.elements)
    .u32(table.blocks)
    .u32(table.entries)
    .u32(s.updates ?? 0)
    .u32(s.quantize ? 1 : 0)
    .f32(s.lr)
    .f32(s.decay)
    .bytes();
}

/** Which grid a pass runs on: one workgroup per block, or one thread per kept entry of every update (updates·entries). */
export type DemoGrid = 'blocks' | 'entries';

/** Builds the dispatch of one entry point of `variant`; `buffers` follow the table (binding 2 on). */
export type DemoPass = (label: string, entry: string, buffers: Binding[], grid?: DemoGrid) => Dispatch;

/** A pass builder for one table: every pass shares the module, the params, the table and the grids. */
export function demoPasses(gpu: Gpu, variant: string, args: DemoTableArgs, scalars: DemoScalars): DemoPass {
  const { table } = args;
  const limit = args.gridLimit ?? gpu.limits.maxComputeWorkgroupsPerDimension;
  const grids: Record<DemoGrid, Workgroups> = {
    blocks: foldGrid(table.blocks, limit),
    entries: foldGrid(Math.ceil(((scalars.updates ?? 0) * table.entries) / DEMO_WG), limit),
  };
  const shader = specialize(`${blocksPart}\n${variant}`, { WG: DEMO_WG });
  const uniform = demoParams(table, scalars);
  return (label, entry, buffers, on = 'blocks') => ({
    label,
    pipeline: gpu.pipeline(`demo.${entry}`, shader, entry),
    params: uniform,
    buffers: [args.tableBuffer, ...buffers],
    workgroups: grids[on],
  });
}

/** Throws unless `b` holds at least `count` 4-byte values (`what` names it in the error). */
export function requireWords(op: string, what: string, b: Binding, count: number): void {
  if (b.size < count * 4) throw new RangeError(`${op}: ${what} holds ${b.size} bytes, needs ${count * 4}`);
}
