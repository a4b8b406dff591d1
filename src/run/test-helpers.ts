/** Shared by the src/run tests: ids, a deep freeze, and a checked driver of the machine. */
import { expect } from 'vitest';
import { parseRunConfig, type RunConfigInput } from './run-config';
import { createRunState, step, witnessRound } from './state-machine';
import type { Effect, RunConfig, RunEvent, RunState, Score } from './types';

/** The coordinator's check salt in tests. */
export const SALT = 'ab'.repeat(32);

/** A client id (64 hex) from a small number. */
export const cid = (n: number): string => n.toString(16).padStart(64, '0');
/** A commitment hash (64 hex) from a small number. */
export const hash = (n: number): string => n.toString(16).padStart(64, 'e');
/** A parameter checksum (16 hex) from a small number. */
export const sum = (n: number): string => n.toString(16).padStart(16, '0');

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The run rules before verification (no probation, vesting or sampling) unless a test sets `verification`. */
export function testConfig(overrides: RunConfigInput = {}): RunConfig {
  return parseRunConfig({
    verification: { probationRounds: 0, vestingRounds: 0, sampleRate: 0 },
    warmupTime: 1000,
    cooldownTime: 500,
    maxRoundTrainTime: 10_000,
    roundWitnessTime: 5000,
    epochTime: 1_000_000,
    initMinClients: 2,
    minClients: 1,
    maxMissedRounds: 2,
    pointsPerUpdate: 10,
    globalBatch: { start: 8, end: 8, warmupTokens: 0 },
    ...overrides,
  });
}

/**
 * Steps the machine with every call checked: the input state is deep-frozen
 * (a mutation would throw) and its JSON unchanged afterwards, and stepping
 * its JSON round trip gives the same result.
 */
export function checkedStep(config: RunConfig, state: RunState, event: RunEvent) {
  const before = JSON.stringify(state);
  const result = step(config, deepFreeze(state), event);
  expect(JSON.stringify(state)).toBe(before);
  const again = step(config, JSON.parse(before) as RunState, event);
  expect(JSON.parse(JSON.stringify(again))).toEqual(JSON.parse(JSON.stringify(result)));
  return result;
}

/** A run driven event by event; `effects` holds the last step's effects. */
export class Sim {
  state: RunState;
  effects: Effect[] = [];
  log: Effect[] = [];

  constructor(
    readonly config: RunConfig,
    now = 0,
  ) {
    this.state = createRunState(config, now);
  }

  send(event: RunEvent): Effect[] {
    const result = checkedStep(this.config, this.state, event);
    this.state = result.state;
    this.effects = result.effects;
    this.log.push(...result.effects);
    return result.effects;
  }

  join = (n: number, now: number) => this.send({ type: 'join', clientId: cid(n), now });
  leave = (n: number, now: number) => this.send({ type: 'leave', clientId: cid(n), now });
  tick = (now: number) => this.send({ type: 'tick', now });
  commit = (n: number, now: number, h = hash(n), overlap: { permille: number; with: string } | null = null) =>
    this.send({ type: 'commit', clientId: cid(n), step: this.state.step, hash: h, overlap, now });
  /** A commit of an update that trained `count` sequences (a time-boxed member that stopped early). */
  commitCount = (n: number, now: number, count: number) => this.send({ type: 'commit', clientId: cid(n), step: this.state.step, hash: hash(n), count, overlap: null, now });
  /** Witnesses the round being witnessed (pipelined: the one before the training round); draws its checks first if the coordinator would have by now. */
  witness = (n: number, now: number, held: string, checksum = sum(1), scores: Score[] = []) => {
    if (witnessRound(this.state)?.checks === null) this.draw(now);
    return this.send({ type: 'witness', clientId: cid(n), step: this.witnessStep(), held, checksum, scores, now });
  };
  draw = (now: number, salt = SALT) => this.send({ type: 'draw', step: this.witnessStep(), salt, now });

  private witnessStep(): number {
    return witnessRound(this.state)?.step ?? this.state.step;
  }

  /** Members of the current round that are still members (the ones expected to commit and witness). */
  present(): number[] {
    const round = this.state.round;
    if (round === null) return [];
    return round.slots.filter((id) => this.state.clients[id].status === 'member').map((id) => parseInt(id, 16));
  }

  effectsOf<T extends Effect['type']>(type: T): Extract<Effect, { type: T }>[] {
    return this.effects.filter((e): e is Extract<Effect, { type: T }> => e.type === type);
  }
}

/** The bitmap holding every one of `slots` slots. */
export function allHeld(slots: number): string {
  const bytes = Array.from({ length: Math.ceil(slots / 8) }, (_, b) => (b < Math.floor(slots / 8) ? 0xff : (1 << slots % 8) - 1));
  return bytes.map((x) => x.toString(16).padStart(2, '0')).join('');
}
