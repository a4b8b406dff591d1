import code from '../../../shaders/checksum.wgsl?raw';
import type { Dispatch, Gpu } from '../../gpu/gpu';
import { params } from '../../gpu/params';
import { specialize } from '../../gpu/wgsl';
import { foldGrid } from '../../gpu/grid';

const WG = 256;
// As in gradnorm: one barrier tree per 16k elements keeps the pass memory-bound.
const PER_THREAD = 64;
/** Elements hashed by one workgroup into one partial pair. */
export const CHECKSUM_CHUNK = WG * PER_THREAD;

/** Length in u32 words of the checksum output: [lane A, lane B], 64 bits together. */
export const CHECKSUM_OUT_LENGTH = 2;

/** Length in u32 words of the partials scratch buffer for `n` elements (a [sum, xor] pair per chunk). */
export function checksumScratchLength(n: number): number {
  return 2 * Math.max(1, chunks(n));
}

function chunks(n: number): number {
  return Math.ceil(n / CHECKSUM_CHUNK);
}

export interface ChecksumArgs {
  /** Elements to hash (f32 words): e.g. the model's layout.totalFloats, gaps included. */
  n: number;
  /** f32 [n] (read as raw u32 bit patterns), read only. */
  data: GPUBuffer;
  /** u32 [checksumScratchLength(n)], scratch (overwritten). */
  partials: GPUBuffer;
  /** u32 [CHECKSUM_OUT_LENGTH], written: the checksum; equals paramChecksumCpu(data) word for word. */
  out: GPUBuffer;
  /** Test hook: pretend the device allows at most this many workgroups per grid dimension. */
  gridLimit?: number;
}

function pipeline(gpu: Gpu, entry: string): GPUComputePipeline {
  return gpu.pipeline('checksum', specialize(code, { WG, PER_THREAD }), entry);
}

/**
 * Two dispatches: `checksum.partials` (a [sum, xor] pair of index-salted
 * hashes per chunk of CHECKSUM_CHUNK elements) then `checksum.finish` (combines
 * the pairs and folds in n). Integer-only, so the two output words are the
 * same on every GPU for the same bits.
 */
export function paramChecksum(gpu: Gpu, args: ChecksumArgs): Dispatch[] {
  if (!Number.isInteger(args.n) || args.n < 0 || args.n > 0xffffffff) throw new RangeError(`checksum: bad n ${args.n}`);
  const limit = args.gridLimit ?? gpu.limits.maxComputeWorkgroupsPerDimension;
  const p = params().u32(args.n).u32(chunks(args.n)).bytes();
  return [
    {
      label: 'checksum.partials',
      pipeline: pipeline(gpu, 'partials'),
      params: p,
      buffers: [args.data, args.partials],
      workgroups: foldGrid(chunks(args.n), limit),
    },
    {
      label: 'checksum.finish',
      pipeline: pipeline(gpu, 'finish'),
      params: p,
      buffers: [args.partials, args.out],
      workgroups: [1],
    },
  ];
}
