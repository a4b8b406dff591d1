/**
 * Builders of valid updates for the protocol tests: random but seeded, and
 * obeying the block rule, so any failure points at the codec, not the data.
 */

import { mulberry32 } from '../kernels/testing/random';
import { blockCount, blockShape, elementCount, keptPerBlock } from '../demo/blocks';
import { PROOF_ROWS, UPDATE_FORMAT_VERSION, type ClientUpdate, type UpdateTensor } from './update-codec';

/** k distinct indices in [0, n), ascending. */
function sortedSample(n: number, k: number, rand: () => number): number[] {
  if (2 * k >= n) {
    // Dense case (e.g. 1-element blocks): partial Fisher–Yates over all of [0, n).
    const all = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(rand() * (n - i));
      [all[i], all[j]] = [all[j], all[i]];
    }
    return all.slice(0, k).sort((a, b) => a - b);
  }
  const picked = new Set<number>();
  while (picked.size < k) picked.add(Math.floor(rand() * n));
  return [...picked].sort((a, b) => a - b);
}

export function randomTensor(shape: number[], chunk: number, topk: number, oneBit: boolean, rand: () => number): UpdateTensor {
  const block = blockShape(shape, chunk);
  const blockElements = elementCount(block);
  const k = keptPerBlock(blockElements, topk);
  const blocks = blockCount(shape, block);
  const indices = new Uint32Array(blocks * k);
  for (let b = 0; b < blocks; b++) indices.set(sortedSample(blockElements, k, rand), b * k);
  const values = new Float32Array(blocks * k);
  for (let i = 0; i < values.length; i++) {
    values[i] = oneBit ? (rand() < 0.5 ? -1 : 1) : (rand() - 0.5) * 2 ** Math.floor(rand() * 40 - 20);
  }
  return { shape: [...shape], block, k, indices, values };
}

export function testRunId(seed = 1): Uint8Array {
  return Uint8Array.from({ length: 16 }, (_, i) => (i * 17 + seed * 31) & 0xff);
}

export function randomUpdate(shapes: number[][], chunk: number, topk: number, oneBit: boolean, seed: number): ClientUpdate {
  const rand = mulberry32(seed);
  return {
    version: UPDATE_FORMAT_VERSION,
    runId: testRunId(seed),
    step: 1234 + seed,
    batchStart: 2 ** 40 + seed,
    batchCount: 4,
    tensors: shapes.map((shape) => randomTensor(shape, chunk, topk, oneBit, rand)),
    proof: Float32Array.from({ length: 4 * PROOF_ROWS }, () => (rand() - 0.5) * 100),
  };
}
