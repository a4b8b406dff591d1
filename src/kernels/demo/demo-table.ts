/**
 * The tensor table the batched DeMo kernels read (shaders/demo_blocks.wgsl):
 * one u32 record per tensor saying where its elements sit in the flat
 * buffers, where its elements and blocks start in the concatenated element
 * and block spaces, where its kept entries start in the indices/values, its
 * block grid, k, and where its DCT bases start in the concatenated basis
 * buffer. Built once per model (or per devtools call) on the CPU.
 */
import { blockGrid, blockShape, elementCount, keptPerBlock, type BlockGrid } from '../../demo/blocks';

/** Blocks beyond 64 per side are outside integer-decode.ts's proof that no i32 wraps. */
export const DEMO_MAX_BLOCK_SIDE = 64;

/** Most coefficients kept per block (the top-k workgroup holds its picks in a fixed array). */
export const DEMO_MAX_TOPK = 64;

/** u32 words of one record: the fields of the WGSL struct Tensor, in order. */
export const DEMO_TABLE_WORDS = 13;

/** Words of apply's row masks per block column: one bit per block row, up to DEMO_MAX_BLOCK_SIDE. */
export const DEMO_MASK_WORDS = DEMO_MAX_BLOCK_SIDE / 32;

/** One tensor to put in a table: its shape and its element offset in the flat buffers. */
export interface DemoTensorSpec {
  shape: readonly number[];
  offset: number;
}

export interface DemoTableTensor {
  shape: number[];
  /** blockShape(shape, chunk). */
  block: number[];
  grid: BlockGrid;
  /** keptPerBlock(block elements, topk), as the wire carries it. */
  k: number;
  /** First element in the flat buffers (grads, momentum, params). */
  offset: number;
  /** First element in the element space (and the scratch buffers). */
  first: number;
  firstBlock: number;
  /** First entry in the indices/values of one update, and how many (blocks·k). */
  out: number;
  entries: number;
  /** First word of its blocks' column row masks in apply's mask scratch (DEMO_MASK_WORDS per block column). */
  masks: number;
}

export interface DemoTable {
  chunk: number;
  topk: number;
  tensors: DemoTableTensor[];
  /** Σ R·C: the element grid, and the length of each scratch buffer. */
  elements: number;
  /** Σ block counts: the top-k grid. */
  blocks: number;
  /** Σ blocks·k: the length of one update's indices (and values). */
  entries: number;
  /** One past the last element any tensor covers in the flat buffers. */
  span: number;
  /** Σ blocks·cc·DEMO_MASK_WORDS: apply's row masks, one bitmask of rows per block column. */
  maskWords: number;
  /** Distinct block sides, in basis order, and each one's offset in the concatenated bases. */
  sides: number[];
  basisOffset: ReadonlyMap<number, number>;
  /** Σ side² over `sides`. */
  basisLength: number;
  /** DEMO_TABLE_WORDS u32 per tensor. */
  records: Uint32Array;
}

/**
 * The table of `specs` in the given order, with DeMo's blocks for `chunk`
 * and `topk`. Flat ranges must ascend without overlapping: the kernels
 * update them in place, one thread per element.
 */
export function demoTable(specs: readonly DemoTensorSpec[], chunk: number, topk: number): DemoTable {
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > DEMO_MAX_BLOCK_SIDE) {
    throw new RangeError(`demoTable: chunk must be an integer in [1, ${DEMO_MAX_BLOCK_SIDE}], got ${chunk}`);
  }
  if (!Number.isInteger(topk) || topk < 1 || topk > DEMO_MAX_TOPK) {
    throw new RangeError(`demoTable: topk must be an integer in [1, ${DEMO_MAX_TOPK}], got ${topk}`);
  }
  if (specs.length === 0) throw new RangeError('demoTable: no tensors');
  const tensors: DemoTableTensor[] = [];
  let span = 0;
  let [elements, blocks, entries, maskWords] = [0, 0, 0, 0];
  specs.forEach((s, t) => {
    if (!Number.isInteger(s.offset) || s.offset < span) {
      throw new RangeError(`demoTable: tensor ${t} at offset ${s.offset} overlaps the one before (which ends at ${span}) or is not an integer`);
    }
    const block = blockShape(s.shape, chunk);
    const grid = blockGrid(s.shape, block);
    const k = keptPerBlock(grid.size, topk);
    tensors.push({ shape: [...s.shape], block, grid, k, offset: s.offset, first: elements, firstBlock: blocks, out: entries, entries: grid.count * k, masks: maskWords });
    span = s.offset + elementCount(s.shape);
    elements += grid.R * grid.C;
    blocks += grid.count;
    entries += grid.count * k;
    maskWords += grid.count * grid.cc * DEMO_MASK_WORDS;
  });
  // Every index the kernels form stays below these, so u32 arithmetic cannot wrap.
  if (span >= 2 ** 32 || elements >= 2 ** 31 || elements + maskWords >= 2 ** 32) {
    throw new RangeError(`demoTable: ${elements} elements (${maskWords} mask words) spanning ${span} do not fit u32 indexing`);
  }
  const sides = [...new Set(tensors.flatMap((t) => [t.grid.cr, t.grid.cc]))];
  const basisOffset = new Map<number, number>();
  let basisLength = 0;
  for (const n of sides) {
    basisOffset.set(n, basisLength);
    basisLength += n * n;
  }
  const records = new Uint32Array(tensors.length * DEMO_TABLE_WORDS);
  tensors.forEach((t, i) => {
    const g = t.grid;
    const record = [t.offset, t.first, t.firstBlock, t.out, g.R, g.C, g.cr, g.cc, g.blocksAcross, t.k, basisOffset.get(g.cr)!, basisOffset.get(g.cc)!, t.masks];
    records.set(record, i * DEMO_TABLE_WORDS);
  });
  return { chunk, topk, tensors, elements, blocks, entries, span, maskWords, sides, basisOffset, basisLength, records };
}

/** The bases of every side of `table`, concatenated at its basisOffset (f32 DCT or i32 quantized). */
export function concatBases<T extends Float32Array | Int32Array>(table: DemoTable, out: T, basis: (n: number) => ArrayLike<number>): T {
  if (out.length !== table.basisLength) throw new RangeError(`concatBases: ${out.length} slots for ${table.basisLength} basis values`);
  for (const n of table.sides) out.set(basis(n), table.basisOffset.get(n)!);
  return out;
}
