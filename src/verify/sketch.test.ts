import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../kernels/testing/random';
import { BANDS, BINS, sketchBands, sketchSeed, sketchSimilarity, updateSketch, type SketchSeed } from './sketch';

const SEED: SketchSeed = [0x1234567, 0x9abcdef, 0x7654321];
/** Roughly a tinyDemo update's entry count. */
const N = 4000;

/** n distinct keys of the overlap.ts kind (even/odd = sign), sorted. */
function keySet(r: () => number, n: number): Float64Array {
  const set = new Set<number>();
  while (set.size < n) set.add(Math.floor(r() * 2 ** 40));
  return Float64Array.from([...set].sort((a, b) => a - b));
}

/** `keys` with round((1 − keep)·n) entries replaced by fresh ones: overlap `keep` with the original. */
function perturbed(r: () => number, keys: Float64Array, keep: number): Float64Array {
  const out = Array.from(keys);
  const change = Math.round((1 - keep) * keys.length);
  for (let i = 0; i < change; i++) {
    const j = i + Math.floor(r() * (out.length - i));
    [out[i], out[j]] = [out[j], out[i]];
    out[i] = Math.floor(r() * 2 ** 40) + 2 ** 41; // outside the original range: never a match
  }
  return Float64Array.from(out.sort((a, b) => a - b));
}

const shared = (a: number[], b: number[]) => a.filter((x) => b.includes(x)).length;

describe('updateSketch', () => {
  it('is a function of the key set and the seed only', () => {
    const keys = keySet(mulberry32(1), N);
    expect(updateSketch(keys, SEED)).toEqual(updateSketch(keys.slice(), SEED));
    expect(updateSketch(keys, SEED).length).toBe(BINS);
    expect(updateSketch(keys, [1, 2, 3])).not.toEqual(updateSketch(keys, SEED));
  });

  it('estimates the Jaccard similarity of two key sets', () => {
    const r = mulberry32(2);
    for (const keep of [0.2, 0.5, 0.8, 0.95]) {
      const a = keySet(r, N);
      const b = perturbed(r, a, keep);
      const jaccard = keep / (2 - keep);
      expect(Math.abs(sketchSimilarity(updateSketch(a, SEED), updateSketch(b, SEED)) - jaccard)).toBeLessThan(0.15);
    }
  });

  it('fills every bin of a set smaller than the bin count, distinctly from real values', () => {
    const keys = keySet(mulberry32(3), 10);
    const s = updateSketch(keys, SEED);
    expect(s.every((v) => v !== 0xffffffff)).toBe(true);
    // A set sharing none of those keys shares no bins either.
    expect(sketchSimilarity(s, updateSketch(keySet(mulberry32(4), 10), SEED))).toBeLessThan(0.2);
  });
});

describe('sketchBands', () => {
  const bands = (k: Float64Array) => sketchBands(updateSketch(k, SEED), SEED);

  it('finds every copy at the copy threshold (800 ‰) and above, in 300 trials each', () => {
    const r = mulberry32(5);
    for (const keep of [1, 0.9, 0.8]) {
      let missed = 0;
      for (let t = 0; t < 300; t++) {
        const a = keySet(r, 1000);
        if (shared(bands(a), bands(perturbed(r, a, keep))) === 0) missed++;
      }
      expect(missed, `overlap ${keep}`).toBe(0);
    }
  });

  it('rarely pairs updates as different as consecutive honest rounds (≤ 194 ‰)', () => {
    const r = mulberry32(6);
    let paired = 0;
    for (let t = 0; t < 300; t++) {
      const a = keySet(r, 1000);
      if (shared(bands(a), bands(perturbed(r, a, 0.194))) > 0) paired++;
    }
    expect(paired).toBeLessThan(30);
  });

  it('gives BANDS keys, each tagged with its band number', () => {
    const b = bands(keySet(mulberry32(7), N));
    expect(b.length).toBe(BANDS);
    b.forEach((k, i) => expect(Math.floor(k / 2 ** 32)).toBe(i));
  });
});

describe('sketchSeed', () => {
  it('reads three words and refuses short secrets', () => {
    expect(sketchSeed(Uint8Array.from({ length: 12 }, (_, i) => i))).toEqual([0x03020100, 0x07060504, 0x0b0a0908]);
    expect(() => sketchSeed(new Uint8Array(11))).toThrow(/12/);
  });
});
