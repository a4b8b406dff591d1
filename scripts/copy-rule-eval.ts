/**
 * Measures the copy rule (src/run/copy-rule.ts) on real honest updates
 * recorded by scripts/copy-overlap-sim.ts, and on copies built from them:
 *
 *   npx vite-node scripts/copy-rule-eval.ts -- bench-results/copy-overlap-tinyDemo.json [--orders 24]
 *
 * Per sequence count: the honest pairs' index overlap (per-mille, floored as
 * the coordinator's check floors it) and sign agreement at their shared
 * indices; then every round is committed in several orders (rounds of all
 * replicas, and of their first 3 and 2) and each update's nearest overlap
 * (exact, against the round's earlier updates and every earlier round's)
 * goes through the rule: honest updates struck, and with one more member
 * that copies an honest update (exact, signs flipped, a share of its indices
 * replaced, or half of each of two updates) and commits at a random point
 * after its source, which copies are struck.
 */
import { readFileSync } from 'node:fs';
import { copyVerdicts } from '../src/run/copy-rule';
import { parseRunConfig } from '../src/run/run-config';
import { indexKeys, overlap } from '../src/verify/overlap';

const argv = process.argv.slice(2).filter((a) => a !== '--');
const file = argv[0];
const ORDERS = Number(argv[argv.indexOf('--orders') + 1] || 24);
const data = JSON.parse(readFileSync(file, 'utf8')) as { model: string; keys: Record<string, number[][][]> };
const config = parseRunConfig({}).verification;

let seed = 12345;
const rand = (): number => {
  seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0;
  return ((seed ^ (seed >>> 13)) >>> 0) / 2 ** 32;
};
const permille = (a: Float64Array, b: Float64Array) => Math.floor(1000 * overlap(indexKeys(a), indexKeys(b)));
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

/** Sign agreement at shared indices: same / shared. */
function signAgreement(a: Float64Array, b: Float64Array): number {
  const sa = new Map<number, number>();
  for (const k of a) sa.set(Math.floor(k / 2), k % 2);
  let shared = 0;
  let same = 0;
  for (const k of b) {
    const s = sa.get(Math.floor(k / 2));
    if (s === undefined) continue;
    shared++;
    if (s === k % 2) same++;
  }
  return shared === 0 ? 1 : same / shared;
}

/** Keys of a block: (tensor-block) = floor(key / 8192). */
const blockOf = (k: number) => Math.floor(k / 8192);

function perturb(src: Float64Array, kind: string, other: Float64Array): Float64Array {
  const out: number[] = [];
  if (kind === 'exact') return src;
  if (kind.startsWith('flip')) {
    const p = Number(kind.slice(4)) / 100;
    for (const k of src) out.push(rand() < p ? (k % 2 === 0 ? k + 1 : k - 1) : k);
    return Float64Array.from(out).sort();
  }
  if (kind.startsWith('replace')) {
    // Each block keeps 1 − p of its entries; the rest move to random indices of the block it did not keep.
    const p = Number(kind.slice(7)) / 100;
    const taken = new Set(Array.from(src, (k) => Math.floor(k / 2)));
    for (const k of src) {
      if (rand() >= p) {
        out.push(k);
        continue;
      }
      let idx: number;
      do idx = blockOf(k) * 4096 + Math.floor(rand() * 4096);
      while (taken.has(idx));
      taken.add(idx);
      out.push(idx * 2 + (rand() < 0.5 ? 1 : 0));
    }
    return Float64Array.from(out).sort();
  }
  // mix: each block's entries alternately from the source and the other update.
  const byBlock = (keys: Float64Array) => {
    const m = new Map<number, number[]>();
    for (const k of keys) (m.get(blockOf(k)) ?? m.set(blockOf(k), []).get(blockOf(k))!).push(k);
    return m;
  };
  const a = byBlock(src);
  const b = byBlock(other);
  for (const [blk, ka] of a) {
    const kb = b.get(blk) ?? [];
    const chosen = new Map<number, number>();
    for (let i = 0; chosen.size < ka.length && i < 2 * ka.length; i++) {
      const k = i % 2 === 0 ? ka[i >> 1] : kb[i >> 1];
      if (k !== undefined && !chosen.has(Math.floor(k / 2))) chosen.set(Math.floor(k / 2), k);
    }
    out.push(...chosen.values());
  }
  return Float64Array.from(out).sort();
}

/** The rule's verdicts for one round committed in `order` (indices into `round`), each nearest exact against earlier commits and all of `history`. */
function verdicts(round: Float64Array[], order: number[], history: Float64Array[]): { struck: boolean[]; nearest: number[] } {
  const hashes = round.map((_, i) => i.toString(16).padStart(64, '0'));
  const overlaps: ({ permille: number; with: string } | null)[] = round.map(() => null);
  for (let p = 0; p < order.length; p++) {
    const i = order[p];
    let best: { permille: number; with: string } | null = null;
    for (let e = 0; e < p; e++) {
      const pm = permille(round[i], round[order[e]]);
      if (best === null || pm > best.permille) best = { permille: pm, with: hashes[order[e]] };
    }
    for (const h of history) {
      const pm = permille(round[i], h);
      if (best === null || pm > best.permille) best = { permille: pm, with: 'f'.repeat(64) };
    }
    overlaps[i] = best;
  }
  const v = copyVerdicts(config, { commitments: hashes, overlaps });
  return { struck: v.map((x) => x !== null), nearest: overlaps.map((o) => o?.permille ?? 0) };
}

function shuffled(n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const COPIES = ['exact', 'flip10', 'flip50', 'replace5', 'replace10', 'replace20', 'mix'];
console.log(`${data.model}: rule line ${config.maxOverlapPermille}‰, excess ${config.copyExcessPermille}‰`);
for (const [B, rounds] of Object.entries(data.keys)) {
  const all = rounds.map((r) => r.map((k) => Float64Array.from(k)));
  const pairs: number[] = [];
  const signs: number[] = [];
  const consecutive: number[] = [];
  for (let t = 0; t < all.length; t++) {
    const r = all[t];
    for (let a = 0; a < r.length; a++) {
      for (let b = a + 1; b < r.length; b++) {
        pairs.push(permille(r[a], r[b]));
        signs.push(signAgreement(r[a], r[b]));
      }
      if (t > 0) consecutive.push(permille(r[a], all[t - 1][a]));
    }
  }
  console.log(
    `B ${B}: honest same-round pairs n=${pairs.length} median ${q(pairs, 0.5)} p95 ${q(pairs, 0.95)} max ${Math.max(...pairs)}‰; ` +
      `sign agreement at shared indices min ${(100 * Math.min(...signs)).toFixed(1)}% median ${(100 * q(signs, 0.5)).toFixed(1)}%; ` +
      `same replica consecutive rounds max ${Math.max(...consecutive)}‰`,
  );
  for (const members of [all[0].length, 3, 2]) {
    let honest = 0;
    let struck = 0;
    let overLine = 0;
    const caught: Record<string, { n: number; caught: number; nearest: number[] }> = Object.fromEntries(COPIES.map((c) => [c, { n: 0, caught: 0, nearest: [] }]));
    for (let t = 0; t < all.length; t++) {
      const round = all[t].slice(0, members);
      const history = all.slice(0, t).flatMap((r) => r.slice(0, members));
      for (let o = 0; o < ORDERS; o++) {
        const order = shuffled(members);
        const v = verdicts(round, order, history);
        honest += members;
        struck += v.struck.filter(Boolean).length;
        overLine += v.nearest.filter((x) => x >= config.maxOverlapPermille).length;
        for (const kind of COPIES) {
          const src = Math.floor(rand() * members);
          const other = (src + 1) % members;
          const copy = perturb(round[src], kind, round[other]);
          // The copier commits after its source, anywhere after it.
          const at = order.indexOf(src) + 1 + Math.floor(rand() * (members - order.indexOf(src)));
          const withCopy = [...order.slice(0, at), members, ...order.slice(at)];
          const cv = verdicts([...round, copy], withCopy, history);
          caught[kind].n++;
          if (cv.struck[members]) caught[kind].caught++;
          caught[kind].nearest.push(cv.nearest[members]);
        }
      }
    }
    const copies = COPIES.map((k) => `${k} ${((100 * caught[k].caught) / caught[k].n).toFixed(0)}% (nearest median ${q(caught[k].nearest, 0.5)})`).join(', ');
    console.log(`  ${members} members: honest struck ${struck}/${honest} (at or over the line alone: ${overLine}); copies struck: ${copies}`);
  }
}
