/**
 * Who trains on which sequences in a round (docs/run.md "Rounds", Psyche's
 * scheme): the round seed shuffles the slots, each gets ⌊B/n⌋ sequences and
 * the first B mod n in shuffled order one more, as contiguous ranges from the
 * data cursor in shuffled order. Clients receive the result in the round;
 * the exact recipe is fixed here so a restarted server or an auditor derives
 * the same ranges.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { Assignment } from './types';

function u32le(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Hex SHA-256 of (runId bytes ‖ u32 LE step). */
export function roundSeed(runId: string, step: number): string {
  return bytesToHex(sha256(concat(hexToBytes(runId), u32le(step))));
}

/**
 * u32 LE words of the counter-mode stream SHA-256(seed bytes ‖ u32 LE k),
 * k = 0, 1, …, eight words per block.
 */
export function seedStream(seedHex: string): () => number {
  const seed = hexToBytes(seedHex);
  let block = new Uint8Array(0);
  let counter = 0;
  let pos = 0;
  return () => {
    if (pos === block.length) {
      block = sha256(concat(seed, u32le(counter++)));
      pos = 0;
    }
    const word = new DataView(block.buffer, block.byteOffset).getUint32(pos, true);
    pos += 4;
    return word;
  };
}

/** Uniform in [0, m) by rejection, so no index is favoured by modulo bias. */
function uniformBelow(next: () => number, m: number): number {
  const limit = Math.floor(0x1_0000_0000 / m) * m;
  for (;;) {
    const r = next();
    if (r < limit) return r % m;
  }
}

/** A permutation of 0..n-1: Fisher–Yates from the top, j uniform in [0, i]. */
export function shuffleSlots(n: number, seedHex: string): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const next = seedStream(seedHex);
  for (let i = n - 1; i > 0; i--) {
    const j = uniformBelow(next, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * Per slot (slot order), the range of the batch [cursor, cursor + batch) it
 * trains on. `counts` (per slot, summing to batch) sizes the ranges instead
 * of the equal split (shares by pace, src/run/pace-shares.ts); the order of
 * the ranges is the seed's either way.
 */
export function assignRanges(slots: number, batch: number, cursor: number, seedHex: string, counts?: number[]): Assignment[] {
  if (counts && (counts.length !== slots || counts.reduce((a, b) => a + b, 0) !== batch)) {
    throw new RangeError(`assignRanges: ${counts.length} counts summing to ${counts.reduce((a, b) => a + b, 0)} for ${slots} slots and a batch of ${batch}`);
  }
  const out = new Array<Assignment>(slots);
  let start = cursor;
  shuffleSlots(slots, seedHex).forEach((slot, rank) => {
    const count = counts ? counts[slot] : Math.floor(batch / slots) + (rank < batch % slots ? 1 : 0);
    out[slot] = { start, count };
    start += count;
  });
  return out;
}
