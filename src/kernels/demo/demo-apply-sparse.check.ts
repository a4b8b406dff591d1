/**
 * Update sets that a sparse apply could get wrong, each bit for bit against
 * demoApplyExact in slot order and in a shuffled order: no updates (decay
 * only), one update (every count is 1), 40 updates with random kept sets and
 * signs (kept rows and columns past 32 use both words of the bitmasks), and 520
 * updates that keep every coefficient of every block, several of them more
 * than once, all agreeing on the signs that make each block's last element
 * as large as the decode allows (|X| there is 32 times the ℓ1 norms of its
 * two basis columns: the attained worst case of integer-decode.ts).
 */
import type { Gpu } from '../../gpu/gpu';
import { elementCount } from '../../demo/blocks';
import type { DemoUpdate } from '../../demo/update-format';
import { decayFactorF32, demoApplyExact, quantizedBasis } from '../../demo/integer-decode';
import { compareArrays, type CompareResult } from '../testing/compare';
import { mulberry32, randomFloats } from '../testing/random';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, toF32, withinTolerance } from '../check';
import { bitMismatches, flatLayout, flatten, packInOrder } from './demo-check-common';
import { applyOnce } from './demo-once';
import { demoTable, type DemoTableTensor } from './demo-table';

const CHUNK = 64;
const TOPK = 8;
const LR = Math.fround(3e-3);
const WEIGHT_DECAY = 0.1;
/** Bit-exact: 0 error allowed. */
const tolerance = { kind: 'absScaled', value: 0 } as const;

/** A full 64×64 block, one 37×52 block, 97 one-element blocks (k = 1), 1-D blocks of 60, 64×48 blocks (rows and columns past 32). */
const SHAPES = [[64, 64], [37, 52], [97], [120], [128, 96]];

/** Updates needed for the cover case to keep every coefficient of a 64×64 block with k = 8, and some more to keep some twice. */
const COVER_UPDATES = (64 * 64) / TOPK + 8;

type Sign = 1 | -1;

/** Update m keeps, in every block, the k flat indices m·k … m·k + k − 1 (mod the block size), ascending. */
function coverUpdate(t: DemoTableTensor, m: number, sign: (f: number) => Sign): DemoUpdate {
  const { grid, k } = t;
  const indices = new Uint32Array(t.entries);
  const values = new Float64Array(t.entries);
  for (let b = 0; b < grid.count; b++) {
    const kept = Array.from({ length: k }, (_, s) => (m * k + s) % grid.size).sort((x, y) => x - y);
    kept.forEach((f, s) => {
      indices[b * k + s] = f;
      values[b * k + s] = sign(f);
    });
  }
  return { indices, values };
}

/** sgn(B_r[u, cr−1]·B_c[v, cc−1]) (+1 for 0): every update agreeing on it makes that element's |X| as large as it can be. */
function worstSigns(t: DemoTableTensor): (f: number) => Sign {
  const { cr, cc } = t.grid;
  const [br, bc] = [quantizedBasis(cr), quantizedBasis(cc)];
  return (f) => {
    const u = Math.floor(f / cc);
    const v = f % cc;
    return br[u * cr + cr - 1] * bc[v * cc + cc - 1] < 0 ? -1 : 1;
  };
}

/** k distinct random flat indices per block, ascending, with random signs. */
function randomUpdate(t: DemoTableTensor, rand: () => number): DemoUpdate {
  const { grid, k } = t;
  const indices = new Uint32Array(t.entries);
  const values = new Float64Array(t.entries);
  for (let b = 0; b < grid.count; b++) {
    const picked = new Set<number>();
    while (picked.size < k) picked.add(Math.floor(rand() * grid.size));
    [...picked].sort((x, y) => x - y).forEach((f, s) => {
      indices[b * k + s] = f;
      values[b * k + s] = rand() < 0.5 ? -1 : 1;
    });
  }
  return { indices, values };
}

interface Case {
  name: string;
  /** Per tensor of the table, its M updates. */
  updates(t: DemoTableTensor, seed: number): DemoUpdate[];
}

const CASES: Case[] = [
  { name: 'none', updates: () => [] },
  { name: 'one', updates: (t, seed) => [randomUpdate(t, mulberry32(seed))] },
  {
    name: 'forty',
    updates: (t, seed) => {
      const rand = mulberry32(seed);
      return Array.from({ length: 40 }, () => randomUpdate(t, rand));
    },
  },
  {
    name: 'cover',
    updates: (t) => {
      const sign = worstSigns(t);
      return Array.from({ length: COVER_UPDATES }, (_, m) => coverUpdate(t, m, sign));
    },
  },
];

/** A shuffle of [0, n) (the identity only when n < 2). */
function shuffled(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

interface CaseResult {
  bits: number;
  errors: CompareResult[];
  guards: boolean;
  ms: number;
}

async function runCase(gpu: Gpu, c: Case, seed: number, timeReps: number | undefined): Promise<CaseResult> {
  const { offsets, total } = flatLayout(SHAPES);
  const table = demoTable(SHAPES.map((shape, t) => ({ shape, offset: offsets[t] })), CHUNK, TOPK);
  const tensors = table.tensors.map((t, i) => ({ p0: toF32(randomFloats(elementCount(t.shape), seed + 10 * i, 0.5)), updates: c.updates(t, seed + 10 * i + 1) }));
  const M = tensors[0].updates.length;
  const param = flatten(tensors.map((t) => t.p0), offsets, total);
  const result: CaseResult = { bits: 0, errors: [], guards: true, ms: Number.NaN };
  for (const [r, order] of [Array.from({ length: M }, (_, i) => i), shuffled(M, seed + 7)].entries()) {
    const packed = packInOrder(table, tensors, order);
    // A zero-length upload cannot be bound; with no updates nothing reads these.
    const nonEmpty = M > 0 ? packed : { indices: new Uint32Array(1), signs: new Int32Array(1) };
    const run = { lr: LR, decay: decayFactorF32(LR, WEIGHT_DECAY), param, packed: nonEmpty, updates: M, timeReps: r === 1 ? timeReps : undefined };
    const got = await applyOnce(gpu, table, run);
    if (r === 1) result.ms = got.ms;
    table.tensors.forEach((t, i) => {
      const want = demoApplyExact({ param: tensors[i].p0, shape: t.shape, updates: tensors[i].updates, lr: LR, chunk: CHUNK, topk: TOPK, weightDecay: WEIGHT_DECAY });
      const mine = got.param.subarray(t.offset, t.offset + elementCount(t.shape));
      result.bits += bitMismatches(mine, want);
      result.errors.push(compareArrays(mine, want));
    });
    result.guards &&= table.tensors.every((t) => Number.isNaN(got.param[t.offset - 1]) && Number.isNaN(got.param[t.offset + elementCount(t.shape)]));
  }
  return result;
}

async function runSparseCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const seed = opts.seed ?? 1;
  const results: CaseResult[] = [];
  for (const c of CASES) results.push(await runCase(gpu, c, seed, c.name === 'forty' ? (opts.reps ?? 3) : undefined));
  const errors = results.flatMap((r) => r.errors);
  const summary = {
    maxAbsErr: Math.max(...errors.map((e) => e.maxAbsErr)),
    maxRelErr: Math.max(...errors.map((e) => e.maxRelErr)),
    maxAbsRef: Math.max(...errors.map((e) => e.maxAbsRef)),
  };
  const bits = Object.fromEntries(CASES.map((c, i) => [`${c.name}BitMismatches`, results[i].bits]));
  const shapes = SHAPES.map((s) => `[${s.join(',')}]`).join(' ');
  return {
    name: 'demo.apply.sparse',
    shape: `${shapes} ${shapeString({ chunk: CHUNK, topk: TOPK, ...bits })}`,
    ...summary,
    tolerance,
    pass: withinTolerance(tolerance, summary) && results.every((r) => r.bits === 0 && r.guards),
    ms: results[2].ms,
  };
}

export const demoApplySparseCheck: KernelCheck = {
  name: 'demo.apply.sparse',
  description: `DeMo apply's sparse decode on update sets chosen to break it, over one table of [64,64], [37,52], [97], [120] and [128,96]: 0 updates (decay only), 1 update, 40 updates with random kept sets and signs, and ${COVER_UPDATES} updates that keep every coefficient of every block (some twice), all with the signs that maximize each block's last |X|; each bit for bit equal to demoApplyExact in slot order and shuffled, the NaN guards between tensors untouched; timed: the 40 updates`,
  run: runSparseCheck,
};
