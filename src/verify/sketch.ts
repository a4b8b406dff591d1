/**
 * A locality-sensitive index key for updates (docs/verification.md "Exact
 * checks"), so the coordinator can find a copy of ANY earlier update, not
 * only of a few recent rounds, without comparing against every one of them.
 *
 * An update is the set of its (tensor, block, index) keys
 * (src/verify/overlap.ts). Its sketch is a one-permutation MinHash: every key
 * is hashed once, the hash's top bits pick one of BINS bins, and each bin
 * keeps its smallest remaining bits. Two sets agree in a bin with probability
 * equal to their Jaccard similarity J. Bins are grouped into BANDS bands of
 * ROWS; two updates share a band key with probability J^ROWS per band, so:
 *
 *   overlap 1000 ‰ (J 1)     → always found
 *   overlap  800 ‰ (J 0.67)  → missed with probability (1 − J³)^40 ≈ 10⁻⁶
 *   overlap  194 ‰ (J 0.11)  → shares a band in ~5 % of pairs
 *
 * where overlap is |a ∩ b| / |a| for updates of equal size (J = o / (2 − o)).
 * Candidates found this way are then compared exactly, so the index only
 * decides what is compared, never what is a copy.
 *
 * The hash is seeded by the coordinator's secret: with a public hash an
 * attacker could change just the one key that is each band's minimum (a few
 * dozen of thousands) and slip a near-perfect copy past the index.
 */

import { fmix32 } from '../kernels/checksum/u32-mix';

export const BINS = 120;
export const ROWS = 3;
export const BANDS = BINS / ROWS;

const EMPTY = 0xffffffff;
const BIN_SHIFT = 25; // top 7 bits pick the bin (BINS ≤ 128)
const VALUE_MASK = (1 << BIN_SHIFT) - 1;

/** Three 32-bit words of secret seed. */
export type SketchSeed = readonly [number, number, number];

/** Seed words from ≥ 12 bytes of secret (the coordinator derives them from its verify secret). */
export function sketchSeed(bytes: Uint8Array): SketchSeed {
  if (bytes.length < 12) throw new RangeError(`sketchSeed: ${bytes.length} bytes, need 12`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, 12);
  return [v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true)];
}

/** A key (a non-negative integer below 2^53) hashed to 32 bits under the seed. */
export function keyHash(key: number, seed: SketchSeed): number {
  const lo = key >>> 0;
  const hi = Math.floor(key / 2 ** 32) >>> 0;
  return fmix32((fmix32(lo ^ seed[0]) + Math.imul(hi ^ seed[1], 0x9e3779b1)) ^ seed[2]);
}

/** The MinHash sketch of a key set (updateKeys' output): BINS words. */
export function updateSketch(keys: Float64Array, seed: SketchSeed): Uint32Array {
  const bins = new Uint32Array(BINS).fill(EMPTY);
  for (let i = 0; i < keys.length; i++) {
    const h = keyHash(keys[i], seed);
    const bin = (h >>> BIN_SHIFT) % BINS;
    const value = h & VALUE_MASK;
    if (value < bins[bin]) bins[bin] = value;
  }
  // An empty bin (tiny sets only) borrows the next filled bin's value, offset
  // by the distance so that borrowed and own values stay distinct.
  if (keys.length > 0) {
    for (let b = 0; b < BINS; b++) {
      if (bins[b] !== EMPTY) continue;
      let d = 1;
      while (bins[(b + d) % BINS] === EMPTY || bins[(b + d) % BINS] > VALUE_MASK) d++;
      bins[b] = VALUE_MASK + 1 + ((bins[(b + d) % BINS] + d * 0x9e3779b1) >>> 7);
    }
  }
  return bins;
}

/** The BANDS band keys of a sketch, each band's number times 2^32 plus a hash of its ROWS bins (exact in a double). */
export function sketchBands(sketch: Uint32Array, seed: SketchSeed): number[] {
  if (sketch.length !== BINS) throw new RangeError(`sketchBands: a sketch has ${BINS} bins, not ${sketch.length}`);
  const out: number[] = [];
  for (let band = 0; band < BANDS; band++) {
    let h = seed[2] ^ band;
    for (let r = 0; r < ROWS; r++) h = fmix32((h ^ sketch[band * ROWS + r]) + 0x9e3779b9);
    out.push(band * 2 ** 32 + h);
  }
  return out;
}

/** Share of bins two sketches agree in: an estimate of the key sets' Jaccard similarity. */
export function sketchSimilarity(a: Uint32Array, b: Uint32Array): number {
  let same = 0;
  for (let i = 0; i < BINS; i++) if (a[i] === b[i]) same++;
  return same / BINS;
}
