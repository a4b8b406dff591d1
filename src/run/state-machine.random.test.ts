/**
 * Random event sequences (seeded, so a failure reproduces): the machine never
 * throws, never mutates its input, gives the same result from the state's
 * JSON round trip, a rejected event changes nothing, and every state passes
 * the structural invariants below.
 */
import { mulberry32 } from '../kernels/testing/random';
import { describe, expect, it } from 'vitest';
import { globalBatchSize } from './batch-size';
import { encodeBitmap } from './bitmap';
import { createRunState, step, witnessRound } from './state-machine';
import { cid, deepFreeze, hash, sum, testConfig } from './test-helpers';
import type { Effect, Round, RunConfig, RunEvent, RunState } from './types';


const PHASES = ['WaitingForMembers', 'Warmup', 'RoundTrain', 'RoundWitness', 'Cooldown', 'Paused', 'Finished'];

function randomEvent(rand: () => number, s: RunState, now: number, boxed = false, countRand = rand): RunEvent {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const client = cid(1 + Math.floor(rand() * 6));
  // Witnesses and draws go to the round being witnessed (pipelined: the one before the training round).
  const witnessed = witnessRound(s);
  const slots = (witnessed ?? s.round)?.slots.length ?? 1 + Math.floor(rand() * 4);
  // Mostly the round's step, sometimes a stale or future one.
  const stepOf = (base: number) => (rand() < 0.9 ? base : Math.max(0, base + pick([-1, 1, 2])));
  const stepNo = stepOf(s.step);
  const witnessStep = witnessed === null || witnessed.step === s.step ? stepNo : stepOf(witnessed.step);
  const held = rand() < 0.9 ? encodeBitmap(Array.from({ length: slots }, () => rand() < 0.8)) : pick(['', 'zz', '0', 'ffff', 'FF']);
  // The coordinator draws the checks as soon as commits close; mostly do the same.
  if (witnessed?.checks === null && rand() < 0.9) return { type: 'draw', step: witnessStep, salt: hash(Math.floor(rand() * 9)), now };
  const kind = rand();
  if (kind < 0.2) return { type: 'tick', now };
  if (kind < 0.32) return { type: 'join', clientId: client, now };
  if (kind < 0.38) return { type: 'leave', clientId: client, now };
  if (kind < 0.62) {
    // The upper half of the draws become replays (1000‰ with an update no commit of the round has): a copy must stand
    // out from its round's level (copy-rule.ts), which uniform overlaps with the round's own updates rarely do.
    const drawn = rand() < 0.6 ? null : { permille: Math.floor(rand() * 1001), with: hash(Math.floor(rand() * 9)) };
    const overlap = drawn !== null && drawn.permille >= 500 ? { permille: 1000, with: hash(100) } : drawn;
    // The sequences trained: mostly left out or what the run allows, sometimes none, more than assigned, or (without a
    // time box) fewer.
    const slot = s.round?.slots.indexOf(client) ?? -1;
    const assigned = slot < 0 ? 4 : (s.round as Round).assignments[slot].count;
    const r = countRand();
    const count = r < 0.5 ? undefined : r < 0.96 ? (boxed ? 1 + Math.floor(countRand() * assigned) : assigned) : Math.floor(countRand() * (assigned + 2));
    return { type: 'commit', clientId: client, step: stepNo, hash: rand() < 0.95 ? hash(Math.floor(rand() * 9)) : 'nothex', count, overlap, now };
  }
  if (kind < 0.66) return { type: 'draw', step: witnessStep, salt: hash(Math.floor(rand() * 9)), now };
  if (kind < 0.86) {
    // Mostly the slots this client verifies, with random scores; sometimes a slot it does not verify.
    const mine = ((witnessed ?? s.round)?.checks ?? []).filter((c) => c.verifiers.includes(client) && rand() < 0.9).map((c) => c.slot);
    if (rand() < 0.05) mine.push(Math.floor(rand() * slots));
    const scores = [...new Set(mine)].map((slot) => ({ slot, score: Math.floor(rand() * 2001) - 1000 }));
    return { type: 'witness', clientId: client, step: witnessStep, held, checksum: sum(rand() < 0.8 ? 1 : 2), scores, now };
  }
  if (kind < 0.9) return { type: 'pause', now };
  if (kind < 0.94) return { type: 'resume', now };
  if (kind < 0.97) return { type: 'recovered', now };
  return pick([{ type: 'tick' }, { type: 'bogus', now }, null, { type: 'join', clientId: 'x', now }]) as unknown as RunEvent;
}

/**
 * Structural invariants of `s`, reached from `prev` with `effects`: the broken
 * ones by name (plain checks rather than an expect each, which would make
 * tens of thousands of steps slow).
 */
function violations(config: RunConfig, prev: RunState, s: RunState, effects: Effect[], paid: Map<string, number>, earned = new Map<string, number>()): string[] {
  const bad: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) bad.push(what);
  };
  const live = s.phase === 'Paused' ? s.pausedFrom : s.phase;
  check(PHASES.includes(s.phase), 'known phase');
  check((s.pausedFrom !== null) === (s.phase === 'Paused'), 'pausedFrom set exactly when paused');
  check((s.round !== null) === (live === 'RoundTrain' || live === 'RoundWitness'), 'a round exactly in the round phases');
  check(s.step === prev.step || s.step === prev.step + 1, 'step monotonic, at most one round per event');
  check(s.dataCursor >= prev.dataCursor, 'cursor monotonic');
  check(s.epoch >= prev.epoch && s.epochStartStep <= s.step, 'epoch monotonic, started at or before the step');
  // With a time box, what a member did not reach in its range is skipped: fewer tokens than the cursor passed.
  if (config.trainTimeBox === 0) check(s.tokensSeen === s.dataCursor * config.seqLen, 'tokens = cursor · seqLen');
  else check(s.tokensSeen <= s.dataCursor * config.seqLen, 'tokens ≤ cursor · seqLen');
  check(config.totalSteps === 0 || s.step <= config.totalSteps, 'step ≤ totalSteps');

  const clients = Object.values(s.clients);
  // Points vest when a round ends; pipelined, the round before the training one may still be witnessed.
  const lastEnded = s.witnessing !== null ? s.step - 2 : s.step - 1;
  check(new Set(clients.map((c) => c.joinSeq)).size === clients.length, 'joinSeq unique');
  for (const c of clients) {
    check(s.clients[c.id] === c && c.joinSeq < s.nextJoinSeq, `client ${c.id} keyed by id, joinSeq issued`);
    const unvested = c.unvested.reduce((sum, u) => sum + u.amount, 0);
    check(c.points + unvested + c.forfeited === (earned.get(c.id) ?? 0), `vested + unvested + forfeited = points of its agreed updates for ${c.id}`);
    check(c.points === (paid.get(c.id) ?? 0), `points = sum of points effects for ${c.id}`);
    check(c.unvested.every((u) => u.step + config.verification.vestingRounds > lastEnded), `nothing unvested that is due for ${c.id}`);
    check(c.verifiedRounds <= c.agreedUpdates, `verified rounds ≤ agreed updates for ${c.id}`);
    check((c.strikes >= config.verification.maxStrikes) === (c.status === 'ejected'), `ejected exactly at maxStrikes for ${c.id}`);
    check(c.status === 'gone' || c.status === 'ejected' || c.missedRounds <= config.maxMissedRounds, `present ${c.id} within maxMissedRounds`);
  }

  const round = s.round;
  if (round !== null) {
    const n = round.slots.length;
    check(n > 0 && new Set(round.slots).size === n, 'slots non-empty and unique');
    check(round.slots.every((id) => s.clients[id] !== undefined), 'every slot is a known client');
    check(clients.every((c) => c.status !== 'member' || round.slots.includes(c.id)), 'every member has a slot');
    check(round.step === s.step, 'round step = state step');
    check(round.base === round.step || (config.pipelined && round.base === round.step - 1), 'a round trains after every earlier round, or pipelined, all but the one before');
    check(round.assignments.length === n && round.commitments.length === n && round.witnesses.length === n, 'per-slot arrays sized');
    const covered = round.assignments.flatMap((a) => Array.from({ length: a.count }, (_, i) => a.start + i)).sort((x, y) => x - y);
    // The round being witnessed beside it took its sequences first; they join the cursor when it ends.
    const pending = s.witnessing === null ? 0 : s.witnessing.assignments.reduce((sum, a) => sum + a.count, 0);
    const pendingTrained = s.witnessing === null ? 0 : s.witnessing.assignments.reduce((sum, a, i) => sum + ((s.witnessing as Round).trained[i] ?? a.count), 0);
    const batch = globalBatchSize(config.globalBatch, s.tokensSeen + pendingTrained * config.seqLen);
    // Time-boxed by pace, ranges are held to what their members reach (boxedCounts): the batch is the most assigned.
    const trimmed = config.shareByPace && config.trainTimeBox > 0;
    check((trimmed ? covered.length <= batch : covered.length === batch) && covered.every((v, i) => v === s.dataCursor + pending + i), 'assignments cover [cursor, cursor + B) once, or less of it when trimmed to the box');
    if (config.shareByPace && batch >= n) {
      check(round.assignments.every((a) => a.count >= 1), 'by pace, every member trains at least one sequence');
      const cap = Math.ceil(batch / n);
      check(round.slots.every((id, i) => s.clients[id].verifiedRounds >= config.verification.probationRounds || round.assignments[i].count <= cap), 'by pace, no member on probation above the equal share');
    }
    check(round.trained.length === n && round.trained.every((t, i) => (t === null) === (round.commitments[i] === null)), 'a trained count exactly for each commit');
    check(round.trained.every((t, i) => t === null || (t >= Math.min(1, round.assignments[i].count) && t <= round.assignments[i].count)), 'trained within the assignment');
    if (config.trainTimeBox === 0) check(round.trained.every((t, i) => t === null || t === round.assignments[i].count), 'without a time box, the whole assignment');
    check(live !== 'RoundTrain' || round.witnesses.every((w) => w === null), 'no witness before RoundWitness');
    check(live !== 'RoundTrain' || round.checks === null, 'no checks drawn before commits close');
    check(round.slots.every((id) => s.clients[id].status !== 'ejected' || prev.round?.step === round.step), 'no ejected client in a new round');
    for (const c of round.checks ?? []) {
      check(round.commitments[c.slot] !== null && round.copies[c.slot] === null, `check of slot ${c.slot} is of a committed non-copy`);
      check(!c.verifiers.includes(round.slots[c.slot]) && new Set(c.verifiers).size === c.verifiers.length, `slot ${c.slot}: verifiers distinct, never the author`);
      check(c.verifiers.length <= config.verification.verifiers, `slot ${c.slot}: at most the configured verifiers`);
    }
    round.witnesses.forEach((w, slot) => {
      for (const x of w?.scores ?? []) check(round.checks?.some((c) => c.slot === x.slot && c.verifiers.includes(round.slots[slot])) === true, `scores only from assigned verifiers`);
    });
  }

  const w = s.witnessing;
  if (w !== null) {
    check(config.pipelined, 'a round is witnessed beside the training one only when pipelined');
    check(live === 'RoundTrain' && round !== null && w.step === round.step - 1 && round.base === w.step, 'the witnessed round is the one before the training round, which trains without it');
    check(w.closedAt !== null, 'its commits are closed');
    check(w.checks !== null || w.witnesses.every((x) => x === null), 'no witness before its checks are drawn');
  }

  if (effects.some((e) => e.type === 'rejected')) check(effects.length === 1 && s === prev, 'a rejection is alone and changes nothing');
  return bad;
}

const sequential: RunConfig[] = [
  testConfig({ initMinClients: 2, minClients: 1, epochTime: 40_000, globalBatch: { start: 2, end: 9, warmupTokens: 64 * 40 } }),
  testConfig({
    initMinClients: 3,
    minClients: 2,
    totalSteps: 25,
    maxMissedRounds: 0,
    globalBatch: { start: 3, end: 3, warmupTokens: 0 },
    verification: { probationRounds: 2, vestingRounds: 2, maxStrikes: 2, sampleRate: 0.5, verifiers: 2, maxOverlapPermille: 600, maxContradictions: 1 },
  }),
  testConfig({ initMinClients: 1, minClients: 1, warmupTime: 0, cooldownTime: 0, maxRoundTrainTime: 0, roundWitnessTime: 0, epochTime: 0 }),
  testConfig({ initMinClients: 2, minClients: 1, verification: { probationRounds: 1, vestingRounds: 3, maxStrikes: 3, sampleRate: 1, verifiers: 3, passScore: 0, maxOverlapPermille: 500 } }),
];
// The same runs with pipelined rounds; half of each with shares by pace, and (where rounds have a train time) some time-boxed.
const boxed = (c: RunConfig, on: boolean): RunConfig => ({ ...c, trainTimeBox: on && c.maxRoundTrainTime > 1 ? c.maxRoundTrainTime - 1 : 0 });
const configs: RunConfig[] = [
  ...sequential.map((c, i) => boxed({ ...c, shareByPace: i % 2 === 1 }, i < 2)),
  ...sequential.map((c, i) => boxed({ ...c, pipelined: true, shareByPace: i % 2 === 0 }, i >= 1)),
];

/** What an agreed set earns each author: pointsPerUpdate, or by pace or time box as its trained sequences are of the round's mean (the round as it was before the step). */
function credit(config: RunConfig, prev: RunState, e: Extract<Effect, { type: 'agreed' }>, earned: Map<string, number>): void {
  const round = [prev.round, prev.witnessing].find((r) => r?.step === e.step);
  if (!round) throw new Error(`agreed step ${e.step} is not a round in flight`);
  const took = round.assignments.reduce((sum, a, i) => sum + (round.trained[i] ?? a.count), 0);
  for (const slot of e.slots) {
    const trained = round.trained[slot] as number;
    const amount = config.shareByPace || config.trainTimeBox > 0 ? Math.round((config.pointsPerUpdate * trained * round.slots.length) / took) : config.pointsPerUpdate;
    earned.set(round.slots[slot], (earned.get(round.slots[slot]) ?? 0) + amount);
  }
}

describe('random event sequences', () => {
  it.each(configs.map((config, i) => [i, config] as const))('config %i: never throws, invariants hold', (_, config) => {
    const seen = new Map<string, number>();
    for (let seq = 0; seq < 80; seq++) {
      const rand = mulberry32(1000 * seq + 7);
      // Its own stream, so the other draws stay those the sequences were tuned on.
      const countRand = mulberry32(1000 * seq + 8);
      let state = createRunState(config, 0);
      let now = 0;
      const paid = new Map<string, number>();
      const earned = new Map<string, number>();
      const phasesSeen = new Set<string>();
      for (let i = 0; i < 400; i++) {
        now += Math.floor(rand() * 3000);
        const event = randomEvent(rand, state, now);
        const before = JSON.stringify(state);
        const { state: next, effects } = step(config, deepFreeze(state), event);
        if (JSON.stringify(state) !== before) expect(JSON.stringify(state)).toBe(before);
        const fromJson = JSON.stringify(step(config, JSON.parse(before) as RunState, event));
        if (fromJson !== JSON.stringify({ state: next, effects })) expect(fromJson).toBe(JSON.stringify({ state: next, effects }));
        for (const e of effects) {
          seen.set(e.type, (seen.get(e.type) ?? 0) + 1);
          if (e.type === 'points') paid.set(e.clientId, (paid.get(e.clientId) ?? 0) + e.amount);
          if (e.type === 'agreed') credit(config, state, e, earned);
        }
        const bad = violations(config, state, next, effects, paid, earned);
        if (bad.length > 0) expect({ seq, i, event, bad }).toEqual({ seq, i, event, bad: [] });
        state = next;
        phasesSeen.add(state.phase);
      }
      expect(phasesSeen.size).toBeGreaterThan(1);
    }
    // The sequences exercise the interesting paths, not only rejections.
    for (const type of ['phase', 'roundStarted', 'agreed', 'points', 'resync', 'rejected']) expect([type, seen.get(type) ?? 0]).not.toEqual([type, 0]);
    if (config.verification.probationRounds > 0) for (const type of ['verdict', 'strike', 'forfeited', 'ejected']) expect([type, seen.get(type) ?? 0]).not.toEqual([type, 0]);
  });

  it('the invariant check catches a broken state', () => {
    const config = configs[0];
    const s0 = createRunState(config, 0);
    expect(violations(config, s0, s0, [], new Map())).toEqual([]);
    const stepBack = { ...s0, step: -1 };
    expect(violations(config, s0, stepBack, [], new Map())).toContain('step monotonic, at most one round per event');
    const record = { id: cid(1), status: 'member' as const, joinSeq: 0, missedRounds: 0, points: 10, agreedUpdates: 0, verifiedRounds: 0, strikes: 0, contradictions: 0, unvested: [], forfeited: 0, pace: null };
    const cheat = { ...s0, clients: { [cid(1)]: record }, nextJoinSeq: 1 };
    expect(violations(config, s0, cheat, [], new Map())).toContain(`vested + unvested + forfeited = points of its agreed updates for ${cid(1)}`);
  });
});
