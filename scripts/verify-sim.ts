/**
 * Measures the verifier's scores and the exact overlap check
 * (src/verify/overlap.ts) on a real DeMo run in Node (Dawn; SwiftShader
 * without a GPU):
 *
 *   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json \
 *     npx vite-node scripts/verify-sim.ts -- [--rounds 30] [--replicas 4] [--batch 16] [--sample 1]
 *       [--scores all|agreement] [--pass-score 250] [--committee 3] [--references 8]
 *       [--loss-lr-scale 1] [--loss-slots 2] [--seed 1] [--out bench-results/verify-scores.json] [--no-chart] [--no-docs]
 *
 * N honest replicas train R rounds of a run with the run's defaults
 * (parseRunConfig({}): tinyDemo, seqLen 64, DeMo settings, lr schedule,
 * weight decay), each on its contiguous range (src/run/assignment.ts), from
 * one shared set of parameters to which the agreed set (the N honest updates)
 * is applied each round; each replica has its own DeMo momentum. Two
 * cheating replicas train from the same parameters with their own momentum
 * (one on sequences nobody was assigned, one on a quarter of its claimed
 * range). Every round, for every slot, the cheats below are built
 * from that round's and earlier rounds' real updates, and every update is
 * scored:
 *
 * - agreement (always): the production score, agreementScore
 *   (src/verify/agreement-score.ts), by a committee of --committee distinct
 *   honest replicas other than the slot's, each against its own update of
 *   the round and up to --references − 1 other honest updates of it (never
 *   the slot's); pairScores are the same committee against its own update
 *   alone, for comparison; the verdict is the state machine's (src/run/verification.ts):
 *   lower median ≥ --pass-score passes, a strike when most scores fail.
 * - with --scores all (the default), also the gradient candidates of
 *   src/verify/update-score.ts (sign agreement, loss change) by 2 verifiers
 *   (different samples of the claimed range, different controls). They cost
 *   a forward/backward pass per score; --scores agreement skips them, so a
 *   run costs only its training steps.
 *
 * Writes the verdicts, raw scores and a summary to --out and
 * docs/bench/verification-scores.json, and a strip chart to
 * docs/bench/verification-scores.png.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { openShardLoader, type FetchFn } from '../src/data/loader';
import { createNodeGpu } from '../src/gpu/node-gpu';
import { GpuModel, type TokenBatch } from '../src/model/gpu-model';
import { initParams } from '../src/model/init';
import { decodeUpdate, encodeUpdate, PROOF_ROWS, proofUnits, unitSizeFor, type DecodedUpdate } from '../src/protocol/update-codec';
import { assignRanges, roundSeed } from '../src/run/assignment';
import { parseRunConfig } from '../src/run/run-config';
import { lowerMedian, proofOffsets } from '../src/run/verification';
import { DemoReplica } from '../src/train/demo-trainer';
import { claimedSketch, PROOF_ERROR_CAP, proofErrorPermille, unitRange } from '../src/verify/sequence-proof';
import { scheduledLearningRate } from '../src/train/schedule';
import { agreementScoreOfKeys, MAX_SCORE } from '../src/verify/agreement-score';
import { referenceSlots } from '../src/verify/references';
import { indexOverlap, overlap, updateKeys } from '../src/verify/overlap';
import { lossChangeScore, signScoreOf, verifierGradient, type VerifierGradient } from '../src/verify/update-score';

// ------------------------------------------------------------------ arguments

const argv = process.argv.slice(2).filter((a) => a !== '--');
const flags = new Map<string, string>();
for (let i = 0; i < argv.length; i++) {
  if (!argv[i].startsWith('--')) throw new Error(`unexpected argument ${argv[i]}`);
  const name = argv[i].slice(2);
  if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) flags.set(name, argv[++i]);
  else flags.set(name, 'true');
}
const num = (name: string, fallback: number): number => {
  const v = flags.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name}: "${v}" is not a number`);
  return n;
};
const ROUNDS = num('rounds', 30);
const N = num('replicas', 4);
const B = num('batch', 16);
const SAMPLE = num('sample', 1);
const LOSS_LR_SCALE = num('loss-lr-scale', 1);
/** Slots per round whose updates also get the (slower) loss-change score: the persistent cheaters' victim slot and the ones after it. */
const LOSS_SLOTS = num('loss-slots', 2);
const SEED = num('seed', 1);
const SCORES = flags.get('scores') ?? 'all';
if (SCORES !== 'all' && SCORES !== 'agreement') throw new Error(`--scores: "${SCORES}" is not all or agreement`);
/** Whether the gradient candidates (a forward/backward pass per score) run too; agreement alone costs only the training. */
const GRADIENT_SCORES = SCORES === 'all';
const OUT = flags.get('out') ?? 'bench-results/verify-scores.json';
const CHART = !flags.has('no-chart');
/** --no-docs: a trial run; the JSON and chart go next to --out only, leaving the kept results in docs/bench alone. */
const DOCS = !flags.has('no-docs');
const DOCS_DIR = 'docs/bench';
const CHART_PATH = DOCS ? join(DOCS_DIR, 'verification-scores.png') : OUT.replace(/\.json$/, '') + '.png';
/** Virtual sequence indices far from every round's batch: the wrong-data cheater's and the controls'. */
const WRONG_DATA_BASE = 12_000;
const CONTROL_BASE = 20_000;
if (ROUNDS * B > WRONG_DATA_BASE) throw new Error(`--rounds × --batch = ${ROUNDS * B} reaches the unassigned sequences at ${WRONG_DATA_BASE}`);
const config = parseRunConfig({});
/** The state machine's pass line (on agreementScore's scale) and committee size: the run config's defaults unless overridden. */
const PASS_SCORE = num('pass-score', config.verification.passScore);
const COMMITTEE = num('committee', config.verification.verifiers);
/** Updates each verifier scores against (its own first, src/verify/references.ts); 1 is the pairwise score of the first builds. */
const REFERENCES = num('references', config.verification.references);
/** The coordinator's copy check: an update overlapping this round's earlier ones or any earlier update of the run by this much is a copy. */
const MAX_OVERLAP = config.verification.maxOverlapPermille / 1000;
const MAX_PROOF_ERROR = num('max-proof-error', config.verification.maxProofErrorPermille);
/** Windows over which a persistent cheater should be caught at least once. */
const DETECT_WINDOW = 5;
if (!Number.isInteger(N) || N < COMMITTEE + 1) throw new Error(`--replicas ${N}: need at least committee + 1 = ${COMMITTEE + 1} (the committee never includes the slot's own replica)`);
if (!Number.isInteger(B) || B < N) throw new Error(`--batch ${B}: every replica needs at least one sequence`);
const model = config.model;
const seqLen = config.seqLen;
const opt = config.optimizer;
const demoSettings = { chunk: opt.chunk, topk: opt.topk, decay: opt.decay, gradClip: opt.gradClip, quantize1bit: opt.quantize1bit };
const lrAt = (step: number) => scheduledLearningRate(config.lr, config.totalSteps, step);

// ------------------------------------------------------------------ helpers

/** Shard files read once: a round reads a dozen batches, each a few KB of a multi-MB shard. */
const fileCache = new Map<string, Uint8Array>();

/** Serves public/data from disk to the shard loader, honouring Range. */
const fileFetch: FetchFn = async (url, init) => {
  const path = join('public', url.replace(/^file:\/\//, ''));
  let bytes = fileCache.get(path);
  if (!bytes) fileCache.set(path, (bytes = new Uint8Array(readFileSync(path))));
  const range = init?.headers ? new Headers(init.headers).get('range') : null;
  const m = range ? /^bytes=(\d+)-(\d+)$/.exec(range) : null;
  if (!m) return new Response(bytes.slice(), { status: 200 });
  const start = Number(m[1]);
  const end = Math.min(Number(m[2]), bytes.length - 1);
  return new Response(bytes.slice(start, end + 1), { status: 206, headers: { 'content-range': `bytes ${start}-${end}/${bytes.length}` } });
};

/** mulberry32: deterministic per (round, slot, purpose). */
function rng(...seeds: number[]): () => number {
  let a = 0x9e3779b9 ^ SEED;
  for (const s of seeds) a = Math.imul(a ^ s, 0x85ebca6b) + 0x27d4eb2f;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function withTensors(u: DecodedUpdate, map: (t: DecodedUpdate['tensors'][number], ti: number) => { indices: Uint32Array; values: Float32Array }): DecodedUpdate {
  return { ...u, tensors: u.tensors.map((t, ti) => ({ ...t, ...map(t, ti) })) };
}

/** Another header, the proofs it carried fitted to the new count (cycled): a copier's best guess is the sketches it copied. */
function reheader(u: DecodedUpdate, step: number, range: { start: number; count: number }): DecodedUpdate {
  return { ...u, step, batchStart: range.start, batchCount: range.count, unitSize: unitSizeFor(range.count), proof: fittedProof(u.proof, range.count) };
}

function fittedProof(from: Float32Array, count: number): Float32Array {
  const out = new Float32Array(proofUnits(count) * PROOF_ROWS);
  for (let i = 0; i < out.length; i++) out[i] = from[i % from.length];
  return out;
}

function randomSigns(u: DecodedUpdate, r: () => number): DecodedUpdate {
  return withTensors(u, (t) => ({ indices: t.indices, values: Float32Array.from(t.values, () => (r() < 0.5 ? -1 : 1)) }));
}

function constantSigns(u: DecodedUpdate, sign: 1 | -1): DecodedUpdate {
  return withTensors(u, (t) => ({ indices: t.indices, values: new Float32Array(t.values.length).fill(sign) }));
}

function flipSigns(u: DecodedUpdate, share: number, r: () => number): DecodedUpdate {
  return withTensors(u, (t) => {
    const values = t.values.slice();
    for (let i = 0; i < values.length; i++) if (r() < share) values[i] = -values[i];
    return { indices: t.indices, values };
  });
}

/** k distinct random indices per block, ascending, random signs. */
function randomIndices(u: DecodedUpdate, r: () => number): DecodedUpdate {
  return withTensors(u, (t) => {
    const size = t.block.reduce((a, b) => a * b, 1);
    const blocks = t.indices.length / t.k;
    const indices = new Uint32Array(t.indices.length);
    for (let b = 0; b < blocks; b++) {
      const chosen = new Set<number>();
      while (chosen.size < t.k) chosen.add(Math.floor(r() * size));
      indices.set([...chosen].sort((x, y) => x - y), b * t.k);
    }
    return { indices, values: Float32Array.from(indices, () => (r() < 0.5 ? -1 : 1)) };
  });
}

/**
 * A partial copy: each block keeps a share `keep` of the source's entries
 * (index and sign) and replaces the rest with random distinct indices the
 * source did not keep, random signs; so the exact overlap with the source is
 * about `keep`, under the copy threshold when keep < 0.8.
 */
function partialCopy(u: DecodedUpdate, keep: number, r: () => number): DecodedUpdate {
  return withTensors(u, (t) => {
    const size = t.block.reduce((a, b) => a * b, 1);
    const blocks = t.indices.length / t.k;
    const indices = new Uint32Array(t.indices.length);
    const values = new Float32Array(t.values.length);
    for (let b = 0; b < blocks; b++) {
      const src = Array.from({ length: t.k }, (_, i) => ({ index: t.indices[b * t.k + i], value: t.values[b * t.k + i] }));
      // Fisher–Yates, so which entries are replaced is random, not the block's first or last.
      for (let i = src.length - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [src[i], src[j]] = [src[j], src[i]];
      }
      const taken = new Set(src.map((e) => e.index));
      const replace = Math.min(t.k - Math.round(keep * t.k), size - t.k);
      const entries = src.slice(0, t.k - replace);
      while (entries.length < t.k) {
        const index = Math.floor(r() * size);
        if (taken.has(index)) continue;
        taken.add(index);
        entries.push({ index, value: r() < 0.5 ? -1 : 1 });
      }
      entries.sort((x, y) => x.index - y.index);
      entries.forEach((e, i) => {
        indices[b * t.k + i] = e.index;
        values[b * t.k + i] = e.value;
      });
    }
    return { indices, values };
  });
}

/** k distinct members of `pool`, a seeded draw (the committee: the state machine shuffles and takes the first k). */
function draw<T>(pool: T[], k: number, r: () => number): T[] {
  const out = [...pool];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out.slice(0, k);
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function stats(xs: number[]): { n: number; min: number; p5: number; median: number; p95: number; max: number; mean: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  const r = (x: number) => Math.round(x * 1e4) / 1e4;
  return { n: s.length, min: r(s[0]), p5: r(quantile(s, 0.05)), median: r(quantile(s, 0.5)), p95: r(quantile(s, 0.95)), max: r(s[s.length - 1]), mean: r(mean) };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

// ------------------------------------------------------------------ records

const KINDS = [
  'honest',
  'wrongData',
  'lazy',
  'randomSigns',
  'randomIndices',
  'constPlus',
  'constMinus',
  'copy',
  'nearCopy',
  'partialCopy',
  'replay',
  'replay9',
  'replayStep0',
  'nearReplay9',
] as const;
type Kind = (typeof KINDS)[number];

/** How far back replay9 and nearReplay9 reach: past the 8 rounds the copy check once looked back, to show the whole-run check needs no window. */
const REPLAY_BACK = 9;

const CHEATS: Record<Exclude<Kind, 'honest'>, string> = {
  wrongData: 'a persistent cheater replica (own momentum) training on sequences assigned to nobody; claims slot round mod N',
  lazy: 'a persistent cheater replica training on the first quarter of the claimed range (at least one sequence); claims slot round mod N',
  randomSigns: "the slot's own real indices, uniformly random signs",
  randomIndices: 'k random distinct indices per block, random signs',
  constPlus: "the slot's own indices, all +1",
  constMinus: "the slot's own indices, all −1",
  copy: "the next slot's update of the same round, header rewritten to this slot's range",
  nearCopy: 'copy with each sign flipped with probability 0.1',
  partialCopy: "the next slot's update of the same round with 25 % of each block's entries replaced by random distinct indices it did not keep, random signs",
  replay: "the slot's own agreed update of the previous round, header rewritten",
  replay9: `the slot's own agreed update of ${REPLAY_BACK} rounds back, header rewritten; from round ${REPLAY_BACK}`,
  replayStep0: "the slot's own agreed update of step 0, header rewritten; from round 2",
  nearReplay9: `replay9 with each sign flipped with probability 0.25; from round ${REPLAY_BACK}`,
};

/** The cheaters with their own replica, present every round (the others are one-off fabrications per slot). */
const PERSISTENT = ['wrongData', 'lazy'] as const;

/** One update (honest or cheat) of one slot in one round, as the network would judge it. */
interface Verdict {
  round: number;
  slot: number;
  kind: Kind;
  /** The honest replicas that scored it (never the slot's own) and their agreementScore, in committee order. */
  committee: number[];
  /** The production score: the agreement score, or the minimum where that verifier's recomputed proof failed. */
  scores: number[];
  /** agreementScore alone, and each verifier's proof error (per-mille) of the sequence it recomputed. */
  agreementScores: number[];
  proofErrors: number[];
  /** Excluded by the proofs alone: most verifiers' recomputation failed. */
  proofExcluded: boolean;
  /** The state machine's verdict: lower median of the scores; excluded when below passScore, a strike when most scores are. */
  median: number;
  excluded: boolean;
  struck: boolean;
  /** For comparison, the first builds' score with the same committee: agreementScore against the verifier's own update alone. */
  pairScores: number[];
  pairExcluded: boolean;
  /**
   * Largest exact overlap (fraction) with the nearest update the coordinator
   * compares against: this round's other updates and every earlier agreed one
   * of the run (server/copy-check.ts finds the near ones through a sketch
   * index; this is the exact maximum, which the index's first candidate is
   * for a true copy).
   */
  overlapNearest: number;
  /** Index overlap (signs ignored) with that nearest update. */
  indexOverlapNearest: number;
  /** Exact overlap with the real update the cheat was built from; null where there is none. */
  overlapSource: number | null;
  /** indexOverlapNearest ≥ maxOverlapPermille: the copy check excludes it before any verifier sees it. */
  copyCaught: boolean;
}

/** An update to judge and, for fabricated ones, the real update it was made from. */
interface Candidate {
  kind: Kind;
  update: DecodedUpdate;
  source: Float64Array | null;
}

/** One agreed round, kept for the replays. */
interface PastRound {
  decoded: DecodedUpdate[];
  keys: Float64Array[];
}

/**
 * Every earlier agreed update's keys, inverted (key → the updates holding
 * it), so the exact nearest-overlap search over the whole run costs the
 * matches rather than one merge per earlier update: by the end of a
 * 1000-client-round run that is ~1000 merges per candidate, seconds a round.
 */
class HistoryIndex {
  private readonly postings = new Map<number, number[]>();
  private readonly all: Float64Array[] = [];

  add(keys: Float64Array): void {
    const id = this.all.length;
    this.all.push(keys);
    // Posted by (tensor, block, index), signs dropped, as the coordinator's copy check compares;
    // an update keeps each index once, so an id enters a posting list at most once.
    for (const k of keys) {
      const i = Math.floor(k / 2);
      const p = this.postings.get(i);
      if (p) p.push(id);
      else this.postings.set(i, [id]);
    }
  }

  /** The earlier update with the largest index overlap (the copy check's measure): |a ∩ b| counted from the postings, the winner measured again by overlap()/indexOverlap(). */
  nearest(keys: Float64Array): { overlap: number; indexOverlap: number } {
    const hits = new Int32Array(this.all.length);
    for (const k of keys) for (const id of this.postings.get(Math.floor(k / 2)) ?? []) hits[id]++;
    let best = -1;
    let bestShare = -1;
    for (let id = 0; id < hits.length; id++) {
      const m = Math.min(keys.length, this.all[id].length);
      const share = m === 0 ? 0 : hits[id] / m;
      if (share > bestShare) [best, bestShare] = [id, share];
    }
    if (best < 0) return { overlap: 0, indexOverlap: 0 };
    return { overlap: overlap(keys, this.all[best]), indexOverlap: indexOverlap(keys, this.all[best]) };
  }
}

interface ScoreRecord {
  round: number;
  /** The slot whose range the update claims. */
  slot: number;
  kind: Kind;
  verifier: number;
  sampleSeqs: number[];
  /** Sign agreement (fractions) and the weighted agreement (Σc·s/Σ|c|). */
  agreeSample: number;
  agreeControl: number;
  weightedSample: number;
  weightedControl: number;
  /** Loss before/after applying the update alone (nats); NaN where this slot got no loss-change score this round. */
  lossSampleBefore: number;
  lossSampleAfter: number;
  lossControlBefore: number;
  lossControlAfter: number;
  /** DCT at the kept coefficients of sample and control gradients, CPU. */
  dctMs: number;
  /** Trial apply + 2 forwards + restore. */
  lossMs: number;
}

/** The score variants compared (each a number where higher = more honest-looking). */
const VARIANTS: Record<string, (r: ScoreRecord) => number> = {
  signDiff: (r) => r.agreeSample - r.agreeControl,
  signSample: (r) => r.agreeSample - 0.5,
  weightedDiff: (r) => r.weightedSample - r.weightedControl,
  weightedSample: (r) => r.weightedSample,
  lossDiff: (r) => r.lossSampleBefore - r.lossSampleAfter - (r.lossControlBefore - r.lossControlAfter),
  lossSample: (r) => r.lossSampleBefore - r.lossSampleAfter,
};

interface OverlapRecord {
  round: number;
  what: string;
  slot: number;
  other: number;
  overlap: number;
  indexOverlap: number;
}

// ------------------------------------------------------------------ run

type Loader = Awaited<ReturnType<typeof openShardLoader>>;

interface GradientTimings {
  gradMs: number[];
  dctMs: number[];
  lossMs: number[];
  forwardMs: number[];
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const loader = await openShardLoader({ baseUrl: 'file:///data/' + config.dataset, fetch: fileFetch });
  const gpu = await createNodeGpu();
  console.log(`adapter: ${gpu.info.vendor} ${gpu.info.architecture} ${gpu.info.description}`);
  console.log(`replicas ${N}, global batch ${B} (${(B / N).toFixed(1)} per replica), rounds ${ROUNDS}, scores ${SCORES}, committee ${COMMITTEE}, pass score ${PASS_SCORE}`);
  // One set of parameters for every replica: they all apply the same agreed
  // set to the same parameters, and the apply is deterministic (the DeMo
  // bench's replicas agreed bit for bit after every step), so N copies would
  // only multiply the apply, the costliest step after training, by N + 2.
  // Each replica keeps its own momentum, which is what makes its update its own.
  const shared = GpuModel.fromParams(gpu, model, initParams(model, config.initSeed));
  const mk = () => new DemoReplica(shared, demoSettings);
  const honest = Array.from({ length: N }, mk);
  const wrongDataCheater = mk();
  const lazyCheater = mk();
  const all = [...honest, wrongDataCheater, lazyCheater];
  const runIdHex = config.runId;
  const runId = Uint8Array.from(runIdHex.match(/../g)!.map((h) => parseInt(h, 16)));
  const expected = honest[0].expectedUpdate;

  const scores: ScoreRecord[] = [];
  const verdicts: Verdict[] = [];
  const overlaps: OverlapRecord[] = [];
  const rounds: { round: number; lr: number; meanLoss: number; checksum: string; trainMs: number; scoreMs: number; judgeMs: number; applyMs: number; roundMs: number; stateUnchanged: boolean | null }[] = [];
  const trainStepMs: number[] = [];
  const fbMs: number[] = [];
  const agreementMs: number[] = [];
  const recomputeMs: number[] = [];
  const gt: GradientTimings = { gradMs: [], dctMs: [], lossMs: [], forwardMs: [] };
  const past: PastRound[] = [];
  const history = new HistoryIndex();
  let allStateUnchanged: boolean | null = GRADIENT_SCORES ? true : null;

  for (let t = 0; t < ROUNDS; t++) {
    const r0 = performance.now();
    const lr = lrAt(t);
    const cursor = t * B;
    const ranges = assignRanges(N, B, cursor, roundSeed(runIdHex, t));
    const tr0 = performance.now();
    // Honest training.
    const bytes: Uint8Array[] = [];
    let lossSum = 0;
    for (let r = 0; r < N; r++) {
      const batch = await loader.batchForRange(ranges[r].start, ranges[r].count, seqLen);
      const ts = performance.now();
      const u = await honest[r].computeUpdate(batch, lr, { runId, step: t, batchStart: ranges[r].start, batchCount: ranges[r].count });
      trainStepMs.push(performance.now() - ts);
      fbMs.push(u.forwardBackwardMs);
      bytes.push(u.bytes);
      lossSum += u.loss;
    }
    // The two persistent cheaters claim slot t mod N's range.
    const victim = t % N;
    const vr = ranges[victim];
    const wrongBatch = await loader.batchForRange(WRONG_DATA_BASE + t * vr.count, vr.count, seqLen);
    // Its proofs are real sketches, of the sequences it trained on.
    const wrongBytes = (await wrongDataCheater.computeUpdate(wrongBatch, lr, { runId, step: t, batchStart: vr.start, batchCount: vr.count })).bytes;
    const lazyCount = Math.max(1, Math.floor(vr.count / 4));
    const lazyBatch = await loader.batchForRange(vr.start, lazyCount, seqLen);
    // Real proofs for the sequences it trained on, the skipped ones filled in with those (its best guess).
    const lazyOwn = decodeUpdate((await lazyCheater.computeUpdate(lazyBatch, lr, { runId, step: t, batchStart: vr.start, batchCount: lazyCount })).bytes, expected);
    const lazyBytes = encodeUpdate(reheader(lazyOwn, t, vr), lazyOwn);
    const trainMs = performance.now() - tr0;

    const decoded = bytes.map((b) => decodeUpdate(b, expected));
    const keys = decoded.map((u) => updateKeys(u));
    const persistent: Record<(typeof PERSISTENT)[number], DecodedUpdate> = { wrongData: decodeUpdate(wrongBytes, expected), lazy: decodeUpdate(lazyBytes, expected) };

    // Exact overlap between honest updates: same round, and one client's consecutive rounds.
    for (let a = 0; a < N; a++) {
      for (let b = a + 1; b < N; b++) overlaps.push({ round: t, what: 'honestSameRound', slot: a, other: b, overlap: overlap(keys[a], keys[b]), indexOverlap: indexOverlap(keys[a], keys[b]) });
      if (past.length > 0) {
        const k = past[past.length - 1].keys[a];
        overlaps.push({ round: t, what: 'honestConsecutiveRounds', slot: a, other: a, overlap: overlap(keys[a], k), indexOverlap: indexOverlap(keys[a], k) });
      }
    }

    const before = GRADIENT_SCORES ? await checksums(honest) : null;
    const ts0 = performance.now();
    let judgeMs = 0;
    for (let s = 0; s < N; s++) {
      const cands = candidates(t, s, ranges[s], decoded, keys, past, s === victim ? persistent : null);
      // The committee's recomputed proof units, on the pre-round parameters every replica shares (one recomputation per sequence serves them all).
      const ro = rng(t, s, 4);
      const offsets = proofOffsets(proofUnits(ranges[s].count), COMMITTEE, () => Math.floor(ro() * 2 ** 32));
      const p0 = performance.now();
      const recomputed = new Map<number, Float32Array>();
      for (const o of new Set(offsets)) {
        const unit = unitRange(ranges[s].count, o);
        recomputed.set(o, await honest[0].unitSketch(await loader.batchForRange(ranges[s].start + unit.start, unit.count, seqLen), t));
      }
      recomputeMs.push((performance.now() - p0) / new Set(offsets).size);
      const j0 = performance.now();
      verdicts.push(...judge(t, s, cands, decoded, keys, history, agreementMs, offsets, recomputed));
      judgeMs += performance.now() - j0;
      if (GRADIENT_SCORES) scores.push(...(await gradientScores(loader, honest, t, s, victim, ranges[s], lr, cands, gt)));
    }
    const scoreMs = performance.now() - ts0;
    let unchanged: boolean | null = null;
    if (before) {
      const after = await checksums(honest);
      unchanged = before.every((b, i) => b.params === after[i].params && b.momentum === after[i].momentum);
      if (!unchanged) allStateUnchanged = false;
    }

    // The agreed set: the N honest updates, applied once to the parameters every replica (cheaters too) trains from.
    const ap0 = performance.now();
    const { checksum } = await honest[0].applyAgreed(bytes, lr, opt.weightDecay);
    const applyMs = performance.now() - ap0;
    past.push({ decoded, keys });
    for (const k of keys) history.add(k);
    const roundMs = performance.now() - r0;
    rounds.push({ round: t, lr, meanLoss: lossSum / N, checksum, trainMs, scoreMs, judgeMs, applyMs, roundMs, stateUnchanged: unchanged });
    console.log(roundLine(t, lr, lossSum / N, trainMs, scoreMs, roundMs, verdicts.filter((v) => v.round === t), scores.filter((x) => x.round === t), unchanged));
  }

  for (const rep of all) rep.dispose();
  shared.dispose();
  gpu.device.destroy();
  const wallS = (performance.now() - t0) / 1000;

  const timings: Timings = { trainStepMs, fbMs, agreementMs, recomputeMs, applyMs: rounds.map((r) => r.applyMs), roundMs: rounds.map((r) => r.roundMs), ...gt };
  const summary = summarize(verdicts, scores, overlaps, timings);
  // The first rounds (lr warmup, momentum still near its start) behave differently: the same summary without them.
  const from = Math.min(config.lr.warmupSteps, Math.floor(ROUNDS / 2));
  const late = <T extends { round: number }>(xs: T[]) => xs.filter((x) => x.round >= from);
  const summaryAfterWarmup = { fromRound: from, ...summarize(late(verdicts), late(scores), late(overlaps), timings) };
  const report = {
    env: { date: new Date().toISOString(), node: process.version, hostCpus: cpus().length, adapter: `${gpu.info.vendor} ${gpu.info.architecture} ${gpu.info.description}`, wallSeconds: Math.round(wallS) },
    command: `VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json npx vite-node scripts/verify-sim.ts -- ${argv.join(' ')}`,
    spec: {
      model: config.model,
      parameters: honest[0].model.parameterCount,
      seqLen,
      replicas: N,
      globalBatch: B,
      rounds: ROUNDS,
      scores: SCORES,
      agreement: {
        score: "agreementScore(candidate, references), src/verify/agreement-score.ts; references: the verifier's own update and the round's other honest updates but the candidate's slot, at most `references` (src/verify/references.ts)",
        references: REFERENCES,
        pairScore: 'pairScores/pairExcluded: the same committee scoring against its own update alone (references 1)',
        committee: COMMITTEE,
        committeeDraw: "distinct honest replicas other than the slot's, seeded per (round, slot); every candidate of a slot faces the same committee",
        passScore: PASS_SCORE,
        verdict: 'lower median ≥ passScore passes; excluded when it fails; a strike when most scores < passScore (src/run/verification.ts decideRound)',
        copyCheck: { maxOverlapPermille: config.verification.maxOverlapPermille, against: "this round's other updates and every earlier agreed update of the run (exact maximum)" },
      },
      gradientScores: GRADIENT_SCORES ? { sampleSequences: SAMPLE, controlSequences: SAMPLE, verifiersPerUpdate: 2, lossLrScale: LOSS_LR_SCALE, lossSlots: LOSS_SLOTS } : null,
      optimizer: opt,
      lr: config.lr,
      cheats: CHEATS,
    },
    allReplicaStatesUnchangedByScoring: allStateUnchanged,
    summary,
    summaryAfterWarmup,
    rounds,
    overlaps: table(overlaps, ['round', 'what', 'slot', 'other', 'overlap', 'indexOverlap']),
    verdicts: table(verdicts, ['round', 'slot', 'kind', 'committee', 'scores', 'agreementScores', 'proofErrors', 'proofExcluded', 'median', 'excluded', 'struck', 'pairScores', 'pairExcluded', 'overlapNearest', 'indexOverlapNearest', 'overlapSource', 'copyCaught']),
    scores,
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(report)}\n`);
  if (DOCS) {
    mkdirSync(DOCS_DIR, { recursive: true });
    copyFileSync(OUT, join(DOCS_DIR, 'verification-scores.json'));
  }
  printSummary(summary);
  console.log(`\n######## after warmup (rounds ≥ ${summaryAfterWarmup.fromRound})`);
  printSummary(summaryAfterWarmup);
  if (CHART) await drawChart(verdicts, scores, summary, CHART_PATH);
  console.log(`\nwall ${wallS.toFixed(0)} s; wrote ${OUT}${DOCS ? ` and ${DOCS_DIR}/verification-scores.json` : ''}`);
}

/** Every replica's parameter and momentum checksums, one after another: the replicas share the model's checksum scratch. */
async function checksums(replicas: DemoReplica[]): Promise<{ params: string; momentum: string }[]> {
  const out: { params: string; momentum: string }[] = [];
  for (const r of replicas) out.push(await r.stateChecksums());
  return out;
}

/**
 * Every update claiming slot s this round: the honest one, the fabrications
 * built from this round's and earlier rounds' real updates, and (on the
 * victim slot) the persistent cheaters'. Each fabrication has its own seeded
 * stream, so adding a kind does not change the others.
 */
function candidates(
  t: number,
  s: number,
  range: { start: number; count: number },
  decoded: DecodedUpdate[],
  keys: Float64Array[],
  past: PastRound[],
  persistent: Record<(typeof PERSISTENT)[number], DecodedUpdate> | null,
): Candidate[] {
  const r = (kind: Kind) => rng(t, s, 100 + KINDS.indexOf(kind));
  const own = decoded[s];
  const o = (s + 1) % N;
  const other = decoded[o];
  const out: Candidate[] = [
    { kind: 'honest', update: own, source: null },
    { kind: 'randomSigns', update: randomSigns(own, r('randomSigns')), source: keys[s] },
    { kind: 'randomIndices', update: randomIndices(own, r('randomIndices')), source: null },
    { kind: 'constPlus', update: constantSigns(own, 1), source: keys[s] },
    { kind: 'constMinus', update: constantSigns(own, -1), source: keys[s] },
    { kind: 'copy', update: reheader(other, t, range), source: keys[o] },
    { kind: 'nearCopy', update: reheader(flipSigns(other, 0.1, r('nearCopy')), t, range), source: keys[o] },
    { kind: 'partialCopy', update: reheader(partialCopy(other, 0.75, r('partialCopy')), t, range), source: keys[o] },
  ];
  const replay = (kind: Kind, from: number, flip: number) => {
    const src = past[from];
    const u = flip > 0 ? flipSigns(src.decoded[s], flip, r(kind)) : src.decoded[s];
    out.push({ kind, update: reheader(u, t, range), source: src.keys[s] });
  };
  if (t >= 1) replay('replay', t - 1, 0);
  if (t >= REPLAY_BACK) {
    replay('replay9', t - REPLAY_BACK, 0);
    replay('nearReplay9', t - REPLAY_BACK, 0.25);
  }
  // At round 1 step 0 is the previous round: replay already covers it.
  if (t >= 2) replay('replayStep0', 0, 0);
  if (persistent) for (const kind of PERSISTENT) out.push({ kind, update: persistent[kind], source: null });
  return out;
}

/**
 * The network's judgement of each candidate: the coordinator's exact copy
 * check (against this round's other updates and every earlier agreed one)
 * and the committee's agreement scores. The committee is
 * drawn once per slot, so every candidate of the slot meets the same one, as
 * it would in the round.
 */
function judge(
  t: number,
  s: number,
  cands: Candidate[],
  decoded: DecodedUpdate[],
  keys: Float64Array[],
  history: HistoryIndex,
  agreementMs: number[],
  offsets: number[],
  recomputed: Map<number, Float32Array>,
): Verdict[] {
  const all = Array.from({ length: N }, (_, i) => i);
  const others = all.filter((i) => i !== s);
  const committee = draw(others, COMMITTEE, rng(t, s, 3));
  const sameRound = keys.filter((_, i) => i !== s);
  return cands.map(({ kind, update, source }) => {
    const ku = updateKeys(update);
    let nearest = history.nearest(ku);
    for (const kp of sameRound) {
      const io = indexOverlap(ku, kp);
      if (io > nearest.indexOverlap) nearest = { overlap: overlap(ku, kp), indexOverlap: io };
    }
    const overlapSource = source ? overlap(ku, source) : null;
    const a0 = performance.now();
    // Every honest replica is past probation here, so all are trusted references.
    const refsOf = (v: number) => referenceSlots(v, all, s, REFERENCES, N).map((j) => keys[j]);
    const agreementScores = committee.map((v) => agreementScoreOfKeys(ku, refsOf(v)));
    agreementMs.push((performance.now() - a0) / agreementScores.length);
    // Verifier i recomputes proof unit offsets[i]; a proof off by more than the run allows scores the minimum, whatever the agreement.
    const proofErrors = offsets.map((o) => (o < proofUnits(update.batchCount) ? Math.min(PROOF_ERROR_CAP, proofErrorPermille(claimedSketch(update, o), recomputed.get(o)!)) : PROOF_ERROR_CAP));
    const gated = (xs: number[]) => xs.map((x, i) => (proofErrors[i] > MAX_PROOF_ERROR ? -MAX_SCORE : x));
    const scores = gated(agreementScores);
    const pairScores = gated(committee.map((v) => agreementScoreOfKeys(ku, [keys[v]])));
    const proofFailures = proofErrors.filter((e) => e > MAX_PROOF_ERROR).length;
    const median = lowerMedian(scores);
    const fails = scores.filter((x) => x < PASS_SCORE).length;
    return {
      round: t,
      slot: s,
      kind,
      committee,
      scores,
      agreementScores,
      proofErrors,
      proofExcluded: 2 * proofFailures > proofErrors.length || (proofErrors.length === 2 && proofFailures === 2),
      median,
      excluded: median < PASS_SCORE,
      struck: 2 * fails > scores.length,
      pairScores,
      pairExcluded: lowerMedian(pairScores) < PASS_SCORE,
      overlapNearest: nearest.overlap,
      indexOverlapNearest: nearest.indexOverlap,
      overlapSource,
      // The coordinator compares (tensor, block, index) sets: signs do not count (server/copy-check.ts).
      copyCaught: nearest.indexOverlap >= MAX_OVERLAP,
    };
  });
}

/**
 * Records as a column list and one row array each, fractions to 4 decimals:
 * a 1000-client-round run has ~14,000 verdicts, which as objects would make
 * the kept JSON several MB.
 */
function table<T extends object>(records: T[], columns: (keyof T & string)[]): { columns: string[]; rows: unknown[][] } {
  const cell = (x: unknown) => (typeof x === 'number' && !Number.isInteger(x) ? round4(x) : x);
  return { columns, rows: records.map((r) => columns.map((c) => cell(r[c]))) };
}

/**
 * The gradient candidates (src/verify/update-score.ts) for one slot: two
 * verifiers, each with its own sample of the claimed range and its own
 * control; the loss-change score only on the LOSS_SLOTS slots from the victim
 * on (it is the slowest).
 */
async function gradientScores(
  loader: Loader,
  honest: DemoReplica[],
  t: number,
  s: number,
  victim: number,
  range: { start: number; count: number },
  lr: number,
  cands: Candidate[],
  gt: GradientTimings,
): Promise<ScoreRecord[]> {
  const mode = { chunk: opt.chunk, topk: opt.topk, quantize1bit: opt.quantize1bit };
  const out: ScoreRecord[] = [];
  const order = Array.from({ length: range.count }, (_, i) => i);
  const ro = rng(t, s, 2);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(ro() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (let j = 0; j < 2; j++) {
    const verifier = honest[(s + 1 + j) % N];
    const picks = order.slice((j * SAMPLE) % range.count, (j * SAMPLE) % range.count + SAMPLE).map((i) => range.start + i);
    const sample = await batchOf(loader, picks);
    const control = await loader.batchForRange(CONTROL_BASE + (t * N * 2 + s * 2 + j) * SAMPLE, SAMPLE, seqLen);
    const gs: VerifierGradient = await verifierGradient(verifier, sample);
    const gc: VerifierGradient = await verifierGradient(verifier, control);
    gt.gradMs.push(gs.ms, gc.ms);
    const f0 = performance.now();
    const sampleBefore = await verifier.model.loss(sample);
    const controlBefore = await verifier.model.loss(control);
    gt.forwardMs.push((performance.now() - f0) / 2);
    for (const { kind, update: u } of cands) {
      const d0 = performance.now();
      const sign = signScoreOf(verifier, u, gs, gc);
      const dms = performance.now() - d0;
      gt.dctMs.push(dms);
      const lossSlot = (s - victim + N) % N < LOSS_SLOTS;
      const loss = lossSlot
        ? await lossChangeScore(verifier, encodeUpdate(u, mode), sample, control, lr * LOSS_LR_SCALE, { sampleBefore, controlBefore })
        : { sampleBefore: NaN, sampleAfter: NaN, controlBefore: NaN, controlAfter: NaN, ms: NaN };
      if (lossSlot) gt.lossMs.push(loss.ms);
      out.push({
        round: t,
        slot: s,
        kind,
        verifier: j,
        sampleSeqs: picks,
        agreeSample: sign.agreeSample,
        agreeControl: sign.agreeControl,
        weightedSample: sign.weightedSample,
        weightedControl: sign.weightedControl,
        lossSampleBefore: loss.sampleBefore,
        lossSampleAfter: loss.sampleAfter,
        lossControlBefore: loss.controlBefore,
        lossControlAfter: loss.controlAfter,
        dctMs: dms,
        lossMs: loss.ms,
      });
    }
  }
  return out;
}

/** The per-round console line: loss, timings, the agreement medians that matter most, and the gradient scores when they ran. */
function roundLine(t: number, lr: number, loss: number, trainMs: number, scoreMs: number, roundMs: number, vs: Verdict[], sc: ScoreRecord[], unchanged: boolean | null): string {
  const med = (k: Kind) => {
    const xs = vs.filter((v) => v.kind === k).map((v) => v.median);
    return xs.length ? String(stats(xs).median) : '-';
  };
  const honestV = vs.filter((v) => v.kind === 'honest');
  const lowest = Math.min(...honestV.flatMap((v) => v.scores));
  let line =
    `round ${t} lr ${lr.toExponential(2)} loss ${loss.toFixed(4)} train ${(trainMs / 1000).toFixed(1)}s score ${(scoreMs / 1000).toFixed(1)}s round ${(roundMs / 1000).toFixed(1)}s ` +
    `agreement honest ${med('honest')} (lowest ${lowest}, excluded ${honestV.filter((v) => v.excluded).length}/${honestV.length}) ` +
    `wrongData ${med('wrongData')} lazy ${med('lazy')} partialCopy ${med('partialCopy')} replay ${med('replay')} replay9 ${med('replay9')} randomSigns ${med('randomSigns')}`;
  if (sc.length) {
    // Only LOSS_SLOTS slots have a loss score: average the ones that do.
    const m = (k: Kind, f: (r: ScoreRecord) => number) => mean(sc.filter((x) => x.kind === k).map(f).filter(Number.isFinite)).toFixed(3);
    line += ` | signDiff honest ${m('honest', VARIANTS.signDiff)} copy ${m('copy', VARIANTS.signDiff)} lossDiff honest ${m('honest', VARIANTS.lossDiff)} state ${unchanged ? 'unchanged' : 'CHANGED'}`;
  }
  return line;
}

async function batchOf(loader: Loader, seqs: number[]): Promise<TokenBatch> {
  const parts = await Promise.all(seqs.map((i) => loader.batchForRange(i, 1, seqLen)));
  const inputIds = new Int32Array(seqs.length * seqLen);
  const targets = new Int32Array(seqs.length * seqLen);
  parts.forEach((p, i) => {
    inputIds.set(p.inputIds, i * seqLen);
    targets.set(p.targets, i * seqLen);
  });
  return { inputIds, targets, batch: seqs.length, seqLen };
}

// ------------------------------------------------------------------ summary

interface Timings extends GradientTimings {
  trainStepMs: number[];
  fbMs: number[];
  /** One agreementScore (no gradient: two key lists and a merge). */
  agreementMs: number[];
  /** Recomputing one proof unit's gradient sketch (forward + backward of its sequences and the sketch). */
  recomputeMs: number[];
  /** Applying the agreed set (once: the replicas share the parameters). */
  applyMs: number[];
  /** A whole round: training, judging (and the gradient scores when they ran), applying. */
  roundMs: number[];
}

/** The verdict on one (round, slot, kind): the lower median of its verifiers' scores (with 2, the lower one), as the state machine takes it. */
function combined(scores: ScoreRecord[], f: (r: ScoreRecord) => number): Map<string, { round: number; slot: number; kind: Kind; value: number }> {
  const out = new Map<string, { round: number; slot: number; kind: Kind; value: number }>();
  for (const r of scores) {
    const key = `${r.round}/${r.slot}/${r.kind}`;
    const v = f(r);
    if (!Number.isFinite(v)) continue;
    const cur = out.get(key);
    if (!cur || v < cur.value) out.set(key, { round: r.round, slot: r.slot, kind: r.kind, value: v });
  }
  return out;
}

const share = (xs: boolean[]) => (xs.length ? round4(xs.filter(Boolean).length / xs.length) : null);

/**
 * The production score's results: per kind the single scores and committee
 * medians, how often it is excluded (median below the pass line), struck
 * (most scores below) or caught by the copy check; for the persistent
 * cheaters, how often a 5-round stretch passes without a single exclusion;
 * and for the honest updates the key number, false exclusions per honest
 * client-round.
 */
function summarizeAgreement(vs: Verdict[]) {
  const perKind: Record<string, unknown> = {};
  for (const kind of KINDS) {
    const ks = vs.filter((v) => v.kind === kind);
    if (!ks.length) continue;
    const sources = ks.map((v) => v.overlapSource).filter((x): x is number => x !== null);
    perKind[kind] = {
      verdicts: ks.length,
      single: stats(ks.flatMap((v) => v.scores)),
      median: stats(ks.map((v) => v.median)),
      singleBelowPass: share(ks.flatMap((v) => v.scores.map((x) => x < PASS_SCORE))),
      excluded: share(ks.map((v) => v.excluded)),
      struck: share(ks.map((v) => v.struck)),
      pairExcluded: share(ks.map((v) => v.pairExcluded)),
      proofExcluded: share(ks.map((v) => v.proofExcluded)),
      proofError: stats(ks.flatMap((v) => v.proofErrors)),
      agreementMedian: stats(ks.map((v) => lowerMedian(v.agreementScores))),
      pairMedian: stats(ks.map((v) => lowerMedian(v.pairScores))),
      overlapNearest: stats(ks.map((v) => v.overlapNearest)),
      indexOverlapNearest: stats(ks.map((v) => v.indexOverlapNearest)),
      overlapSource: sources.length ? stats(sources) : null,
      copyCaught: share(ks.map((v) => v.copyCaught)),
      /** Left out by either defence: the copy check or the committee. */
      caught: share(ks.map((v) => v.copyCaught || v.excluded)),
    };
  }
  const persistent: Record<string, unknown> = {};
  for (const kind of PERSISTENT) {
    const series = vs.filter((v) => v.kind === kind).sort((a, b) => a.round - b.round);
    if (!series.length) continue;
    persistent[kind] = {
      rounds: series.length,
      excludedPerRound: share(series.map((v) => v.excluded)),
      struckPerRound: share(series.map((v) => v.struck)),
      proofExcludedPerRound: share(series.map((v) => v.proofExcluded)),
      [`proofExcludedWithin${DETECT_WINDOW}Rounds`]: windowShare(series.map((v) => v.proofExcluded), DETECT_WINDOW),
      [`excludedWithin${DETECT_WINDOW}Rounds`]: windowShare(series.map((v) => v.excluded), DETECT_WINDOW),
      [`struckWithin${DETECT_WINDOW}Rounds`]: windowShare(series.map((v) => v.struck), DETECT_WINDOW),
      pairExcludedPerRound: share(series.map((v) => v.pairExcluded)),
      [`pairExcludedWithin${DETECT_WINDOW}Rounds`]: windowShare(series.map((v) => v.pairExcluded), DETECT_WINDOW),
      windows: Math.max(0, series.length - DETECT_WINDOW + 1),
    };
  }
  const hs = vs.filter((v) => v.kind === 'honest');
  const singles = hs.flatMap((v) => v.scores);
  const honest = {
    clientRounds: hs.length,
    falseExclusions: hs.filter((v) => v.excluded).length,
    falseExclusionRate: hs.length ? hs.filter((v) => v.excluded).length / hs.length : null,
    falseStrikes: hs.filter((v) => v.struck).length,
    pairFalseExclusions: hs.filter((v) => v.pairExcluded).length,
    proofFalseExclusions: hs.filter((v) => v.proofExcluded).length,
    largestHonestProofError: hs.length ? Math.max(...hs.flatMap((v) => v.proofErrors)) : null,
    falseCopyFlags: hs.filter((v) => v.copyCaught).length,
    singleScores: singles.length,
    singleBelowPass: singles.filter((x) => x < PASS_SCORE).length,
    lowestSingle: singles.length ? Math.min(...singles) : null,
    lowestMedian: hs.length ? Math.min(...hs.map((v) => v.median)) : null,
    /** Where the lowest honest verdicts were: a round's slot, so a bad round is visible. */
    lowestVerdicts: [...hs].sort((a, b) => a.median - b.median).slice(0, 5).map((v) => ({ round: v.round, slot: v.slot, scores: v.scores, median: v.median })),
  };
  return { passScore: PASS_SCORE, committee: COMMITTEE, references: REFERENCES, honest, perKind, persistent };
}

function summarize(vs: Verdict[], scores: ScoreRecord[], overlaps: OverlapRecord[], tm: Timings) {
  const ov: Record<string, unknown> = {};
  for (const what of [...new Set(overlaps.map((o) => o.what))]) {
    const os = overlaps.filter((o) => o.what === what);
    ov[what] = { overlap: stats(os.map((o) => o.overlap)), indexOverlap: stats(os.map((o) => o.indexOverlap)) };
  }
  const med = (xs: number[]) => stats(xs).median;
  const trainStep = med(tm.trainStepMs);
  const cost: Record<string, number> = {
    roundMs: med(tm.roundMs),
    roundMsMean: round4(mean(tm.roundMs)),
    trainStepMs: trainStep,
    trainForwardBackwardMs: med(tm.fbMs),
    applyAgreedMs: med(tm.applyMs),
    agreementScoreMs: med(tm.agreementMs),
    agreementScorePerTrainStep: round4(med(tm.agreementMs) / trainStep),
    recomputeSequenceMs: med(tm.recomputeMs),
    recomputeSequencePerTrainStep: round4(med(tm.recomputeMs) / trainStep),
  };
  if (scores.length) {
    cost.verifierGradientMs = med(tm.gradMs);
    cost.dctAtKeptMs = med(tm.dctMs);
    cost.forwardMs = med(tm.forwardMs);
    cost.lossTrialMs = med(tm.lossMs);
    cost.signScoreMsWithOwnControl = round4(med(tm.gradMs) * 2 + med(tm.dctMs));
    cost.signScoreMsSharedControl = round4(med(tm.gradMs) + med(tm.dctMs));
    cost.lossScoreMsSharedBefore = round4(med(tm.lossMs) + med(tm.forwardMs));
    cost.signScorePerTrainStep = round3((med(tm.gradMs) * 2 + med(tm.dctMs)) / trainStep);
    cost.lossScorePerTrainStep = round3((med(tm.lossMs) + 2 * med(tm.forwardMs)) / trainStep);
  }
  return {
    agreement: summarizeAgreement(vs),
    variants: scores.length ? gradientVariants(scores) : null,
    overlaps: ov,
    cost,
  };
}

/** The gradient candidates, each thresholded at its lowest honest verdict (zero honest false positives) and at its best separating point. */
function gradientVariants(scores: ScoreRecord[]): Record<string, unknown> {
  const variants: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(VARIANTS)) {
    const perKind: Record<string, unknown> = {};
    for (const kind of KINDS) {
      const xs = scores.filter((r) => r.kind === kind).map(f).filter(Number.isFinite);
      if (xs.length) perKind[kind] = stats(xs);
    }
    const verdicts = [...combined(scores, f).values()];
    const honestV = verdicts.filter((v) => v.kind === 'honest').map((v) => v.value);
    const cheatV = verdicts.filter((v) => v.kind !== 'honest');
    // Zero honest false positives: pass iff score ≥ the lowest honest verdict.
    const thrZeroFp = Math.min(...honestV);
    const detection: Record<string, number> = {};
    const within5: Record<string, number> = {};
    for (const kind of KINDS.filter((k) => k !== 'honest')) {
      const ks = verdicts.filter((v) => v.kind === kind);
      if (!ks.length) continue;
      detection[kind] = round3(ks.filter((v) => v.value < thrZeroFp).length / ks.length);
      within5[kind] = round3(windowDetection(ks, thrZeroFp, 5));
    }
    // Best separating threshold: maximizes (honest pass rate + cheat detection rate) over every candidate.
    const cands = [...new Set(verdicts.map((v) => v.value))].sort((a, b) => a - b);
    let best = { threshold: thrZeroFp, honestPass: 1, cheatsDetected: cheatV.filter((v) => v.value < thrZeroFp).length / cheatV.length };
    for (const c of cands) {
      const hp = honestV.filter((v) => v >= c).length / honestV.length;
      const cd = cheatV.filter((v) => v.value < c).length / cheatV.length;
      if (hp + cd > best.honestPass + best.cheatsDetected) best = { threshold: c, honestPass: hp, cheatsDetected: cd };
    }
    const perVerifier = scores.filter((r) => r.kind === 'honest').map(f).filter(Number.isFinite);
    variants[name] = {
      perKind,
      verdictHonest: stats(honestV),
      thresholdZeroHonestFp: round4(thrZeroFp),
      perVerifierHonestBelowThreshold: round3(perVerifier.filter((v) => v < thrZeroFp).length / perVerifier.length),
      detectionPerRound: detection,
      detectionWithin5Rounds: within5,
      bestSeparating: { threshold: round4(best.threshold), honestPass: round3(best.honestPass), cheatsDetected: round3(best.cheatsDetected) },
    };
  }
  return variants;
}

/** Share of the w-long stretches of consecutive entries (one series, in round order) with at least one true. */
function windowShare(caught: boolean[], w: number): number | null {
  let windows = 0;
  let hit = 0;
  for (let i = 0; i + w <= caught.length; i++) {
    windows++;
    if (caught.slice(i, i + w).some(Boolean)) hit++;
  }
  return windows ? round4(hit / windows) : null;
}

/** Share of 5-round windows (per slot, consecutive rounds) in which the cheat was caught at least once. */
function windowDetection(vs: { round: number; slot: number; value: number }[], thr: number, w: number): number {
  const bySlot = new Map<number, { round: number; value: number }[]>();
  for (const v of vs) bySlot.set(v.slot, [...(bySlot.get(v.slot) ?? []), v]);
  // The persistent cheaters claim a different slot every round: treat them as one series.
  const series = vs.every((v) => v.slot === v.round % N) ? [vs.map((v) => ({ round: v.round, value: v.value }))] : [...bySlot.values()];
  let windows = 0;
  let caught = 0;
  for (const s of series) {
    const sorted = [...s].sort((a, b) => a.round - b.round);
    for (let i = 0; i + w <= sorted.length; i++) {
      windows++;
      if (sorted.slice(i, i + w).some((v) => v.value < thr)) caught++;
    }
  }
  return windows ? caught / windows : NaN;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

function printSummary(summary: ReturnType<typeof summarize>): void {
  const ag = summary.agreement;
  const h = ag.honest;
  console.log(`\n== agreement (committee ${ag.committee}, pass score ${ag.passScore})`);
  console.log(
    `  honest: ${h.falseExclusions} false exclusions / ${h.clientRounds} client-rounds (${h.falseExclusionRate === null ? '-' : (100 * h.falseExclusionRate).toFixed(3)} %), ` +
      `${h.falseStrikes} false strikes, ${h.falseCopyFlags} copy flags; single scores below pass ${h.singleBelowPass}/${h.singleScores}; lowest single ${h.lowestSingle}, lowest median ${h.lowestMedian}`,
  );
  for (const [kind, k] of Object.entries(ag.perKind) as [string, Record<string, any>][]) {
    const d = (x: Record<string, number>) => `${x.min}/${x.p5}/${x.median}/${x.p95}/${x.max}`;
    console.log(
      `  ${kind.padEnd(12)} single ${d(k.single).padEnd(26)} median ${d(k.median).padEnd(26)} excluded ${k.excluded} struck ${k.struck} ` +
        `copy ${k.copyCaught} (nearest index overlap med ${k.indexOverlapNearest.median}, max ${k.indexOverlapNearest.max}) caught ${k.caught}`,
    );
  }
  for (const [kind, p] of Object.entries(ag.persistent)) console.log(`  ${kind} persistent: ${JSON.stringify(p)}`);
  if (summary.variants) {
    for (const [name, v] of Object.entries(summary.variants) as [string, Record<string, any>][]) {
      console.log(`\n== ${name}: threshold (zero honest FP) ${v.thresholdZeroHonestFp}; best ${JSON.stringify(v.bestSeparating)}`);
      for (const [kind, s] of Object.entries(v.perKind as Record<string, any>)) {
        const det = kind === 'honest' ? '' : ` detect ${v.detectionPerRound[kind]} within5 ${v.detectionWithin5Rounds[kind]}`;
        console.log(`  ${kind.padEnd(14)} min ${s.min} p5 ${s.p5} med ${s.median} p95 ${s.p95} max ${s.max}${det}`);
      }
    }
  }
  console.log('\noverlaps', JSON.stringify(summary.overlaps));
  console.log('\ncost', JSON.stringify(summary.cost));
}

// ------------------------------------------------------------------ chart

interface Strip {
  title: string;
  /** Per kind, the dots: value, colour, radius; drawn in the row's upper or lower half. */
  dots: (kind: Kind) => { upper: { v: number; color: string }[]; lower: { v: number; color: string }[] };
  label: (kind: Kind) => string;
  line: { v: number; text: string };
}

/** One strip panel as an SVG: a row per kind, the dots jittered within their half-row, a dashed vertical line. */
function stripSvg(p: Strip): string {
  const W = 960;
  const rowH = 30;
  const top = 40;
  const left = 220;
  const plotW = W - left - 30;
  const rows = KINDS.filter((k) => {
    const d = p.dots(k);
    return d.upper.length + d.lower.length > 0;
  });
  const vals = rows.flatMap((k) => [...p.dots(k).upper, ...p.dots(k).lower].map((d) => d.v)).concat(p.line.v);
  const lo = Math.min(...vals);
  const hi = Math.max(...vals);
  const x = (v: number) => left + ((v - lo) / (hi - lo || 1)) * plotW;
  const H = top + rows.length * rowH + 40;
  let body = `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${p.title}</text>`;
  rows.forEach((kind, i) => {
    const y = top + i * rowH;
    body += `<text x="${left - 8}" y="${y + rowH / 2 + 4}" text-anchor="end" font-size="12">${p.label(kind)}</text>`;
    body += `<line x1="${left}" x2="${left + plotW}" y1="${y + rowH}" y2="${y + rowH}" stroke="#eee"/>`;
    const r = rng(i, 99);
    const { upper, lower } = p.dots(kind);
    // With nothing in the upper half (one dot per record), the lower dots get the whole row.
    const halves = upper.length ? ([[upper, y + 2, rowH / 2 - 4, 1.6, 0.3], [lower, y + rowH / 2 + 1, rowH / 2 - 4, 2.2, 0.6]] as const) : ([[lower, y + 3, rowH - 6, 2, 0.45]] as const);
    for (const [dots, y0, h, rad, op] of halves) {
      for (const d of dots) body += `<circle cx="${x(d.v).toFixed(1)}" cy="${(y0 + r() * h).toFixed(1)}" r="${rad}" fill="${d.color}" fill-opacity="${op}"/>`;
    }
  });
  const yb = top + rows.length * rowH;
  body += `<line x1="${x(p.line.v)}" x2="${x(p.line.v)}" y1="${top - 6}" y2="${yb}" stroke="#4f46e5" stroke-dasharray="4 3"/>`;
  body += `<text x="${x(p.line.v) + 4}" y="${top - 8}" font-size="11" fill="#4f46e5">${p.line.text}</text>`;
  // Round tick steps (1, 2 or 5 × 10^k), about 8 of them across the range.
  const raw = (hi - lo || 1) / 8;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((st) => st >= raw) ?? 10 * mag;
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    body += `<line x1="${x(v)}" x2="${x(v)}" y1="${yb}" y2="${yb + 5}" stroke="#333"/><text x="${x(v)}" y="${yb + 18}" text-anchor="middle" font-size="11">${v.toFixed(digits)}</text>`;
  }
  body += `<line x1="${left}" x2="${left + plotW}" y1="${yb}" y2="${yb}" stroke="#333"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">${body}</svg>`;
}

const HONEST = '#059669';
const CHEAT = '#dc2626';
/** A cheat the copy check already excludes: its scores never matter. */
const COPY_CAUGHT = '#9ca3af';

async function drawChart(vs: Verdict[], scores: ScoreRecord[], summary: ReturnType<typeof summarize>, path: string): Promise<void> {
  const { chromium } = await import('@playwright/test');
  const { chromiumLaunchOptions } = await import('../e2e/chromium');
  const perKind = summary.agreement.perKind as Record<string, { excluded: number; copyCaught: number; caught: number }>;
  const colour = (v: Verdict) => (v.kind === 'honest' ? HONEST : v.copyCaught ? COPY_CAUGHT : CHEAT);
  const panels: Strip[] = [
    {
      title: `agreement score, committee of ${COMMITTEE}: upper half each verifier's score, lower half the committee's lower median`,
      dots: (kind) => {
        const ks = vs.filter((v) => v.kind === kind);
        return { upper: ks.flatMap((v) => v.scores.map((x) => ({ v: x, color: colour(v) }))), lower: ks.map((v) => ({ v: v.median, color: colour(v) })) };
      },
      label: (kind) => {
        const k = perKind[kind];
        if (!k) return kind;
        return kind === 'honest' ? `honest (excluded ${pct(k.excluded)})` : `${kind} (excl. ${pct(k.excluded)}, copy ${pct(k.copyCaught)})`;
      },
      line: { v: PASS_SCORE, text: `pass score ${PASS_SCORE}` },
    },
  ];
  const variants = summary.variants as Record<string, { thresholdZeroHonestFp: number }> | null;
  if (scores.length && variants) {
    for (const [name, title] of [
      ['signDiff', 'sign agreement: agree(sample) − agree(control)'],
      ['lossDiff', 'loss change: drop(sample) − drop(control), nats'],
    ] as const) {
      const f = VARIANTS[name];
      const thr = variants[name].thresholdZeroHonestFp;
      panels.push({
        title,
        dots: (kind) => ({ upper: [], lower: scores.filter((q) => q.kind === kind && Number.isFinite(f(q))).map((q) => ({ v: f(q), color: kind === 'honest' ? HONEST : CHEAT })) }),
        label: (kind) => kind,
        line: { v: thr, text: `lowest honest verdict ${thr.toFixed(4)}` },
      });
    }
  }
  const legend =
    `${ROUNDS} rounds, ${N} replicas, global batch ${B} (${(B / N).toFixed(1)} per replica). Green honest, red cheats, grey cheats the exact copy check ` +
    `(≥ ${config.verification.maxOverlapPermille}‰ against this round's other updates and every earlier agreed one) already excludes.`;
  const html = `<!doctype html><html><body style="margin:0;background:#fff"><div id="chart" style="display:inline-block;padding:8px">${panels.map(stripSvg).join('<br/>')}<div style="font:12px sans-serif;color:#555;padding:4px 8px;max-width:940px">${legend}</div></div></body></html>`;
  const browser = await chromium.launch(chromiumLaunchOptions());
  try {
    const page = await browser.newPage();
    await page.setContent(html);
    mkdirSync(dirname(path), { recursive: true });
    await page.locator('#chart').screenshot({ path });
    console.log(`chart: ${path}`);
  } finally {
    await browser.close();
  }
}

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(x > 0 && x < 0.01 ? 2 : 0)} %`);

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
