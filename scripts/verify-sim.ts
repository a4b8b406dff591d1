/**
 * Measures the verifier's candidate scores (src/verify/update-score.ts) and
 * the exact overlap check (src/verify/overlap.ts) on a real DeMo run in Node
 * (Dawn; SwiftShader without a GPU):
 *
 *   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json \
 *     npx vite-node scripts/verify-sim.ts -- [--rounds 30] [--replicas 4] [--batch 16] [--sample 1]
 *       [--loss-lr-scale 1] [--loss-slots 2] [--seed 1] [--out bench-results/verify-scores.json] [--no-chart]
 *
 * N honest replicas train R rounds of a run with the run's defaults
 * (parseRunConfig({}): tinyDemo, seqLen 64, DeMo settings, lr schedule,
 * weight decay), each on its contiguous range (src/run/assignment.ts), and all
 * apply the same agreed set (the N honest updates) so they stay identical;
 * two cheating replicas follow the same agreed set with their own momentum
 * (one trains on sequences nobody was assigned, one on a quarter of its
 * claimed range). Every round, for every slot, the cheats below are built
 * from that round's real updates and every update is scored by 2 verifiers
 * (different samples of the claimed range, different controls) with both
 * candidate scores. Writes every raw score and a summary to --out and
 * docs/bench/verification-scores.json, and a strip chart to
 * docs/bench/verification-scores.png.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { openShardLoader, type FetchFn } from '../src/data/loader';
import { createNodeGpu } from '../src/gpu/node-gpu';
import { getPreset } from '../src/model/config';
import { GpuModel, type TokenBatch } from '../src/model/gpu-model';
import { initParams } from '../src/model/init';
import { decodeUpdate, encodeUpdate, type DecodedUpdate } from '../src/protocol/update-codec';
import { assignRanges, roundSeed } from '../src/run/assignment';
import { parseRunConfig } from '../src/run/run-config';
import { DemoReplica } from '../src/train/demo-trainer';
import { scheduledLearningRate } from '../src/train/schedule';
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
const OUT = flags.get('out') ?? 'bench-results/verify-scores.json';
const CHART = !flags.has('no-chart');
const DOCS_DIR = 'docs/bench';
/** Virtual sequence indices far from every round's batch: the wrong-data cheater's and the controls'. */
const WRONG_DATA_BASE = 12_000;
const CONTROL_BASE = 20_000;
/** Rounds of earlier agreed updates the exact check compares against (the run config's overlapRounds default). */
const OVERLAP_ROUNDS = 8;

const config = parseRunConfig({});
const model = getPreset(config.model);
const seqLen = config.seqLen;
const opt = config.optimizer;
const demoSettings = { chunk: opt.chunk, topk: opt.topk, decay: opt.decay, gradClip: opt.gradClip, quantize1bit: opt.quantize1bit };
const lrAt = (step: number) => scheduledLearningRate(config.lr, config.totalSteps, step);

// ------------------------------------------------------------------ helpers

/** Serves public/data from disk to the shard loader, honouring Range. */
const fileFetch: FetchFn = async (url, init) => {
  const path = join('public', url.replace(/^file:\/\//, ''));
  const bytes = new Uint8Array(readFileSync(path));
  const range = init?.headers ? new Headers(init.headers).get('range') : null;
  const m = range ? /^bytes=(\d+)-(\d+)$/.exec(range) : null;
  if (!m) return new Response(bytes, { status: 200 });
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

function reheader(u: DecodedUpdate, step: number, range: { start: number; count: number }): DecodedUpdate {
  return { ...u, step, batchStart: range.start, batchCount: range.count };
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
  'randomSigns',
  'randomIndices',
  'constPlus',
  'constMinus',
  'copy',
  'nearCopy',
  'replay',
  'wrongData',
  'lazy',
] as const;
type Kind = (typeof KINDS)[number];

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

async function main(): Promise<void> {
  const t0 = performance.now();
  const loader = await openShardLoader({ baseUrl: 'file:///data/' + config.dataset, fetch: fileFetch });
  const gpu = await createNodeGpu();
  console.log(`adapter: ${gpu.info.vendor} ${gpu.info.architecture} ${gpu.info.description}`);
  const init = initParams(model, config.initSeed);
  const mk = () => new DemoReplica(GpuModel.fromParams(gpu, model, init), demoSettings);
  const honest = Array.from({ length: N }, mk);
  const wrongDataCheater = mk();
  const lazyCheater = mk();
  const all = [...honest, wrongDataCheater, lazyCheater];
  const runIdHex = config.runId;
  const runId = Uint8Array.from(runIdHex.match(/../g)!.map((h) => parseInt(h, 16)));
  const expected = honest[0].expectedUpdate;
  const mode = { chunk: opt.chunk, topk: opt.topk, quantize1bit: opt.quantize1bit };

  const scores: ScoreRecord[] = [];
  const overlaps: OverlapRecord[] = [];
  const exactMax: { round: number; slot: number; kind: Kind; maxOverlap: number; maxIndexOverlap: number }[] = [];
  const rounds: { round: number; lr: number; meanLoss: number; checksum: string; trainMs: number; scoreMs: number; stateUnchanged: boolean }[] = [];
  const trainStepMs: number[] = [];
  const fbMs: number[] = [];
  const gradMs: number[] = [];
  const dctMs: number[] = [];
  const lossMs: number[] = [];
  const forwardMs: number[] = [];
  let prev: DecodedUpdate[] | null = null;
  const history: Float64Array[][] = [];
  let allStateUnchanged = true;

  for (let t = 0; t < ROUNDS; t++) {
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
    const wrongBytes = (await wrongDataCheater.computeUpdate(wrongBatch, lr, { runId, step: t, batchStart: vr.start, batchCount: vr.count })).bytes;
    const lazyCount = Math.max(1, Math.floor(vr.count / 4));
    const lazyBatch = await loader.batchForRange(vr.start, lazyCount, seqLen);
    const lazyBytes = (await lazyCheater.computeUpdate(lazyBatch, lr, { runId, step: t, batchStart: vr.start, batchCount: vr.count })).bytes;
    const trainMs = performance.now() - tr0;

    const decoded = bytes.map((b) => decodeUpdate(b, expected));
    const keys = decoded.map((u) => updateKeys(u));

    // Exact overlap between honest updates: same round, and one client's consecutive rounds.
    for (let a = 0; a < N; a++) {
      for (let b = a + 1; b < N; b++) overlaps.push({ round: t, what: 'honestSameRound', slot: a, other: b, overlap: overlap(keys[a], keys[b]), indexOverlap: indexOverlap(keys[a], keys[b]) });
      if (history.length > 0) {
        const k = history[history.length - 1][a];
        overlaps.push({ round: t, what: 'honestConsecutiveRounds', slot: a, other: a, overlap: overlap(keys[a], k), indexOverlap: indexOverlap(keys[a], k) });
      }
    }

    const before = await Promise.all(honest.map((h) => h.stateChecksums()));
    const ts0 = performance.now();
    // Every slot's update and its cheats, all claiming the slot's range.
    for (let s = 0; s < N; s++) {
      const range = ranges[s];
      const r = rng(t, s, 1);
      const own = decoded[s];
      const other = decoded[(s + 1) % N];
      const cheats: [Kind, DecodedUpdate][] = [
        ['honest', own],
        ['randomSigns', randomSigns(own, r)],
        ['randomIndices', randomIndices(own, r)],
        ['constPlus', constantSigns(own, 1)],
        ['constMinus', constantSigns(own, -1)],
        ['copy', reheader(other, t, range)],
        ['nearCopy', reheader(flipSigns(other, 0.1, r), t, range)],
      ];
      if (prev) cheats.push(['replay', reheader(prev[s], t, range)]);
      if (s === victim) {
        cheats.push(['wrongData', decodeUpdate(wrongBytes, expected)]);
        cheats.push(['lazy', decodeUpdate(lazyBytes, expected)]);
      }
      // The exact check, as the coordinator runs it: against this round's other updates and the last rounds' agreed ones.
      for (const [kind, u] of cheats) {
        const ku = updateKeys(u);
        const pool = [...keys.filter((_, i) => i !== s), ...history.slice(-OVERLAP_ROUNDS).flat()];
        let mo = 0;
        let mi = 0;
        for (const kp of pool) {
          mo = Math.max(mo, overlap(ku, kp));
          mi = Math.max(mi, indexOverlap(ku, kp));
        }
        exactMax.push({ round: t, slot: s, kind, maxOverlap: mo, maxIndexOverlap: mi });
        if (kind === 'copy' || kind === 'nearCopy' || kind === 'randomSigns') {
          const src = kind === 'randomSigns' ? keys[s] : keys[(s + 1) % N];
          overlaps.push({ round: t, what: `${kind}VsSource`, slot: s, other: kind === 'randomSigns' ? s : (s + 1) % N, overlap: overlap(ku, src), indexOverlap: indexOverlap(ku, src) });
        }
        if (kind === 'replay' && history.length > 0) {
          const src = history[history.length - 1][s];
          overlaps.push({ round: t, what: 'replayVsSource', slot: s, other: s, overlap: overlap(ku, src), indexOverlap: indexOverlap(ku, src) });
        }
      }
      // Two verifiers, each with its own sample of the claimed range and its own control.
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
        const g0 = performance.now();
        const gs: VerifierGradient = await verifierGradient(verifier, sample);
        const gc: VerifierGradient = await verifierGradient(verifier, control);
        gradMs.push(gs.ms, gc.ms);
        const f0 = performance.now();
        const sampleBefore = await verifier.model.loss(sample);
        const controlBefore = await verifier.model.loss(control);
        forwardMs.push((performance.now() - f0) / 2);
        void g0;
        for (const [kind, u] of cheats) {
          const d0 = performance.now();
          const sign = signScoreOf(verifier, u, gs, gc);
          const dms = performance.now() - d0;
          dctMs.push(dms);
          const lossSlot = (s - victim + N) % N < LOSS_SLOTS;
          const loss = lossSlot
            ? await lossChangeScore(verifier, encodeUpdate(u, mode), sample, control, lr * LOSS_LR_SCALE, { sampleBefore, controlBefore })
            : { sampleBefore: NaN, sampleAfter: NaN, controlBefore: NaN, controlAfter: NaN, ms: NaN };
          if (lossSlot) lossMs.push(loss.ms);
          scores.push({
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
    }
    const scoreMs = performance.now() - ts0;
    const after = await Promise.all(honest.map((h) => h.stateChecksums()));
    const unchanged = before.every((b, i) => b.params === after[i].params && b.momentum === after[i].momentum);
    if (!unchanged) allStateUnchanged = false;

    // The agreed set: the N honest updates, applied by every replica (cheaters too, so they keep the shared parameters).
    const checks: string[] = [];
    for (const rep of all) checks.push((await rep.applyAgreed(bytes, lr, opt.weightDecay)).checksum);
    if (!checks.every((c) => c === checks[0])) throw new Error(`round ${t}: replicas diverged: ${checks.join(' ')}`);
    prev = decoded;
    history.push(keys);
    rounds.push({ round: t, lr, meanLoss: lossSum / N, checksum: checks[0], trainMs, scoreMs, stateUnchanged: unchanged });
    const last = scores.filter((x) => x.round === t);
    const m = (k: Kind, f: (r: ScoreRecord) => number) => mean(last.filter((x) => x.kind === k).map(f)).toFixed(3);
    console.log(
      `round ${t} lr ${lr.toExponential(2)} loss ${(lossSum / N).toFixed(4)} train ${(trainMs / 1000).toFixed(1)}s score ${(scoreMs / 1000).toFixed(1)}s ` +
        `signDiff honest ${m('honest', VARIANTS.signDiff)} copy ${m('copy', VARIANTS.signDiff)} rand ${m('randomSigns', VARIANTS.signDiff)} ` +
        `lossDiff honest ${m('honest', VARIANTS.lossDiff)} copy ${m('copy', VARIANTS.lossDiff)} state ${unchanged ? 'unchanged' : 'CHANGED'}`,
    );
  }

  for (const rep of all) {
    rep.dispose();
    rep.model.dispose();
  }
  gpu.device.destroy();
  const wallS = (performance.now() - t0) / 1000;

  const timings = { trainStepMs, fbMs, gradMs, dctMs, lossMs, forwardMs };
  const summary = summarize(scores, overlaps, exactMax, timings);
  // The first rounds (lr warmup, momentum still near its start) behave differently: the same summary without them.
  const from = Math.min(config.lr.warmupSteps, Math.floor(ROUNDS / 2));
  const late = <T extends { round: number }>(xs: T[]) => xs.filter((x) => x.round >= from);
  const summaryAfterWarmup = { fromRound: from, ...summarize(late(scores), late(overlaps), late(exactMax), timings) };
  const report = {
    env: { date: new Date().toISOString(), node: process.version, hostCpus: cpus().length, adapter: 'see console', wallSeconds: Math.round(wallS) },
    spec: {
      model: config.model,
      parameters: honest[0].model.parameterCount,
      seqLen,
      replicas: N,
      globalBatch: B,
      rounds: ROUNDS,
      sampleSequences: SAMPLE,
      controlSequences: SAMPLE,
      verifiersPerUpdate: 2,
      lossLrScale: LOSS_LR_SCALE,
      optimizer: opt,
      lr: config.lr,
      cheats: {
        randomSigns: "the slot's own real indices, uniformly random signs",
        randomIndices: 'k random distinct indices per block, random signs',
        constPlus: "the slot's own indices, all +1",
        constMinus: "the slot's own indices, all −1",
        copy: "the next slot's update of the same round, header rewritten to this slot's range",
        nearCopy: 'copy with each sign flipped with probability 0.1',
        replay: "the slot's own update of the previous round, header rewritten",
        wrongData: 'a persistent cheater replica (own momentum) training on sequences assigned to nobody; claims slot round mod N',
        lazy: 'a persistent cheater replica training on the first quarter of the claimed range; claims slot round mod N',
      },
    },
    allReplicaStatesUnchangedByScoring: allStateUnchanged,
    summary,
    summaryAfterWarmup,
    rounds,
    overlaps,
    exactMax,
    scores,
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(report)}\n`);
  mkdirSync(DOCS_DIR, { recursive: true });
  copyFileSync(OUT, join(DOCS_DIR, 'verification-scores.json'));
  printSummary(summary);
  console.log(`\n######## after warmup (rounds ≥ ${summaryAfterWarmup.fromRound})`);
  printSummary(summaryAfterWarmup);
  if (CHART) await drawChart(scores, summary, join(DOCS_DIR, 'verification-scores.png'));
  console.log(`\nwall ${wallS.toFixed(0)} s; wrote ${OUT} and ${DOCS_DIR}/verification-scores.json`);
}

async function batchOf(loader: Awaited<ReturnType<typeof openShardLoader>>, seqs: number[]): Promise<TokenBatch> {
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

interface Timings {
  trainStepMs: number[];
  fbMs: number[];
  gradMs: number[];
  dctMs: number[];
  lossMs: number[];
  forwardMs: number[];
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

function summarize(scores: ScoreRecord[], overlaps: OverlapRecord[], exactMax: { kind: Kind; maxOverlap: number; maxIndexOverlap: number; round: number; slot: number }[], tm: Timings) {
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
  const ov: Record<string, unknown> = {};
  for (const what of [...new Set(overlaps.map((o) => o.what))]) {
    const os = overlaps.filter((o) => o.what === what);
    ov[what] = { overlap: stats(os.map((o) => o.overlap)), indexOverlap: stats(os.map((o) => o.indexOverlap)) };
  }
  const ex: Record<string, unknown> = {};
  for (const kind of KINDS) {
    const es = exactMax.filter((e) => e.kind === kind);
    if (es.length) ex[kind] = { maxOverlap: stats(es.map((e) => e.maxOverlap)), maxIndexOverlap: stats(es.map((e) => e.maxIndexOverlap)), caughtAt500Permille: round3(es.filter((e) => e.maxOverlap >= 0.5).length / es.length) };
  }
  const med = (xs: number[]) => stats(xs).median;
  const trainStep = med(tm.trainStepMs);
  const signCost = med(tm.gradMs) + med(tm.dctMs);
  const lossCost = med(tm.lossMs);
  return {
    variants,
    overlaps: ov,
    exactCheckMaxOverlap: ex,
    cost: {
      trainStepMs: trainStep,
      trainForwardBackwardMs: med(tm.fbMs),
      verifierGradientMs: med(tm.gradMs),
      dctAtKeptMs: med(tm.dctMs),
      forwardMs: med(tm.forwardMs),
      lossTrialMs: med(tm.lossMs),
      signScoreMsWithOwnControl: round4(med(tm.gradMs) * 2 + med(tm.dctMs)),
      signScoreMsSharedControl: round4(signCost),
      lossScoreMsSharedBefore: round4(lossCost + med(tm.forwardMs)),
      signScorePerTrainStep: round3((med(tm.gradMs) * 2 + med(tm.dctMs)) / trainStep),
      lossScorePerTrainStep: round3((lossCost + 2 * med(tm.forwardMs)) / trainStep),
    },
  };
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
  for (const [name, v] of Object.entries(summary.variants) as [string, Record<string, any>][]) {
    console.log(`\n== ${name}: threshold (zero honest FP) ${v.thresholdZeroHonestFp}; best ${JSON.stringify(v.bestSeparating)}`);
    for (const [kind, s] of Object.entries(v.perKind as Record<string, any>)) {
      const det = kind === 'honest' ? '' : ` detect ${v.detectionPerRound[kind]} within5 ${v.detectionWithin5Rounds[kind]}`;
      console.log(`  ${kind.padEnd(14)} min ${s.min} p5 ${s.p5} med ${s.median} p95 ${s.p95} max ${s.max}${det}`);
    }
  }
  console.log('\noverlaps', JSON.stringify(summary.overlaps, null, 1));
  console.log('\nexact check', JSON.stringify(summary.exactCheckMaxOverlap));
  console.log('\ncost', JSON.stringify(summary.cost));
}

// ------------------------------------------------------------------ chart

async function drawChart(scores: ScoreRecord[], summary: ReturnType<typeof summarize>, path: string): Promise<void> {
  const { chromium } = await import('@playwright/test');
  const { chromiumLaunchOptions } = await import('../e2e/chromium');
  const panels: { name: string; title: string }[] = [
    { name: 'signDiff', title: 'sign agreement: agree(sample) − agree(control)' },
    { name: 'lossDiff', title: 'loss change: drop(sample) − drop(control), nats' },
  ];
  const W = 880;
  const rowH = 26;
  const top = 40;
  const left = 120;
  const plotW = W - left - 30;
  const svgs = panels.map((p) => {
    const f = VARIANTS[p.name];
    const vals = scores.map(f).filter(Number.isFinite);
    const lo = Math.min(...vals);
    const hi = Math.max(...vals);
    const x = (v: number) => left + ((v - lo) / (hi - lo || 1)) * plotW;
    const H = top + KINDS.length * rowH + 40;
    const thr = (summary.variants[p.name] as { thresholdZeroHonestFp: number }).thresholdZeroHonestFp;
    let body = `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${p.title}</text>`;
    KINDS.forEach((kind, i) => {
      const y = top + i * rowH + rowH / 2;
      body += `<text x="${left - 8}" y="${y + 4}" text-anchor="end" font-size="12">${kind}</text>`;
      body += `<line x1="${left}" x2="${left + plotW}" y1="${y}" y2="${y}" stroke="#eee"/>`;
      const r = rng(i, 99);
      for (const s of scores.filter((q) => q.kind === kind && Number.isFinite(f(q)))) {
        const jitter = (r() - 0.5) * (rowH - 8);
        body += `<circle cx="${x(f(s)).toFixed(1)}" cy="${(y + jitter).toFixed(1)}" r="2" fill="${kind === 'honest' ? '#059669' : '#dc2626'}" fill-opacity="0.45"/>`;
      }
    });
    const yb = top + KINDS.length * rowH;
    body += `<line x1="${x(thr)}" x2="${x(thr)}" y1="${top - 6}" y2="${yb}" stroke="#4f46e5" stroke-dasharray="4 3"/>`;
    body += `<text x="${x(thr) + 4}" y="${top - 8}" font-size="11" fill="#4f46e5">lowest honest verdict ${thr.toFixed(4)}</text>`;
    for (let k = 0; k <= 6; k++) {
      const v = lo + ((hi - lo) * k) / 6;
      body += `<line x1="${x(v)}" x2="${x(v)}" y1="${yb}" y2="${yb + 5}" stroke="#333"/><text x="${x(v)}" y="${yb + 18}" text-anchor="middle" font-size="11">${v.toFixed(3)}</text>`;
    }
    body += `<line x1="${left}" x2="${left + plotW}" y1="${yb}" y2="${yb}" stroke="#333"/>`;
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">${body}</svg>`;
  });
  const html = `<!doctype html><html><body style="margin:0;background:#fff"><div id="chart" style="display:inline-block;padding:8px">${svgs.join('<br/>')}<div style="font:12px sans-serif;color:#555;padding:4px 8px">Each dot: one verifier's score of one update (${ROUNDS} rounds, ${N} replicas, batch ${B}, sample ${SAMPLE} seq). Green honest, red cheats.</div></div></body></html>`;
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

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
