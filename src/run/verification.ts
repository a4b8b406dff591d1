/**
 * The verification rules of the state machine (docs/verification.md): who is
 * on probation, which updates a round checks and who verifies them, how the
 * verifiers' scores decide, and what a verdict does to standing (verified
 * rounds, strikes, vesting, ejection). Pure functions of the config and the
 * state; state-machine.ts calls them at the round's transitions.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { seedStream } from './assignment';
import { proofUnits, unitSizeFor } from '../protocol/update-codec';
import type { Check, ClientId, ClientRecord, Effect, Exclusion, Round, RunConfig, RunState, Score } from './types';

/** A new identity: every update checked, no weight as witness, verifier only when nobody else can be. */
export function onProbation(config: RunConfig, c: ClientRecord): boolean {
  return c.verifiedRounds < config.verification.probationRounds;
}

/**
 * Unsigned 32-bit draws from the round seed and the coordinator's salt:
 * nobody can compute them before commits close. `domain` 0 draws the checks,
 * 1 the recomputed proof units, so adding one never moves the other.
 */
function drawStream(round: Round, salt: string, domain = 0): () => number {
  const seed = new Uint8Array(domain === 0 ? 64 : 65);
  seed.set(hexToBytes(round.seed));
  seed.set(hexToBytes(salt), 32);
  if (domain !== 0) seed[64] = domain;
  return seedStream(bytesToHex(sha256(seed)));
}

/**
 * The probability that an update past probation is checked: the configured
 * sampleRate, lowered so that recomputation costs a member at most
 * maxRecomputeShare of its training on average, probation checks included.
 * A member verifies rate · v checks a round (v verifiers each, spread over
 * the members) and trains s proof units, and each check costs it one unit,
 * so rate · v / s is the share. The round's probation checks come first:
 * `probationUnits` of them, done by the established members (`established`),
 * take probationUnits / established units of each one's budget, and
 * sampling gets what is left. So a run's verification stays within the one
 * share whether newcomers are there or not (admitProbation keeps the
 * probation part within maxProbationShare). A tiny global batch spread over
 * many members checks fewer updates instead of costing more. With more than
 * MAX_PROOF_UNITS sequences a check recomputes one of MAX_PROOF_UNITS units,
 * so s is the round's mean proof units a member, counted over what each
 * trained: with a time box a unit is an eighth of the range, not of the
 * part of it the member reached.
 */
export function checkRate(config: RunConfig, round: Round, active: number, probationUnits = 0, established = active): number {
  const { sampleRate, maxRecomputeShare, verifiers } = config.verification;
  const v = Math.min(verifiers, active - 1);
  if (v < 1) return sampleRate;
  const units = meanTrainedUnits(round);
  const left = Math.max(0, maxRecomputeShare * units - (established > 0 ? probationUnits / established : 0));
  return Math.min(sampleRate, left / v);
}

/**
 * The mean proof units a member trained in `round`: units are laid out over
 * each assignment and a time-boxed member that reached half its range
 * trained half of them (drawChecks runs once commits close, so the counts
 * are known; a slot without a commit counts its assignment).
 */
export function meanTrainedUnits(round: Round): number {
  const n = round.assignments.length;
  return n === 0 ? 0 : round.assignments.reduce((a, x, slot) => a + proofUnits(round.trained[slot] ?? x.count, unitSizeFor(x.count)), 0) / n;
}

/**
 * The joiners on probation that become members this round; the others wait
 * (status joining) for a later one. Every probation update is checked by up
 * to v verifiers, one proof unit each, and those past probation do these
 * checks first: p newcomers cost each of the E established members
 * p · v / E units a round beside the s it trains. A swarm of new keys
 * therefore enters at most maxProbationShare of the established members'
 * training at a time; one newcomer at a time always may, so a small run
 * still admits. Which waiting joiners enter is drawn from the round seed,
 * so keys queued first cannot keep honest newcomers out. With nobody past
 * probation (a young run) there is nobody to protect and all enter. A
 * member's units are estimated from its equal share of the batch; with a
 * time box a member trains only what it reaches of its range, so the units
 * the members trained in `last` (the round before) bound the estimate too.
 */
export function admitProbation(config: RunConfig, s: RunState, batch: number, seed: string, last: Round | null = null): ClientId[] {
  const present = Object.values(s.clients).filter((c) => c.status === 'member' || c.status === 'joining');
  const waiting = present.filter((c) => c.status === 'joining' && onProbation(config, c)).sort((a, b) => a.joinSeq - b.joinSeq);
  const established = present.filter((c) => !onProbation(config, c)).length;
  if (established === 0) return waiting.map((c) => c.id);
  const members = present.filter((c) => c.status === 'member' && onProbation(config, c)).length;
  const next = seedStream(bytesToHex(sha256(new Uint8Array([...hexToBytes(seed), 2]))));
  const drawn = shuffled(waiting.map((c) => c.id), next);
  const { verifiers, maxProbationShare } = config.verification;
  const admitted: ClientId[] = [];
  for (const id of drawn) {
    const p = members + admitted.length + 1;
    const n = established + p;
    const equal = proofUnits(Math.max(1, Math.floor(batch / n)));
    const units = config.trainTimeBox > 0 && last !== null && last.assignments.length > 0 ? Math.min(equal, Math.max(1, meanTrainedUnits(last))) : equal;
    const cost = (p * Math.min(verifiers, n - 1)) / (established * units);
    if (p > 1 && cost > maxProbationShare) break;
    admitted.push(id);
  }
  return admitted;
}

/**
 * The proof units the verifiers of one check recompute: consecutive ones
 * from a random one, so they are distinct while the range has enough (a lazy
 * author that skipped most of its range fails most verifiers, not one).
 */
export function proofOffsets(units: number, verifiers: number, next: () => number): number[] {
  const first = next() % units;
  return Array.from({ length: verifiers }, (_, i) => (first + i) % units);
}

function shuffled(ids: ClientId[], next: () => number): ClientId[] {
  const out = [...ids];
  for (let i = out.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * The round's checks: every committed update of a client on probation, and
 * each other one with probability sampleRate, unless the exact checks already
 * failed it. Verifiers are members that committed this round (so they hold
 * the pre-round parameters and are alive), never the author, those past
 * probation first; probation members fill in only where too few others exist
 * (a young run). An update nobody else can verify is not checked.
 */
export function drawChecks(config: RunConfig, s: RunState, round: Round, salt: string): Check[] {
  const { verifiers: wanted } = config.verification;
  const next = drawStream(round, salt);
  const active = round.slots.filter((id, slot) => s.clients[id].status === 'member' && round.commitments[slot] !== null);
  // Probation checks take their share of the members' verification budget first (checkRate).
  const established = active.filter((id) => !onProbation(config, s.clients[id])).length;
  const probationUnits = round.slots.reduce((n, id, slot) => {
    const checked = round.commitments[slot] !== null && round.copies[slot] === null && onProbation(config, s.clients[id]);
    return checked ? n + Math.min(wanted, active.filter((a) => a !== id).length) : n;
  }, 0);
  const sampleRate = checkRate(config, round, active.length, probationUnits, established);
  const checks: Check[] = [];
  round.slots.forEach((author, slot) => {
    // One draw per slot whatever happens, so a slot's draw does not depend on the others'.
    const draw = next() / 2 ** 32;
    if (round.commitments[slot] === null || round.copies[slot] !== null) return;
    if (!onProbation(config, s.clients[author]) && draw >= sampleRate) return;
    const others = active.filter((id) => id !== author);
    const good = shuffled(others.filter((id) => !onProbation(config, s.clients[id])), next);
    const young = shuffled(others.filter((id) => onProbation(config, s.clients[id])), next);
    const verifiers = [...good, ...young].slice(0, wanted);
    if (verifiers.length > 0) checks.push({ slot, verifiers, units: [] });
  });
  const nextUnit = drawStream(round, salt, 1);
  // The update's units are laid out over its assignment and cut at what it trained (src/protocol/update-codec.ts unitSizeFor).
  for (const c of checks) {
    const assigned = round.assignments[c.slot].count;
    c.units = proofOffsets(proofUnits(round.trained[c.slot] ?? assigned, unitSizeFor(assigned)), c.verifiers.length, nextUnit);
  }
  return checks;
}

/** Why a witness's scores are not acceptable in this round, or null. */
export function scoresError(round: Round, verifier: ClientId, scores: readonly Score[]): string | null {
  const seen = new Set<number>();
  for (const { slot } of scores) {
    if (seen.has(slot)) return `two scores for slot ${slot}`;
    seen.add(slot);
    const check = round.checks?.find((c) => c.slot === slot);
    if (check === undefined || !check.verifiers.includes(verifier)) return `a score for slot ${slot}, which you were not assigned to verify`;
  }
  return null;
}

/** The lower median: with an even count the lower middle decides, so one dissent between two leaves an update out. */
export function lowerMedian(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

export interface RoundOutcome {
  /** Committed slots that are not in the agreed set, and why. */
  excluded: Exclusion[];
  /** Agreed slots whose update a committee checked and passed. */
  verified: number[];
  /** Who gets a strike, and why (one entry per strike). */
  strikes: { clientId: ClientId; reason: string }[];
  /** Verifiers whose verdict went against a committee of ≥ 3. */
  contradicted: ClientId[];
  effects: Effect[];
}

/**
 * The round's verdicts. A copy is excluded and struck. A checked update
 * passes when the lower median of its verifiers' scores reaches passScore; a
 * failure is a strike only when most verifiers failed it (a split excludes
 * without blame). A probation update with no score at all is excluded
 * without blame (it was never verified); a sampled one is agreed.
 *
 * A committee of two that splits passes the update: measured honest scores
 * fall low enough late in a run (docs/verification.md) that one verifier's
 * low score alone excluded honest tabs, while a cheat needs both verifiers
 * fooled or one lying established verifier to pass.
 *
 * Probation verifiers' scores count only when no verifier past probation
 * scored (as with checksums): otherwise two fresh keys drawn beside one
 * established verifier (a young run fills committees with them) would
 * outvote it and fail honest updates for free.
 */
export function decideRound(config: RunConfig, s: RunState, round: Round): RoundOutcome {
  const { passScore } = config.verification;
  const out: RoundOutcome = { excluded: [], verified: [], strikes: [], contradicted: [], effects: [] };
  round.slots.forEach((clientId, slot) => {
    const copy = round.copies[slot];
    if (round.commitments[slot] === null || copy === null) return;
    out.excluded.push({ slot, clientId, reason: copy });
    out.strikes.push({ clientId, reason: `step ${round.step}: ${copy}` });
  });
  for (const check of round.checks ?? []) {
    const author = round.slots[check.slot];
    const reported = check.verifiers.flatMap((verifier) => {
      const w = round.witnesses[round.slots.indexOf(verifier)];
      const score = w?.scores.find((x) => x.slot === check.slot);
      return score === undefined ? [] : [{ ...score, verifier }];
    });
    const established = reported.filter((x) => !onProbation(config, s.clients[x.verifier]));
    const scores = established.length > 0 ? established : reported;
    if (scores.length === 0) {
      out.effects.push({ type: 'verdict', step: round.step, slot: check.slot, clientId: author, scores, median: null, pass: null });
      if (onProbation(config, s.clients[author])) out.excluded.push({ slot: check.slot, clientId: author, reason: 'not verified: no verifier reported a score' });
      continue;
    }
    // Two scores that disagree: the pass stands (no single score can fail an update; see decideRound's comment).
    const median = scores.length === 2 ? Math.max(scores[0].score, scores[1].score) : lowerMedian(scores.map((x) => x.score));
    const pass = median >= passScore;
    out.effects.push({ type: 'verdict', step: round.step, slot: check.slot, clientId: author, scores: reported, median, pass });
    if (pass) out.verified.push(check.slot);
    else {
      const fails = scores.filter((x) => x.score < passScore).length;
      const reason = `failed verification: median score ${median} < ${passScore} (${scores.map((x) => x.score).join(', ')})`;
      out.excluded.push({ slot: check.slot, clientId: author, reason });
      if (2 * fails > scores.length) out.strikes.push({ clientId: author, reason: `step ${round.step}: ${reason}` });
    }
    // Every reporter against a verdict of ≥ 3 deciding scores contradicted it, a probation one too.
    if (scores.length >= 3) for (const x of reported) if (x.score >= passScore !== pass) out.contradicted.push(x.verifier);
  }
  out.excluded.sort((a, b) => a.slot - b.slot);
  return out;
}

/** Vests every client's points that have waited long enough; returns the ledger's `points` effects. */
export function vest(config: RunConfig, s: RunState, endedStep: number): Effect[] {
  const effects: Effect[] = [];
  for (const c of Object.values(s.clients)) {
    while (c.unvested.length > 0 && c.unvested[0].step + config.verification.vestingRounds <= endedStep) {
      const { step, amount } = c.unvested.shift() as { step: number; amount: number };
      c.points += amount;
      effects.push({ type: 'points', clientId: c.id, step, amount });
    }
  }
  return effects;
}

/** A strike: the unvested points are forfeited, and maxStrikes of them eject the key. */
export function strike(config: RunConfig, c: ClientRecord, step: number, reason: string): Effect[] {
  const effects: Effect[] = [];
  c.strikes += 1;
  effects.push({ type: 'strike', clientId: c.id, step, reason, strikes: c.strikes });
  const lost = c.unvested.reduce((sum, u) => sum + u.amount, 0);
  c.unvested = [];
  if (lost > 0) {
    c.forfeited += lost;
    effects.push({ type: 'forfeited', clientId: c.id, step, amount: lost });
  }
  if (c.strikes >= config.verification.maxStrikes && c.status !== 'ejected') {
    c.status = 'ejected';
    effects.push({ type: 'ejected', clientId: c.id, step, reason: `${c.strikes} strikes (at most ${config.verification.maxStrikes - 1} allowed); last: ${reason}` });
  }
  return effects;
}
