/**
 * One benchmark configuration (N simulated clients, one model's payloads)
 * against the real coordinator: builds the run config, pre-builds every
 * update the sims will send, starts server/main.ts, connects and joins the
 * sims, lets the run go through `warmup` rounds (probation: every update
 * checked) and then measures `rounds` rounds, stopping early with a reason
 * when the time budget, the memory guard or the coordinator gives out.
 * Payloads go through the coordinator's relay, or (store 'bucket') through
 * a local S3 (s3rver, its own process) by presigned URLs.
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { parseRunConfig, type RunConfigInput } from '../src/run/run-config';
import { startBucket, type BucketProcess } from './bucket-process';
import { startCoordinator, type CoordinatorProcess } from './coordinator-process';
import { meshFigures, type MeshFigures } from './mesh-figures';
import { ProcSampler, rssBytes, systemCpuSeconds } from './proc-sampler';
import { loadProfile, summarizeProfile, type ProfileSummary } from './profile';
import { addTraffic, emptyTraffic, MessageCache, SimClient, TRAFFIC_COUNTS, type SimObserver, type SimWorld, type Traffic } from './sim-client';
import { summarize, type Summary } from './stats';
import { proofUnits } from '../src/protocol/update-codec';
import { buildUpdate, reHead, updatePlan } from './update-builder';

export type PayloadName = 'tinyDemo' | 'bpe-100m';
export type StoreName = 'relay' | 'bucket';

/** The coordinator's payload counters (GET /api/status, server/payload-traffic.ts). */
export interface PayloadCounters {
  relayBytesIn: number;
  relayBytesOut: number;
  bucketBytesRead: number;
  uploadUrls: number;
  downloadUrls: number;
}

export interface BenchOptions {
  payload: PayloadName;
  store: StoreName;
  clients: number;
  rounds: number;
  warmup: number;
  /** Wall-clock limit for the whole configuration (build, start, join, rounds). */
  budgetS: number;
  seqsPerClient: number;
  trainTimeoutMs: number;
  witnessTimeoutMs: number;
  relayTimeoutMs: number;
  tickMs: number;
  /** Stop when the coordinator's RSS passes this. */
  maxRssBytes: number;
  workDir: string;
  /** Run the coordinator under node --cpu-prof and summarize where its CPU went in the measured window. */
  profile: boolean;
  log: (line: string) => void;
}

export interface RoundRecord {
  step: number;
  /** First sim to hear the round start (phase → RoundTrain) until the last sim heard `agreed`. */
  ms: number;
  /** Until the first sim heard phase → RoundWitness (commits closed). */
  trainMs: number;
  /** From then until the last sim heard `agreed`. */
  witnessMs: number;
  slots: number;
  agreed: number;
  /** Slots without a commit when commits closed (the train timeout fired first). */
  missingCommits: number;
  /** Committed updates left out of the agreed set (a copy, a failed check, or a probation update nobody could score). */
  excluded: number;
  /** Sims in the round that had not witnessed when `agreed` came (the witness timeout fired first). */
  missingWitnesses: number;
  /** Sims that witnessed at the relay timeout, without every committed payload. */
  relayTimeouts: number;
  checks: number;
}

export interface ProcFigures {
  cpuMean: number;
  cpuPeak: number;
  rssMeanMiB: number;
  rssPeakMiB: number;
}

export interface BenchResult {
  payload: PayloadName;
  /** Absent in reports from before the bucket: the relay. */
  store?: StoreName;
  clients: number;
  status: 'ok' | 'stopped' | 'not-run' | 'failed';
  reason: string | null;
  payloadBytes: number;
  seqsPerClient: number;
  warmupRounds: number;
  measuredRounds: number;
  rounds: RoundRecord[];
  /** The warm-up rounds, as far as they got (probation: every update checked). */
  warmup: RoundRecord[];
  roundMs: Summary | null;
  trainMs: Summary | null;
  witnessMs: Summary | null;
  timeouts: { commits: number; witnesses: number; relay: number };
  coordinator: (ProcFigures & { rssAfterStartMiB: number; rssPeakWholeRunMiB: number; startSeconds: number }) | null;
  simulator: ProcFigures | null;
  /** Cores busy over the measured window (all processes), and what neither the coordinator nor the simulator used. */
  machine: { busyCores: number; otherProcessesCores: number } | null;
  /** Per client per measured round, on its one socket. */
  perClientPerRound: Traffic | null;
  /** Members of the measured rounds (mean); N unless the run dropped some. */
  members: number;
  /** (members − 1) · P: what an all-gather must bring each client a round. */
  allGatherFloorBytes: number;
  /** Sum over clients of the bytes they received a round: the coordinator's egress. */
  egressPerRoundBytes: number | null;
  /** Sockets to the coordinator, links of a full mesh, and (from the measured rounds' members) the partial mesh's. */
  connections: { perClient: number; fullMesh: number; mesh?: MeshFigures };
  /** The coordinator's payload counters per round (over all rounds, warm-up included): what crossed it, what it read from the bucket, URLs it signed. */
  payloadsPerRound?: PayloadCounters | null;
  /** The bucket process (s3rver) over the measured rounds. */
  bucket?: ProcFigures | null;
  /** Text frames of every type (state diffs and parts included); `stateGets`: whole states the sims had to ask for. */
  stateFrames: { largestBytes: number; overRealClientLimit: number; parses: number; reusedParses: number; stateGets: number };
  problems: { count: number; first: string[] };
  errorsByCode: Record<string, number>;
  coordinatorLog: Record<string, number>;
  /** With --profile: where the coordinator's main thread spent the measured window. */
  coordinatorProfile: ProfileSummary | null;
  seconds: { build: number; start: number; join: number; warmup: number; measure: number; total: number };
}

/** The run config the simulation writes for the coordinator. */
export function simulationConfig(o: Pick<BenchOptions, 'payload' | 'clients' | 'seqsPerClient' | 'trainTimeoutMs' | 'witnessTimeoutMs'>, runId: string): RunConfigInput {
  const batch = o.clients * o.seqsPerClient;
  return {
    runId,
    model: o.payload,
    dataset: o.payload === 'tinyDemo' ? 'austen-byte' : 'austen-gpt2',
    seqLen: 64,
    warmupTime: 1000,
    cooldownTime: 1000,
    maxRoundTrainTime: o.trainTimeoutMs,
    roundWitnessTime: o.witnessTimeoutMs,
    // No epoch end during the benchmark (an epoch end asks members for a checkpoint).
    epochTime: 24 * 3600 * 1000,
    totalSteps: 0,
    initMinClients: o.clients,
    minClients: 1,
    globalBatch: { start: batch, end: batch, warmupTokens: 0 },
    lr: { schedule: 'constant', peak: 1e-3, warmupSteps: 0 },
    // verification: the defaults (probation, committees, sampling), as a real run.
  };
}

export function emptyResult(o: Pick<BenchOptions, 'payload' | 'store' | 'clients' | 'seqsPerClient' | 'warmup'>, payloadBytes: number, status: BenchResult['status'], reason: string | null): BenchResult {
  return {
    payload: o.payload,
    store: o.store,
    clients: o.clients,
    status,
    reason,
    payloadBytes,
    seqsPerClient: o.seqsPerClient,
    warmupRounds: o.warmup,
    measuredRounds: 0,
    rounds: [],
    warmup: [],
    roundMs: null,
    trainMs: null,
    witnessMs: null,
    timeouts: { commits: 0, witnesses: 0, relay: 0 },
    coordinator: null,
    simulator: null,
    machine: null,
    perClientPerRound: null,
    members: o.clients,
    allGatherFloorBytes: (o.clients - 1) * payloadBytes,
    egressPerRoundBytes: null,
    connections: { perClient: 1, fullMesh: o.clients - 1 },
    payloadsPerRound: null,
    bucket: null,
    stateFrames: { largestBytes: 0, overRealClientLimit: 0, parses: 0, reusedParses: 0, stateGets: 0 },
    problems: { count: 0, first: [] },
    errorsByCode: {},
    coordinatorLog: {},
    coordinatorProfile: null,
    seconds: { build: 0, start: 0, join: 0, warmup: 0, measure: 0, total: 0 },
  };
}

/** The bytes of one update of this payload and sequence count (what the pool builds). */
export function payloadBytesOf(payload: PayloadName, seqsPerClient: number): number {
  const config = parseRunConfig(simulationConfig({ payload, clients: 1, seqsPerClient, trainTimeoutMs: 1000, witnessTimeoutMs: 1000 }, '0'.repeat(32)));
  return buildUpdate(updatePlan(config), { step: 0, start: 0, count: seqsPerClient }, 1).length;
}

const MiB = 2 ** 20;

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const t0 = performance.now();
  const deadline = t0 + o.budgetS * 1000;
  const secs = (a: number, b: number) => Math.round(b - a) / 1000;
  const runId = randomBytes(16).toString('hex');
  const input = simulationConfig(o, runId);
  const config = parseRunConfig(input);
  const plan = updatePlan(config);

  // Every update the sims will send, built before the clock of any round starts (re-headed at commit time).
  const perSim = o.warmup + o.rounds + 1;
  const pool: Uint8Array[][] = [];
  let seed = randomBytes(4).readUInt32LE(0) | 1;
  for (let i = 0; i < o.clients; i++) {
    const mine: Uint8Array[] = [];
    for (let r = 0; r < perSim; r++) mine.push(buildUpdate(plan, { step: 0, start: 0, count: o.seqsPerClient }, (seed = (seed + 0x9e3779b9) >>> 0 || 1)));
    pool.push(mine);
    if (performance.now() > deadline) {
      return emptyResult(o, mine[0].length, 'stopped', `budget of ${o.budgetS} s spent building ${i + 1} of ${o.clients} clients' updates`);
    }
  }
  const payloadBytes = pool[0][0].length;
  const result = emptyResult(o, payloadBytes, 'ok', null);
  const tBuilt = performance.now();
  o.log(`  built ${o.clients * perSim} updates of ${payloadBytes} bytes in ${secs(t0, tBuilt)} s`);

  const bucket: BucketProcess | null = o.store === 'bucket' ? await startBucket() : null;
  let coordinator: CoordinatorProcess;
  try {
    coordinator = await startCoordinator(resolve(o.workDir, `${o.payload}-${o.store}-${o.clients}`), input, o.tickMs, o.profile, bucket?.store);
  } catch (e) {
    await bucket?.stop();
    throw e;
  }
  const tStarted = performance.now();
  if (bucket) o.log(`  bucket (s3rver) pid ${bucket.pid} at ${bucket.endpoint}`);
  const whole = new ProcSampler(coordinator.pid, 1000);
  whole.start();
  const rssAfterStart = rssBytes(coordinator.pid);
  o.log(`  coordinator pid ${coordinator.pid} on port ${coordinator.port}, started in ${secs(tBuilt, tStarted)} s, RSS ${(rssAfterStart / MiB).toFixed(0)} MiB`);

  // ---- observation -----------------------------------------------------------
  const firstStep = o.warmup;
  const lastStep = o.warmup + o.rounds - 1;
  const firstTrain = new Map<number, number>();
  const firstWitness = new Map<number, number>();
  const lastAgreed = new Map<number, number>();
  const agreedCount = new Map<number, number>();
  const completed = new Set<number>();
  const roundInfo = new Map<number, { slots: number; commits: number; agreed: number; checks: number; missingWitnesses: number }>();
  const problems: string[] = [];
  let problemCount = 0;
  const coordSampler = new ProcSampler(coordinator.pid, 250);
  const selfSampler = new ProcSampler('self', 250);
  const bucketSampler = bucket ? new ProcSampler(bucket.pid, 250) : null;
  const slotsOf = new Map<number, string[]>();

  let windowOpen = false;
  let systemAtOpen = { busy: 0, total: 0, at: 0 };
  let windowClosedAt = 0;
  let finish: (reason: string | null) => void = () => {};
  const finished = new Promise<string | null>((r) => (finish = r));
  let sims: SimClient[] = [];

  const observe: SimObserver = {
    phase(_sim, msg, at) {
      if (msg.to === 'RoundTrain' && !firstTrain.has(msg.step)) {
        firstTrain.set(msg.step, at);
        if (msg.step === firstStep && !windowOpen) {
          windowOpen = true;
          coordSampler.start();
          selfSampler.start();
          bucketSampler?.start();
          systemAtOpen = { ...systemCpuSeconds(), at: performance.now() };
        }
      }
      if (msg.to === 'RoundWitness' && !firstWitness.has(msg.step)) firstWitness.set(msg.step, at);
    },
    agreed(sim, msg, at) {
      const n = (agreedCount.get(msg.step) ?? 0) + 1;
      agreedCount.set(msg.step, n);
      lastAgreed.set(msg.step, at);
      let info = roundInfo.get(msg.step);
      if (!info) {
        const round = sim.server?.round?.step === msg.step ? sim.server.round : null;
        const commits = round ? round.commitments.filter((h) => h !== null).length : msg.slots.length + msg.excluded.length;
        info = { slots: round?.slots.length ?? 0, commits, agreed: msg.slots.length, checks: round?.checks?.length ?? 0, missingWitnesses: 0 };
        roundInfo.set(msg.step, info);
        if (round) slotsOf.set(msg.step, round.slots);
      }
      const log = sim.rounds.get(msg.step);
      // In the round (it committed) but never sent its witness before the round ended: the witness timeout fired.
      // (Its ack may trail `agreed`: the coordinator broadcasts the round's end before it acknowledges the last witness.)
      if (log?.committedAt != null && log.witnessedAt == null) info.missingWitnesses++;
      const live = sims.filter((s) => !s.closed).length;
      if (n >= live && !completed.has(msg.step)) {
        completed.add(msg.step);
        const t = firstTrain.get(msg.step);
        o.log(`  round ${msg.step}: ${t === undefined ? '?' : ((at - t) / 1000).toFixed(2)} s, ${info.commits}/${info.slots} committed, ${info.agreed} agreed, ${info.checks} checks${info.missingWitnesses ? `, ${info.missingWitnesses} witnesses missing` : ''}`);
        if (msg.step === lastStep) {
          windowClosedAt = at;
          finish(null);
        }
      }
    },
    problem(sim, what) {
      problemCount++;
      if (problems.length < 20) problems.push(`sim ${sim.index}: ${what}`);
    },
  };

  const cache = new MessageCache();
  const world: SimWorld = {
    url: coordinator.url,
    cache,
    update(sim, head) {
      // A pre-built update fits any range with as many proofs; a round with fewer members (some dropped) gives
      // each a longer range, which may need more proofs: then it is built now.
      const next = pool[sim.index].shift();
      if (next && proofUnits(head.count) === proofUnits(o.seqsPerClient)) return reHead(next, head);
      return buildUpdate(plan, head, (seed = (seed + 0x9e3779b9) >>> 0 || 1));
    },
    checksum: runId.slice(0, 16),
    score: 700,
    relayTimeoutMs: o.relayTimeoutMs,
    observe,
    lastStep,
  };

  // ---- guards ------------------------------------------------------------------
  const guard = setInterval(() => {
    const last = whole.samples.at(-1);
    if (last && last.rss > o.maxRssBytes) finish(`coordinator RSS ${(last.rss / MiB).toFixed(0)} MiB passed the ${(o.maxRssBytes / MiB).toFixed(0)} MiB guard`);
    if (performance.now() > deadline) {
      const done = [...agreedCount.keys()].filter((s) => s >= firstStep && (agreedCount.get(s) ?? 0) > 0).length;
      finish(`time budget of ${o.budgetS} s spent: ${firstTrain.size === 0 ? 'no round started (joining took the whole budget)' : `${agreedCount.size} rounds agreed, ${done} of them measured`}`);
    }
  }, 250);
  void coordinator.exited.then((why) => finish(why));

  // ---- join ------------------------------------------------------------------------
  sims = Array.from({ length: o.clients }, (_, i) => new SimClient(i, world));
  const BATCH = 50;
  try {
    for (let i = 0; i < sims.length; i += BATCH) await Promise.all(sims.slice(i, i + BATCH).map((s) => s.connect()));
  } catch (e) {
    finish(`connecting failed: ${(e as Error).message}`);
  }
  const tConnected = performance.now();
  o.log(`  ${sims.length} sims connected in ${secs(tStarted, tConnected)} s`);

  const stopReason = await finished;
  clearInterval(guard);
  const tEnd = performance.now();
  const countersAtClose = windowOpen && !coordinator.hasExited() ? await payloadCounters(coordinator.port) : null;
  const systemAtClose = { ...systemCpuSeconds(), at: performance.now() };
  const coordFigures = windowOpen ? coordSampler.stop() : null;
  const selfFigures = windowOpen ? selfSampler.stop() : null;
  const bucketFigures = windowOpen ? (bucketSampler?.stop() ?? null) : null;
  const wholeFigures = whole.stop();
  await coordinator.stop();
  await bucket?.stop();
  const tExit = performance.now();
  for (const s of sims) s.terminate();

  // ---- figures -------------------------------------------------------------------
  const measured: RoundRecord[] = [];
  for (let step = firstStep; step <= lastStep; step++) {
    const start = firstTrain.get(step);
    const end = lastAgreed.get(step);
    const info = roundInfo.get(step);
    const live = sims.filter((s) => !s.closed).length;
    if (start === undefined || end === undefined || !info || (agreedCount.get(step) ?? 0) < live) break;
    const w = firstWitness.get(step) ?? end;
    measured.push({
      step,
      ms: end - start,
      trainMs: w - start,
      witnessMs: end - w,
      slots: info.slots,
      agreed: info.agreed,
      missingCommits: info.slots - info.commits,
      excluded: info.commits - info.agreed,
      missingWitnesses: info.missingWitnesses,
      checks: info.checks,
      relayTimeouts: sims.filter((s) => s.rounds.get(step)?.relayTimedOut).length,
    });
  }
  for (let step = 0; step < firstStep; step++) {
    const start = firstTrain.get(step);
    const end = lastAgreed.get(step);
    const info = roundInfo.get(step);
    if (start === undefined || end === undefined || !info) break;
    const w = firstWitness.get(step) ?? end;
    result.warmup.push({
      step,
      ms: end - start,
      trainMs: w - start,
      witnessMs: end - w,
      slots: info.slots,
      agreed: info.agreed,
      missingCommits: info.slots - info.commits,
      excluded: info.commits - info.agreed,
      missingWitnesses: info.missingWitnesses,
      checks: info.checks,
      relayTimeouts: sims.filter((s) => s.rounds.get(step)?.relayTimedOut).length,
    });
  }
  result.measuredRounds = measured.length;
  result.rounds = measured;
  if (measured.length > 0) {
    result.roundMs = summarize(measured.map((r) => r.ms));
    result.trainMs = summarize(measured.map((r) => r.trainMs));
    result.witnessMs = summarize(measured.map((r) => r.witnessMs));
    result.timeouts = { commits: measured.reduce((a, r) => a + r.missingCommits, 0), witnesses: measured.reduce((a, r) => a + r.missingWitnesses, 0), relay: measured.reduce((a, r) => a + r.relayTimeouts, 0) };
    const total = emptyTraffic();
    for (const s of sims) for (const r of measured) addTraffic(total, s.traffic.get(r.step) ?? emptyTraffic());
    // Per member of each round: a dropped sim's socket is closed and counts no more.
    const memberRounds = measured.reduce((a, r) => a + r.slots, 0);
    result.members = memberRounds / measured.length;
    result.allGatherFloorBytes = (result.members - 1) * payloadBytes;
    result.perClientPerRound = scaleTraffic(total, 1 / memberRounds);
    result.egressPerRoundBytes = (total.textInBytes + total.binInBytes) / measured.length;
    result.connections.mesh = worstMesh(measured.map((r) => slotsOf.get(r.step) ?? []), config.meshDegree, runId);
    // Every round moves the same payloads, warm-up included, and the sims commit nothing after the last measured one:
    // the counters since the start, over every round, are exact where a snapshot at the window's opening would race its first commits.
    if (countersAtClose) result.payloadsPerRound = perRound(countersAtClose, lastStep + 1);
  }
  const fig = (f: ReturnType<ProcSampler['stop']> | null): ProcFigures | null =>
    f && measured.length > 0 ? { cpuMean: f.cpuMean, cpuPeak: f.cpuPeak, rssMeanMiB: f.rssMean / MiB, rssPeakMiB: f.rssPeak / MiB } : null;
  const cf = fig(coordFigures);
  result.coordinator = cf ? { ...cf, rssAfterStartMiB: rssAfterStart / MiB, rssPeakWholeRunMiB: wholeFigures.rssPeak / MiB, startSeconds: secs(tBuilt, tStarted) } : null;
  result.simulator = fig(selfFigures);
  result.bucket = fig(bucketFigures);
  if (windowOpen && coordFigures && selfFigures) {
    const wall = (systemAtClose.at - systemAtOpen.at) / 1000;
    const busy = (systemAtClose.busy - systemAtOpen.busy) / wall;
    result.machine = { busyCores: busy, otherProcessesCores: busy - coordFigures.cpuMean - selfFigures.cpuMean };
  }
  const tOpen = firstTrain.get(firstStep);
  if (o.profile && windowOpen && tOpen !== undefined && measured.length > 0) {
    try {
      const p = loadProfile(join(coordinator.dir, 'coordinator.cpuprofile'));
      const closeAt = windowClosedAt || tEnd;
      const toUs = p.endTime - (tExit - closeAt) * 1000;
      result.coordinatorProfile = summarizeProfile(p, { fromUs: toUs - (closeAt - tOpen) * 1000, toUs });
    } catch (e) {
      o.log(`  no coordinator profile: ${(e as Error).message}`);
    }
  }
  const stateGets = sims.reduce((n, s) => n + s.states.requests, 0);
  result.stateFrames = { largestBytes: cache.largest, overRealClientLimit: cache.oversize, parses: cache.parses, reusedParses: cache.hits, stateGets };
  result.problems = { count: problemCount, first: problems };
  for (const s of sims) for (const [k, v] of Object.entries(s.errors)) result.errorsByCode[k] = (result.errorsByCode[k] ?? 0) + v;
  result.coordinatorLog = { ...coordinator.logCounts };
  const tFirst = firstTrain.get(0);
  const tWindow = firstTrain.get(firstStep);
  result.seconds = {
    build: secs(t0, tBuilt),
    start: secs(tBuilt, tStarted),
    join: tFirst === undefined ? secs(tStarted, tEnd) : secs(tStarted, tFirst),
    warmup: tFirst === undefined ? 0 : secs(tFirst, tWindow ?? tEnd),
    measure: tWindow === undefined ? 0 : secs(tWindow, windowClosedAt || tEnd),
    total: secs(t0, performance.now()),
  };
  if (stopReason !== null) {
    result.status = 'stopped';
    result.reason = `${stopReason}${measured.length > 0 ? ` (${measured.length} of ${o.rounds} rounds measured)` : ''}`;
    if (coordinator.hasExited() && !stopReason.includes('budget')) result.reason += `\n${coordinator.lastLines.slice(-5).join('\n')}`;
  }
  return result;
}

function scaleTraffic(t: Traffic, k: number): Traffic {
  const out = emptyTraffic();
  for (const key of TRAFFIC_COUNTS) out[key] = t[key] * k;
  for (const [type, v] of Object.entries(t.inByType)) out.inByType[type] = { n: v.n * k, bytes: v.bytes * k };
  return out;
}

/** The coordinator's payload counters now; null when it does not answer (it exited, or reports none). */
async function payloadCounters(port: number): Promise<PayloadCounters | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/status`);
    const body = (await res.json()) as { payloads?: PayloadCounters };
    return body.payloads ?? null;
  } catch {
    return null;
  }
}

function perRound(c: PayloadCounters, rounds: number): PayloadCounters {
  const d = (k: keyof PayloadCounters) => c[k] / rounds;
  return { relayBytesIn: d('relayBytesIn'), relayBytesOut: d('relayBytesOut'), bucketBytesRead: d('bucketBytesRead'), uploadUrls: d('uploadUrls'), downloadUrls: d('downloadUrls') };
}

/** The partial mesh's largest figures over the measured rounds' member sets (the same set gives the same graph). */
function worstMesh(slotSets: string[][], degree: number, runId: string): MeshFigures {
  const seen = new Set<string>();
  let worst: MeshFigures = { degree, maxLinks: 0, hops: 0 };
  for (const ids of slotSets) {
    const key = [...ids].sort().join();
    if (ids.length === 0 || seen.has(key)) continue;
    seen.add(key);
    const m = meshFigures(ids, degree, runId);
    worst = { degree, maxLinks: Math.max(worst.maxLinks, m.maxLinks), hops: Math.max(worst.hops, m.hops) };
  }
  return worst;
}
