/**
 * The run's pure state machine (docs/run.md "State machine", "Rounds",
 * "Points"). `step` never reads the clock, never throws on bad input and
 * never mutates its input: it works on a structured clone and returns it with
 * the effects the caller must carry out. A rejected event returns the input
 * state itself and one `rejected` effect.
 */
import { assignRanges, roundSeed } from './assignment';
import { globalBatchSize } from './batch-size';
import { bitmapError } from './bitmap';
import { copyVerdicts } from './copy-rule';
import { parseRunEvent } from './events';
import { lrBits } from './learning-rate';
import { boxedCounts, paceCounts, recordPace } from './pace-shares';
import type { ClientId, Effect, Exclusion, Phase, Round, RunConfig, RunEvent, RunState, StepResult, WitnessReport } from './types';
import { admitProbation, decideRound, drawChecks, onProbation, scoresError, strike, vest } from './verification';

/** One step's working copy: handlers mutate `s` (a clone) and append effects. */
interface Ctx {
  config: RunConfig;
  s: RunState;
  now: number;
  effects: Effect[];
}

export function createRunState(config: RunConfig, now: number): RunState {
  void config; // nothing in the initial state depends on the config today; the server passes it so that may change freely
  return {
    version: 2,
    phase: 'WaitingForMembers',
    phaseStartedAt: now,
    pausedFrom: null,
    epoch: 0,
    epochStartedAt: now,
    epochStartStep: 0,
    step: 0,
    dataCursor: 0,
    tokensSeen: 0,
    nextJoinSeq: 0,
    clients: {},
    round: null,
    witnessing: null,
  };
}

export function step(config: RunConfig, state: RunState, input: RunEvent): StepResult {
  const parsed = parseRunEvent(input);
  if (!parsed.ok) return reject(state, input, parsed.reason);
  const event = parsed.event;
  const ctx: Ctx = { config, s: structuredClone(state), now: event.now, effects: [] };
  const reason = handle(ctx, event);
  if (reason !== null) return reject(state, event, reason);
  // Timeouts fire from ticks only; completions (all committed, enough members, …) from any event.
  settle(ctx, event.type === 'tick');
  return { state: ctx.s, effects: ctx.effects };
}

function reject(state: RunState, input: unknown, reason: string): StepResult {
  const fields = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const types: readonly string[] = ['join', 'leave', 'commit', 'witness', 'draw', 'tick', 'pause', 'resume', 'recovered'];
  const event = typeof fields.type === 'string' && types.includes(fields.type) ? (fields.type as RunEvent['type']) : 'unknown';
  const clientId = typeof fields.clientId === 'string' ? fields.clientId : null;
  return { state, effects: [{ type: 'rejected', clientId, event, reason }] };
}

/** Applies the event's own change; returns why it is not allowed, or null. */
function handle(ctx: Ctx, event: RunEvent): string | null {
  switch (event.type) {
    case 'join':
      return onJoin(ctx, event.clientId);
    case 'leave':
      return onLeave(ctx, event.clientId);
    case 'commit':
      return onCommit(ctx, event);
    case 'witness':
      return onWitness(ctx, event);
    case 'draw':
      return onDraw(ctx, event);
    case 'tick':
      return null;
    case 'pause':
      return onPause(ctx);
    case 'resume':
      return onResume(ctx);
    case 'recovered':
      // The server was down: nobody could talk to it, so nobody is late for that time.
      ctx.s.phaseStartedAt = ctx.now;
      if (ctx.s.witnessing !== null) ctx.s.witnessing.closedAt = ctx.now;
      return null;
  }
}

// ---- events ----

function onJoin({ s }: Ctx, id: ClientId): string | null {
  if (s.phase === 'Finished') return 'the run is finished';
  const known = s.clients[id];
  if (known?.status === 'member') return 'already a member';
  if (known?.status === 'joining') return 'already joining';
  if (known?.status === 'ejected') return 'this key was ejected from the run';
  // A returning client keeps its points and standing; its join order is new.
  s.clients[id] = {
    id,
    status: 'joining',
    joinSeq: s.nextJoinSeq++,
    missedRounds: 0,
    points: known?.points ?? 0,
    agreedUpdates: known?.agreedUpdates ?? 0,
    verifiedRounds: known?.verifiedRounds ?? 0,
    strikes: known?.strikes ?? 0,
    contradictions: known?.contradictions ?? 0,
    unvested: known?.unvested ?? [],
    forfeited: known?.forfeited ?? 0,
    // Measured afresh: a returning key may be on another machine.
    pace: null,
  };
  return null;
}

function onLeave({ s }: Ctx, id: ClientId): string | null {
  const known = s.clients[id];
  if (known === undefined || known.status === 'gone' || known.status === 'ejected') return 'not in the run';
  known.status = 'gone';
  return null;
}

function onCommit({ s, config, now }: Ctx, e: Extract<RunEvent, { type: 'commit' }>): string | null {
  if (s.phase !== 'RoundTrain') return `commit is only allowed in RoundTrain (phase is ${s.phase})`;
  const round = s.round as Round;
  const slot = memberSlot(s, e.clientId);
  if (slot < 0) return `not a member of round ${round.step}`;
  if (e.step !== round.step) return `commit for step ${e.step}, but the round is step ${round.step}`;
  if (round.commitments[slot] !== null) return `already committed in round ${round.step}`;
  const bad = countError(config, round.assignments[slot].count, e.count);
  if (bad !== null) return bad;
  round.commitments[slot] = e.hash;
  round.trained[slot] = e.count ?? round.assignments[slot].count;
  // Only where it is used: each pace is a change every client is sent.
  if (config.shareByPace) recordPace(s.clients[e.clientId], round, slot, now);
  // Recorded, not refused: whether it is a copy is decided when commits close (copy-rule.ts), against the whole round.
  round.overlaps[slot] = e.overlap;
  return null;
}

/** Why a commit's trained count does not fit its assignment of `assigned` sequences, or null. */
export function countError(config: RunConfig, assigned: number, count: number | undefined): string | null {
  if (count === undefined) return null;
  if (!Number.isInteger(count) || count < 1 || count > assigned) return `trained ${count} sequences; the assignment allows 1 to ${assigned}`;
  if (config.trainTimeBox === 0 && count !== assigned) return `trained ${count} of the ${assigned} assigned sequences; without a time box a member trains its whole assignment`;
  return null;
}

function onWitness({ s }: Ctx, e: Extract<RunEvent, { type: 'witness' }>): string | null {
  const round = witnessRound(s);
  if (round === null) return `no round is being witnessed (phase is ${s.phase})`;
  const slot = memberSlot(s, e.clientId, round);
  if (slot < 0) return `not a member of round ${round.step}`;
  if (e.step !== round.step) return `witness for step ${e.step}, but the round is step ${round.step}`;
  if (round.witnesses[slot] !== null) return `already witnessed in round ${round.step}`;
  const bad = bitmapError(e.held, round.slots.length);
  if (bad !== null) return `held: ${bad}`;
  if (round.checks === null) return `the checks of round ${round.step} are not drawn yet`;
  const badScores = scoresError(round, e.clientId, e.scores);
  if (badScores !== null) return `scores: ${badScores}`;
  round.witnesses[slot] = { held: e.held, checksum: e.checksum, scores: e.scores };
  return null;
}

function onDraw({ s, config }: Ctx, e: Extract<RunEvent, { type: 'draw' }>): string | null {
  const round = witnessRound(s);
  if (round === null) return `no round is being witnessed (phase is ${s.phase})`;
  if (e.step !== round.step) return `draw for step ${e.step}, but the round is step ${round.step}`;
  if (round.checks !== null) return `the checks of round ${round.step} are drawn already`;
  round.checks = drawChecks(config, s, round, e.salt);
  return null;
}

function onPause(ctx: Ctx): string | null {
  const { s } = ctx;
  if (s.phase === 'Paused') return 'already paused';
  if (s.phase === 'Finished') return 'the run is finished';
  s.pausedFrom = s.phase;
  enter(ctx, 'Paused');
  return null;
}

function onResume(ctx: Ctx): string | null {
  const { s, now } = ctx;
  if (s.phase !== 'Paused') return `not paused (phase is ${s.phase})`;
  const back = s.pausedFrom as Phase;
  // Paused time does not count toward the epoch either.
  s.epochStartedAt += now - s.phaseStartedAt;
  s.pausedFrom = null;
  if (s.witnessing !== null) s.witnessing.closedAt = now;
  enter(ctx, back);
  return null;
}

// ---- transitions ----

/** Fires every transition now due: any number of completions, at most one timeout (a zero timeout must not spin). */
function settle(ctx: Ctx, timeoutsDue: boolean): void {
  for (;;) {
    if (advanceOnCondition(ctx)) continue;
    if (timeoutsDue && advanceOnTimeout(ctx)) {
      timeoutsDue = false;
      continue;
    }
    return;
  }
}

function advanceOnCondition(ctx: Ctx): boolean {
  const { s } = ctx;
  switch (s.phase) {
    case 'WaitingForMembers':
      return headcount(s) >= minToStart(ctx) && enter(ctx, 'Warmup');
    case 'Warmup':
      return headcount(s) < minToStart(ctx) && enter(ctx, 'WaitingForMembers');
    case 'RoundTrain': {
      const w = s.witnessing;
      if (w !== null) return everyPresentMember(s, w, (slot) => w.witnesses[slot] !== null) && endWitnessing(ctx);
      const round = s.round as Round;
      return everyPresentMember(s, round, (slot) => round.commitments[slot] !== null) && closeCommits(ctx);
    }
    case 'RoundWitness': {
      const round = s.round as Round;
      return everyPresentMember(s, round, (slot) => round.witnesses[slot] !== null) && endRound(ctx);
    }
    default:
      return false;
  }
}

function advanceOnTimeout(ctx: Ctx): boolean {
  const { s, config, now } = ctx;
  const elapsed = now - s.phaseStartedAt;
  switch (s.phase) {
    case 'Warmup':
      return elapsed >= config.warmupTime && startRound(ctx);
    case 'RoundTrain':
      // The round before must end first (its own timeout below bounds the wait), so at most two rounds are in flight.
      if (s.witnessing !== null) return now - (s.witnessing.closedAt as number) >= config.roundWitnessTime && endWitnessing(ctx);
      return elapsed >= config.maxRoundTrainTime && closeCommits(ctx);
    case 'RoundWitness':
      return elapsed >= config.roundWitnessTime && endRound(ctx);
    case 'Cooldown':
      return elapsed >= config.cooldownTime && endCooldown(ctx);
    default:
      return false;
  }
}

/** Always true, so transitions read as `condition && enter(…)`. */
function enter(ctx: Ctx, to: Phase): true {
  const { s } = ctx;
  ctx.effects.push({ type: 'phase', from: s.phase, to, step: s.step, epoch: s.epoch });
  s.phase = to;
  s.phaseStartedAt = ctx.now;
  return true;
}

/**
 * The round's commits are in (or its train time is up). Pipelined, the next
 * round starts at once when one is due, and this one is witnessed beside it;
 * otherwise (or when the run stops after it) it is witnessed alone.
 */
function closeCommits(ctx: Ctx): true {
  const { s, config, now } = ctx;
  const round = s.round as Round;
  round.closedAt = now;
  // Before the draw, so a copy is never checked; a verdict already recorded (a state from before the rule) stays.
  round.copies = copyVerdicts(config.verification, round).map((v, slot) => v ?? round.copies[slot]);
  if (!config.pipelined || !nextRoundDue(ctx, s.step + 1)) return enter(ctx, 'RoundWitness');
  s.witnessing = round;
  s.round = null;
  s.step += 1;
  return startRound(ctx, round);
}

/** Whether the round after this one starts right away (afterRound's rules, asked before this round ends). */
function nextRoundDue(ctx: Ctx, next: number): boolean {
  const { s, config, now } = ctx;
  if (config.totalSteps > 0 && next >= config.totalSteps) return false;
  if (now - s.epochStartedAt >= config.epochTime) return false;
  return headcount(s) >= config.minClients;
}

/** `last`: the round that just ended or closed its commits, if any (what its members trained sizes time-boxed ranges). */
function startRound(ctx: Ctx, last: Round | null = null): true {
  const { s, config, now } = ctx;
  // A round still being witnessed has taken its sequences and tokens already (they are counted when it ends).
  const pending = s.witnessing === null ? 0 : batchOf(s.witnessing);
  const pendingTrained = s.witnessing === null ? 0 : trainedOf(s.witnessing);
  const batch = globalBatchSize(config.globalBatch, s.tokensSeen + pendingTrained * config.seqLen);
  const seed = roundSeed(config.runId, s.step);
  const newcomers = new Set(admitProbation(config, s, batch, seed, last));
  for (const c of Object.values(s.clients)) if (c.status === 'joining' && (!onProbation(config, c) || newcomers.has(c.id))) c.status = 'member';
  const members = Object.values(s.clients)
    .filter((c) => c.status === 'member')
    .sort((a, b) => a.joinSeq - b.joinSeq);
  const slots = members.map((c) => c.id);
  const paced = config.shareByPace ? paceCounts(config, members, batch) : undefined;
  const counts = paced && config.trainTimeBox > 0 ? boxedCounts(config, members, paced, last) : paced;
  // The epoch's clock starts with its first round, not while it waited for members.
  if (s.step === s.epochStartStep) s.epochStartedAt = now;
  s.round = {
    step: s.step,
    seed,
    slots,
    assignments: assignRanges(slots.length, counts ? counts.reduce((a, b) => a + b, 0) : batch, s.dataCursor + pending, seed, counts),
    lrBits: lrBits(config, s.step),
    commitments: slots.map(() => null),
    trained: slots.map(() => null),
    witnesses: slots.map(() => null),
    copies: slots.map(() => null),
    overlaps: slots.map(() => null),
    checks: null,
    startedAt: now,
    base: s.witnessing === null ? s.step : s.witnessing.step,
    closedAt: null,
  };
  enter(ctx, 'RoundTrain');
  ctx.effects.push({ type: 'roundStarted', round: structuredClone(s.round) });
  return true;
}

/** The round witnessed alone ends: its outcome, then what comes after it. */
function endRound(ctx: Ctx): true {
  const { s } = ctx;
  const ended = s.round as Round;
  concludeRound(ctx, ended);
  s.step += 1;
  s.round = null;
  return afterRound(ctx, ended);
}

/** The round witnessed beside the training one ends; the training round goes on. */
function endWitnessing(ctx: Ctx): true {
  concludeRound(ctx, ctx.s.witnessing as Round);
  ctx.s.witnessing = null;
  return true;
}

/** A round's outcome: the agreed set, verdicts, points, strikes, drops; its sequences and tokens join the run's count. */
function concludeRound(ctx: Ctx, round: Round): void {
  const { s, config } = ctx;
  const outcome = decideRound(config, s, round);
  const agreed = agreedSlots(round, outcome.excluded);
  // Before any standing changes: the weights of this round's checksums are those its witnesses had.
  const checksums = witnessChecksums(config, s, round);
  ctx.effects.push(...outcome.effects);
  ctx.effects.push({
    type: 'agreed',
    step: round.step,
    epoch: s.epoch,
    slots: agreed,
    clients: agreed.map((i) => round.slots[i]),
    hashes: agreed.map((i) => round.commitments[i] as string),
    lrBits: round.lrBits,
    excluded: outcome.excluded,
    checksum: checksums.majority,
    base: round.base,
  });
  for (const r of checksums.reports) {
    if (r.checksum !== checksums.majority) ctx.effects.push({ type: 'resync', clientId: r.id, step: round.step, checksum: checksums.majority as string });
  }
  creditAuthors(ctx, round, agreed, outcome.verified);
  for (const { clientId, reason } of outcome.strikes) ctx.effects.push(...strike(config, s.clients[clientId], round.step, reason));
  for (const id of outcome.contradicted) {
    const v = s.clients[id];
    v.contradictions += 1;
    if (v.contradictions >= config.verification.maxContradictions) {
      v.contradictions = 0;
      ctx.effects.push(...strike(config, v, round.step, `${config.verification.maxContradictions} verdicts against the committee's decision`));
    }
  }
  ctx.effects.push(...vest(config, s, round.step));
  dropMissing(ctx, round, agreed);
  // The cursor passes the whole ranges: with a time box, what a member did not reach in its range is skipped.
  s.dataCursor += batchOf(round);
  s.tokensSeen += trainedOf(round) * config.seqLen;
}

/** The sequences the round assigned. */
function batchOf(round: Round): number {
  return round.assignments.reduce((sum, a) => sum + a.count, 0);
}

/** The sequences the round took: what each commit trained, and each slot without a commit its assignment (as without time boxes). */
export function trainedOf(round: Round): number {
  return round.assignments.reduce((sum, a, slot) => sum + (round.trained[slot] ?? a.count), 0);
}

function afterRound(ctx: Ctx, ended: Round): true {
  const { s, config, now } = ctx;
  if (config.totalSteps > 0 && s.step >= config.totalSteps) {
    enter(ctx, 'Finished');
    ctx.effects.push({ type: 'finished', step: s.step });
  } else if (now - s.epochStartedAt >= config.epochTime) {
    enter(ctx, 'Cooldown');
    ctx.effects.push({ type: 'epochEnd', epoch: s.epoch, step: s.step });
  } else if (headcount(s) < config.minClients) {
    enter(ctx, 'WaitingForMembers');
  } else {
    startRound(ctx, ended);
  }
  return true;
}

function endCooldown(ctx: Ctx): true {
  const { s, now } = ctx;
  s.epoch += 1;
  s.epochStartStep = s.step;
  s.epochStartedAt = now;
  return headcount(s) >= minToStart(ctx) ? startRound(ctx) : enter(ctx, 'WaitingForMembers');
}

// ---- the round's outcome ----

/**
 * Committed slots that no check excluded, ascending. A commit counts only
 * once the coordinator holds its payload and serves it to anyone, so
 * availability needs no witness vote (which a few colluding witnesses could
 * veto); the witness bitmaps only show how payloads travelled.
 */
export function agreedSlots(round: Round, excluded: readonly Exclusion[]): number[] {
  const out = new Set(excluded.map((x) => x.slot));
  return round.slots.map((_, slot) => slot).filter((slot) => round.commitments[slot] !== null && !out.has(slot));
}

/** The most frequent checksum; ties go to the smallest hex, so every server picks the same one. */
export function majorityChecksum(checksums: readonly string[]): string | null {
  const counts = new Map<string, number>();
  for (const c of checksums) counts.set(c, (counts.get(c) ?? 0) + 1);
  let best: string | null = null;
  for (const [c, n] of counts) {
    const bestN = best === null ? 0 : (counts.get(best) as number);
    if (n > bestN || (n === bestN && best !== null && c < best)) best = c;
  }
  return best;
}

/**
 * An agreed update's points: pointsPerUpdate, or with shares by pace or
 * time boxes as much more or less as the sequences it trained are of the
 * round's mean (trainedOf over its slots), so a member that commits slowly
 * to train less, or stops its time box early, also earns less. Without time
 * boxes the round's sequences are its batch, and the mean the equal share.
 */
function updatePoints(config: RunConfig, round: Round, slot: number): number {
  const took = trainedOf(round);
  if ((!config.shareByPace && config.trainTimeBox === 0) || took === 0) return config.pointsPerUpdate;
  const trained = round.trained[slot] ?? round.assignments[slot].count;
  return Math.round((config.pointsPerUpdate * trained * round.slots.length) / took);
}

/** Points go to the unvested list; they reach the ledger when they vest. */
function creditAuthors(ctx: Ctx, round: Round, agreed: number[], verified: number[]): void {
  const { s, config } = ctx;
  for (const slot of agreed) {
    const author = s.clients[round.slots[slot]];
    author.unvested.push({ step: round.step, amount: updatePoints(config, round, slot) });
    author.agreedUpdates += 1;
    if (verified.includes(slot)) author.verifiedRounds += 1;
    author.missedRounds = 0;
  }
}

/**
 * The round's reported checksums and their majority, the run's agreed
 * checksum of this step (everyone off it resyncs). The majority counts only
 * clients past probation when any reported, so a swarm of new keys sharing a
 * false checksum cannot send honest tabs to resync, nor vouch for a forged
 * checkpoint.
 */
function witnessChecksums(config: RunConfig, s: RunState, round: Round): { reports: { id: ClientId; checksum: string }[]; majority: string | null } {
  const reports = round.slots.flatMap((id, slot) => (round.witnesses[slot] === null ? [] : [{ id, checksum: (round.witnesses[slot] as WitnessReport).checksum }]));
  const weighty = reports.filter((r) => !onProbation(config, s.clients[r.id]));
  return { reports, majority: majorityChecksum((weighty.length > 0 ? weighty : reports).map((r) => r.checksum)) };
}

function dropMissing(ctx: Ctx, round: Round, agreed: number[]): void {
  const { s, config } = ctx;
  round.slots.forEach((id, slot) => {
    const c = s.clients[id];
    if (c.status !== 'member' || agreed.includes(slot)) return;
    c.missedRounds += 1;
    if (c.missedRounds > config.maxMissedRounds) {
      c.status = 'gone';
      ctx.effects.push({ type: 'dropped', clientId: id, step: round.step, reason: `no agreed update in ${c.missedRounds} rounds in a row (at most ${config.maxMissedRounds} allowed)` });
    }
  });
}

// ---- counting ----

/** Members and joiners: who would train if a round started now. */
function headcount(s: RunState): number {
  return Object.values(s.clients).filter((c) => c.status === 'member' || c.status === 'joining').length;
}

/** The first epoch waits for initMinClients, later ones for minClients. */
function minToStart({ s, config }: Ctx): number {
  return s.epoch === 0 ? config.initMinClients : config.minClients;
}

/** The client's slot in `round` (the training one unless given) if it is still a member, else -1. */
function memberSlot(s: RunState, id: ClientId, round = s.round): number {
  if (s.clients[id]?.status !== 'member' || round === null) return -1;
  return round.slots.indexOf(id);
}

function everyPresentMember(s: RunState, round: Round, done: (slot: number) => boolean): boolean {
  return round.slots.every((id, slot) => s.clients[id].status !== 'member' || done(slot));
}

/** The round whose witnesses and draw are due now: the one witnessed beside the training round, or the one witnessed alone. */
export function witnessRound(s: RunState): Round | null {
  // Paused, nothing is witnessed (as commits are refused): the phase clocks restart on resume.
  if (s.phase === 'RoundTrain') return s.witnessing;
  return s.phase === 'RoundWitness' ? s.round : null;
}
