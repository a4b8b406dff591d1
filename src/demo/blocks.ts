/**
 * The block rule of DeMo (docs/design.md §4 step 3) and the wire width of the
 * per-block coefficient indices (step 5). Every client must derive the same
 * blocks from the same shape, so the rule is a pure function of shape and chunk.
 */

/** Block shape for a tensor: [cr, cc] for 2-D [R, C], [c] for 1-D [n]. */
export function blockShape(shape: readonly number[], chunk: number): number[] {
  checkShape('blockShape', shape);
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`blockShape: chunk must be a positive integer, got ${chunk}`);
  return shape.map((n) => largestDivisorAtMost(n, chunk));
}

/**
 * Largest d ≤ limit with n % d === 0. A divisor (rather than padding) keeps
 * every block full, so all blocks share one basis and one index width.
 */
export function largestDivisorAtMost(n: number, limit: number): number {
  for (let d = Math.min(n, limit); d > 1; d--) if (n % d === 0) return d;
  return 1;
}

/**
 * Bits per index on the wire: ⌈log₂(block elements)⌉, the fewest that name
 * every element of a block (0 for a 1-element block, whose one index is 0).
 * docs/design.md §4 first said u8/u16/u32; a 64×64 block then spends 16 + 1 bits
 * per kept coefficient where 12 + 1 suffice, which caps an update at 964×
 * smaller than the dense gradient, under the 1000× target.
 */
export function indexBits(blockElements: number): number {
  if (!Number.isInteger(blockElements) || blockElements < 1 || blockElements > 2 ** 32) {
    throw new RangeError(`indexBits: blockElements must be an integer in [1, 2^32], got ${blockElements}`);
  }
  let bits = 0;
  while (2 ** bits < blockElements) bits++;
  return bits;
}

/**
 * A tensor seen as a grid of blocks. A 1-D tensor [n] with block [c] is the
 * 2-D case [1, n] with block [1, c]: the 1-point DCT is the identity, so one
 * code path serves both and the flat index u·cc+v reduces to v.
 */
export interface BlockGrid {
  /** Rows and columns of the tensor (R = 1 for 1-D). */
  R: number;
  C: number;
  /** Rows and columns of one block. */
  cr: number;
  cc: number;
  /** Blocks down and across; blocks are numbered row-major over the grid. */
  blocksDown: number;
  blocksAcross: number;
  /** Number of blocks and elements per block. */
  count: number;
  size: number;
}

export function blockGrid(shape: readonly number[], block: readonly number[]): BlockGrid {
  checkShape('blockGrid', shape);
  if (block.length !== shape.length) {
    throw new RangeError(`blockGrid: block [${block.join(', ')}] does not match the rank of shape [${shape.join(', ')}]`);
  }
  for (let d = 0; d < shape.length; d++) {
    if (!Number.isInteger(block[d]) || block[d] < 1 || shape[d] % block[d] !== 0) {
      throw new RangeError(`blockGrid: block [${block.join(', ')}] does not tile shape [${shape.join(', ')}]`);
    }
  }
  const [R, C] = shape.length === 2 ? shape : [1, shape[0]];
  const [cr, cc] = block.length === 2 ? block : [1, block[0]];
  const blocksDown = R / cr;
  const blocksAcross = C / cc;
  return { R, C, cr, cc, blocksDown, blocksAcross, count: blocksDown * blocksAcross, size: cr * cc };
}

/** Offset in the tensor of element (u, v) of block b: lets callers walk a block without copying it. */
export function blockOrigin(grid: BlockGrid, b: number): number {
  const bi = Math.floor(b / grid.blocksAcross);
  const bj = b - bi * grid.blocksAcross;
  return bi * grid.cr * grid.C + bj * grid.cc;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, n) => a * n, 1);
}

function checkShape(op: string, shape: readonly number[]): void {
  if (shape.length !== 1 && shape.length !== 2) {
    throw new RangeError(`${op}: only 1-D and 2-D tensors are split into blocks, got shape [${shape.join(', ')}]`);
  }
  for (const n of shape) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`${op}: dimensions must be positive integers, got [${shape.join(', ')}]`);
  }
}

/**
 * Coefficients kept per block: top-k, or all of a block smaller than k (the
 * one-element blocks of a prime-length vector). The wire format carries this k.
 */
export function keptPerBlock(blockElements: number, topk: number): number {
  if (!Number.isInteger(topk) || topk < 1) throw new RangeError(`keptPerBlock: topk must be a positive integer, got ${topk}`);
  return Math.min(topk, blockElements);
}

/** Blocks a tensor splits into (each block dimension divides the tensor's). */
export function blockCount(shape: readonly number[], block: readonly number[]): number {
  return shape.reduce((acc, dim, i) => acc * (dim / block[i]), 1);
}
