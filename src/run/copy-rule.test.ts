/**
 * The copy rule (copy-rule.ts): on real honest updates of the `tiny` model
 * (4 replicas at 16 and 32 sequences each, recorded by
 * scripts/copy-overlap-sim.ts; at 32 honest pairs reach 806‰, over the
 * 800‰ line that struck an honest tab), every commit order strikes none,
 * while exact, sign-flipped and lightly perturbed copies of them are struck
 * wherever the copier commits; and the rule's edges on made-up overlaps.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../kernels/testing/random';
import { indexKeys, overlap } from '../verify/overlap';
import { copyVerdicts, isCopy } from './copy-rule';
import { parseRunConfig } from './run-config';
import type { CommitOverlap } from './types';

const config = parseRunConfig({}).verification;
const LINE = config.maxOverlapPermille;

interface Recorded {
  rounds: { sequencesPerTab: number; round: number; keys: number[][] }[];
}
const recorded = JSON.parse(readFileSync(new URL('./testdata/honest-tiny-updates.json', import.meta.url), 'utf8')) as Recorded;
const rounds = recorded.rounds.map((r) => ({ ...r, keys: r.keys.map((k) => Float64Array.from(k)) }));

const hashOf = (i: number) => 'abcde'[i].repeat(64);
/** As the coordinator measures it (server/copy-check.ts): signs dropped, floored per-mille. */
const permille = (a: Float64Array, b: Float64Array) => Math.floor(1000 * overlap(indexKeys(a), indexKeys(b)));

/** The round's verdicts when its updates commit in `order`, each measured against the ones before it. */
function verdicts(updates: Float64Array[], order: number[]): (string | null)[] {
  const overlaps: (CommitOverlap | null)[] = updates.map(() => null);
  order.forEach((i, p) => {
    for (const e of order.slice(0, p)) {
      const pm = permille(updates[i], updates[e]);
      if (overlaps[i] === null || pm > overlaps[i]!.permille) overlaps[i] = { permille: pm, with: hashOf(e) };
    }
  });
  return copyVerdicts(config, { commitments: updates.map((_, i) => hashOf(i)), overlaps });
}

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, at) => [...p.slice(0, at), n - 1, ...p.slice(at)]));
}

/** A copy of `src` with a share of its entries moved to random indices of the same block, and a share of its signs flipped. */
function perturbed(src: Float64Array, replace: number, flip: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  const taken = new Set(Array.from(src, (k) => Math.floor(k / 2)));
  const out = Array.from(src, (k) => {
    let key = k;
    if (r() < replace) {
      let index: number;
      do index = Math.floor(k / 8192) * 4096 + Math.floor(r() * 4096);
      while (taken.has(index));
      taken.add(index);
      key = 2 * index;
    }
    return r() < flip ? key ^ 1 : key;
  });
  return Float64Array.from(out).sort();
}

describe('copy rule on real honest updates (tiny, 4 tabs)', () => {
  it('the 800‰ line alone strikes honest updates at 32 sequences a tab (the bug this rule fixes)', () => {
    const at32 = rounds.filter((r) => r.sequencesPerTab === 32);
    const pairs = at32.flatMap((r) => r.keys.flatMap((a, i) => r.keys.slice(i + 1).map((b) => permille(a, b))));
    expect(Math.max(...pairs)).toBeGreaterThanOrEqual(LINE);
  });

  for (const perTab of [16, 32]) {
    it(`strikes no honest update at ${perTab} sequences a tab, in any commit order, with 4, 3 or 2 members`, () => {
      for (const r of rounds.filter((x) => x.sequencesPerTab === perTab)) {
        for (const members of [4, 3, 2]) {
          const updates = r.keys.slice(0, members);
          for (const order of permutations(members)) expect(verdicts(updates, order), `round ${r.round}, order ${order}`).toEqual(updates.map(() => null));
        }
      }
    });
  }

  it('strikes exact, sign-flipped and lightly perturbed copies wherever the copier commits after its source', () => {
    const kinds = [
      { name: 'exact', replace: 0, flip: 0 },
      { name: 'half the signs flipped', replace: 0, flip: 0.5 },
      { name: '3 % of indices moved', replace: 0.03, flip: 0 },
      { name: '5 % of indices moved, 10 % of signs flipped', replace: 0.05, flip: 0.1 },
    ];
    for (const r of rounds) {
      for (const members of [4, 2]) {
        const honest = r.keys.slice(0, members);
        for (const kind of kinds) {
          const copy = perturbed(honest[1], kind.replace, kind.flip, r.round * 7 + members);
          const updates = [...honest, copy];
          // The source commits first or last among the honest ones; the copier right after it or at the very end.
          for (const order of [[1, members, ...honest.keys()].filter((x, i, a) => a.indexOf(x) === i), [...honest.keys(), members]]) {
            const v = verdicts(updates, order);
            expect(v[members] ?? "not struck", `${kind.name}, ${r.sequencesPerTab} a tab round ${r.round}, order ${order}`).toMatch(/^a copy of update b{12}/);
            expect(v.slice(0, members)).toEqual(honest.map(() => null));
          }
        }
      }
    }
  });
});

describe('copy rule', () => {
  const hashes = ['a', 'b', 'c', 'd'].map((c) => c.repeat(64));
  const round = (overlaps: (CommitOverlap | null)[]) => ({ commitments: hashes.slice(0, overlaps.length), overlaps });

  it('needs the line and an excess of copyExcessPermille of the way from the level to 1000‰', () => {
    expect(isCopy(config, LINE - 1, 0)).toBe(false);
    expect(isCopy(config, LINE, 600)).toBe(true); // 200 of 400
    expect(isCopy(config, LINE, 601)).toBe(false);
    expect(isCopy(config, 950, 900)).toBe(true);
    expect(isCopy(config, 949, 900)).toBe(false);
    // When every update is the same there is nothing to tell a copy from.
    expect(isCopy(config, 1000, 1000)).toBe(false);
  });

  it('takes the level from the other updates’ nearest overlaps in the round, so the copier’s own never sets it', () => {
    // c is 1000‰ like a: d's and b's nearest (in the round) put the level at 850, and 1000 is the whole way from it.
    const v = copyVerdicts(config, round([null, { permille: 850, with: hashes[0] }, { permille: 1000, with: hashes[0] }, { permille: 870, with: hashes[1] }]));
    expect(v).toEqual([null, null, expect.stringMatching(/^a copy of update aaaaaaaaaaaa: 1000‰.*round's 850‰/), null]);
    // At 900‰ against that level it is not (and neither are the honest ones at 850–870).
    expect(copyVerdicts(config, round([null, { permille: 850, with: hashes[0] }, { permille: 900, with: hashes[0] }, { permille: 870, with: hashes[1] }]))).toEqual([null, null, null, null]);
  });

  it('with no other update of the round to compare, the line stands in for the level: 900‰ and more is a copy', () => {
    expect(copyVerdicts(config, round([null, { permille: 900, with: hashes[0] }]))).toEqual([null, expect.stringMatching(/^a copy/)]);
    expect(copyVerdicts(config, round([null, { permille: 899, with: hashes[0] }]))).toEqual([null, null]);
  });

  it('judges a replay of an earlier round against this round’s level, and leaves its nearest out of the level', () => {
    const old = 'f'.repeat(64);
    const v = copyVerdicts(config, round([{ permille: 1000, with: old }, { permille: 700, with: hashes[0] }, { permille: 720, with: hashes[1] }]));
    expect(v).toEqual([expect.stringMatching(/^a copy of update ffffffffffff: 1000‰.*round's 700‰/), null, null]);
  });

  it('ignores slots without a commit', () => {
    expect(copyVerdicts(config, { commitments: [hashes[0], null], overlaps: [null, { permille: 1000, with: hashes[0] }] })).toEqual([null, null]);
  });
});
