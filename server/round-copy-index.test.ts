/**
 * The round's copy index against the exact check it replaces (every upload compared with every earlier one of its
 * round): on crafted rounds with full copies, partial copies at and around the threshold, copies of copies, honest
 * updates that share a good part of their keys, and sources and copies in shuffled commit order, CopyCheck reaches
 * the same verdict, and for every copy the same overlap and the same source, while comparing far fewer pairs.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mulberry32 } from '../src/kernels/testing/random';
import { overlap } from '../src/verify/overlap';
import { CopyCheck } from './copy-check';
import { bandPlan, missProbability, RoundCopyIndex } from './round-copy-index';
import { runModel } from './run-model';
import { Store } from './store';
import { serverTestConfig } from './test-helpers';
import { tempDir } from './test-server';

const config = serverTestConfig();
const rm = runModel(config);
const THRESHOLD = config.verification.maxOverlapPermille;
const M = 20_000;
const UNIVERSE = 2_000_000;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

type Rand = () => number;

function sorted(keys: Set<number>): Float64Array {
  return Float64Array.from([...keys]).sort();
}

function randomSet(rand: Rand): Float64Array {
  const s = new Set<number>();
  while (s.size < M) s.add(Math.floor(rand() * UNIVERSE));
  return sorted(s);
}

/** `common` keys of `source` (a random choice) and M − common keys outside it. */
function partialCopy(source: Float64Array, common: number, rand: Rand): Float64Array {
  const pool = [...source];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  const inSource = new Set(source);
  const s = new Set(pool.slice(0, common));
  while (s.size < M) {
    const k = Math.floor(rand() * UNIVERSE);
    if (!inSource.has(k)) s.add(k);
  }
  return sorted(s);
}

function newCheck(): CopyCheck {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const store = Store.open(join(dir, 'run.sqlite'));
  cleanups.push(() => store.close());
  return new CopyCheck(store, rm, THRESHOLD);
}

/** The exact check as it was: the largest overlap with any earlier update of the round. */
function exactBest(mine: Float64Array, earlier: [string, Float64Array][]): { permille: number; with: string } | null {
  let best: { permille: number; with: string } | null = null;
  for (const [h, keys] of earlier) {
    const permille = Math.floor(1000 * overlap(mine, keys));
    if (best === null || permille > best.permille) best = { permille, with: h };
  }
  return best;
}

describe('bandPlan', () => {
  it('picks bands that miss a pair at the threshold with probability under 1e-12, and none where it cannot', () => {
    const plan = bandPlan(800, 340_000)!;
    expect(plan).toEqual({ rows: 5, bands: 204 });
    expect(missProbability(0.8 / 1.2, plan)).toBeLessThan(1e-12);
    // One more row per band would miss too often: the plan takes the most rows that keep the promise.
    expect(missProbability(0.8 / 1.2, { rows: 6, bands: 170 })).toBeGreaterThan(1e-12);
    expect(bandPlan(800, 100)).toBeNull(); // too few keys for well-filled bins: compare with everyone
    expect(bandPlan(300, 340_000)).toBeNull(); // a threshold so low that bands cannot separate
  });

  it('finds a copy whatever the order its keys come in, and not an unrelated update', () => {
    const rand = mulberry32(2);
    const index = new RoundCopyIndex(bandPlan(THRESHOLD, M)!, M, [1, 2, 3]);
    const a = randomSet(rand);
    index.candidatesAndAdd('a', a);
    const shuffled = a.slice().reverse();
    expect(index.candidatesAndAdd('copy', shuffled)).toEqual(new Set(['a']));
    expect(index.candidatesAndAdd('other', randomSet(rand))).toEqual(new Set());
  });
});

describe('CopyCheck with the round index', () => {
  it('gives the exact check’s verdicts on crafted copies in shuffled order, comparing far fewer pairs', () => {
    const rand = mulberry32(17);
    const check = newCheck();
    const T = THRESHOLD;
    // Copies by the count of shared keys: at, just under and around the threshold, a full copy, and honest sharing.
    const shares = [M, Math.ceil((T / 1000) * M), Math.ceil((T / 1000) * M) - 1, Math.ceil(((T + 1) / 1000) * M), 0.85 * M, 0.95 * M, 0.7 * M, 0.4 * M, 0.2 * M];
    for (let step = 0; step < 3; step++) {
      const uploads: [string, Float64Array][] = [];
      for (let i = 0; i < 40; i++) uploads.push([`u${step}-${i}`, randomSet(rand)]);
      // Sources anywhere among the earlier uploads, copies inserted at random later places (a copy of a copy too).
      for (const [n, share] of shares.entries()) {
        const at = 1 + Math.floor(rand() * uploads.length);
        const source = uploads[Math.floor(rand() * at)][1];
        uploads.splice(at, 0, [`c${step}-${n}`, partialCopy(source, share, rand)]);
      }
      let compared = 0;
      let copies = 0;
      for (const [i, [hash, keys]] of uploads.entries()) {
        const exact = exactBest(keys, uploads.slice(0, i));
        const got = check.checkKeys(step, hash, keys);
        const isCopy = (x: { permille: number } | null) => x !== null && x.permille >= T;
        expect(isCopy(got), `${hash}: exact ${JSON.stringify(exact)}, indexed ${JSON.stringify(got)}`).toBe(isCopy(exact));
        if (isCopy(exact)) {
          copies++;
          expect(got).toEqual(exact);
        }
        compared += got === null ? 0 : 1;
      }
      expect(copies).toBe(5); // full, at the threshold, just above it, 850 and 950 ‰; not 799 ‰ or below
      expect(compared).toBeLessThan(uploads.length / 2);
    }
  });
});
