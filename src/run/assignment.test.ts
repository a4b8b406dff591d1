import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { assignRanges, roundSeed, seedStream, shuffleSlots } from './assignment';

const RUN_ID = '7465737365726100000000000000d3f0';

describe('roundSeed', () => {
  it('is hex SHA-256 of the run id bytes and the u32 LE step', () => {
    const bytes = new Uint8Array([...RUN_ID.match(/../g)!.map((h) => parseInt(h, 16)), 0x04, 0x03, 0x02, 0x01]);
    expect(roundSeed(RUN_ID, 0x01020304)).toBe(bytesToHex(sha256(bytes)));
    expect(roundSeed(RUN_ID, 0)).toMatch(/^[0-9a-f]{64}$/);
    expect(roundSeed(RUN_ID, 1)).not.toBe(roundSeed(RUN_ID, 0));
  });
});

describe('seedStream', () => {
  it('reads u32 LE words of SHA-256(seed ‖ u32 LE counter), block after block', () => {
    const seed = roundSeed(RUN_ID, 7);
    const next = seedStream(seed);
    const words = Array.from({ length: 16 }, next);
    for (let block = 0; block < 2; block++) {
      const input = new Uint8Array(36);
      input.set(seed.match(/../g)!.map((h) => parseInt(h, 16)));
      input[32] = block;
      const digest = sha256(input);
      const view = new DataView(digest.buffer, digest.byteOffset);
      for (let w = 0; w < 8; w++) expect(words[block * 8 + w]).toBe(view.getUint32(4 * w, true));
    }
  });
});

describe('shuffleSlots', () => {
  it('is a deterministic permutation', () => {
    for (let n = 0; n <= 12; n++) {
      const seed = roundSeed(RUN_ID, n);
      const order = shuffleSlots(n, seed);
      expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(shuffleSlots(n, seed)).toEqual(order);
    }
  });

  it('depends on the seed and reaches every slot in first place', () => {
    const firsts = new Set<number>();
    for (let step = 0; step < 200; step++) firsts.add(shuffleSlots(5, roundSeed(RUN_ID, step))[0]);
    expect(firsts).toEqual(new Set([0, 1, 2, 3, 4]));
  });
});

describe('assignRanges', () => {
  it.each([
    [1, 8, 0],
    [3, 8, 16],
    [5, 5, 3],
    [4, 13, 1000],
    [7, 3, 2], // more trainers than sequences: some get none
  ])('%i slots, batch %i from %i: contiguous, disjoint, covering [cursor, cursor+B)', (slots, batch, cursor) => {
    const seed = roundSeed(RUN_ID, slots * 100 + batch);
    const ranges = assignRanges(slots, batch, cursor, seed);
    expect(ranges).toHaveLength(slots);
    const order = shuffleSlots(slots, seed);
    let next = cursor;
    order.forEach((slot, rank) => {
      expect(ranges[slot]).toEqual({ start: next, count: Math.floor(batch / slots) + (rank < batch % slots ? 1 : 0) });
      next += ranges[slot].count;
    });
    expect(next).toBe(cursor + batch);
    const covered = ranges.flatMap((r) => Array.from({ length: r.count }, (_, i) => r.start + i)).sort((a, b) => a - b);
    expect(covered).toEqual(Array.from({ length: batch }, (_, i) => cursor + i));
  });
});
