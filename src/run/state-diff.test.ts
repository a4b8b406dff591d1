/**
 * diff/apply over random run states (seeded, so a failure reproduces): apply(diff(a, b), a) equals b for states that
 * differ by many random mutations (clients added, changed and removed, rounds started, slots committed and
 * witnessed, checks drawn, fields added), never mutates a, is accepted by the wire schema whenever b is a valid
 * state, and sends a step's change as the change only.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../kernels/testing/random';
import { runStateSchema, stateChangesSchema } from '../net/messages';
import { applyObject, applyState, diffObject, diffState, jsonEqual, PatchError, type Json } from './state-diff';
import { createRunState } from './state-machine';
import { cid, deepFreeze, hash, sum, testConfig } from './test-helpers';
import type { ClientRecord, Round, RunState } from './types';

const config = testConfig();

function record(id: string, rand: () => number): ClientRecord {
  return {
    id,
    status: (['joining', 'member', 'gone', 'ejected'] as const)[Math.floor(rand() * 4)],
    joinSeq: Math.floor(rand() * 100),
    missedRounds: Math.floor(rand() * 3),
    points: Math.floor(rand() * 1000),
    agreedUpdates: Math.floor(rand() * 50),
    verifiedRounds: Math.floor(rand() * 5),
    strikes: Math.floor(rand() * 3),
    contradictions: 0,
    unvested: Array.from({ length: Math.floor(rand() * 3) }, (_, i) => ({ step: i, amount: Math.floor(rand() * 10) })),
    forfeited: 0,
    pace: null,
  };
}

function newRound(s: RunState, rand: () => number): Round {
  const slots = Object.keys(s.clients).filter(() => rand() < 0.8);
  return {
    step: s.step,
    seed: hash(Math.floor(rand() * 1e6)),
    slots,
    assignments: slots.map((_, i) => ({ start: i * 4 + Math.floor(rand() * 100), count: 4 })),
    lrBits: Math.floor(rand() * 2 ** 32),
    commitments: slots.map(() => null),
    trained: slots.map(() => null),
    witnesses: slots.map(() => null),
    copies: slots.map(() => null),
    overlaps: slots.map(() => null),
    checks: null,
    startedAt: Math.floor(rand() * 1e9),
    base: s.step,
    closedAt: null,
  };
}

/** One random change of the kinds the machine makes (and a few it does not: removing a client). */
function mutate(s: RunState, rand: () => number): void {
  const ids = Object.keys(s.clients);
  const anyId = () => ids[Math.floor(rand() * ids.length)];
  const slot = (r: Round) => Math.floor(rand() * r.slots.length);
  const k = rand();
  if (k < 0.1) {
    const id = cid(1 + Math.floor(rand() * 1e6));
    s.clients[id] = record(id, rand);
  } else if (k < 0.15 && ids.length > 0) delete s.clients[anyId()];
  else if (k < 0.3 && ids.length > 0) s.clients[anyId()].points += 1 + Math.floor(rand() * 10);
  else if (k < 0.35) {
    s.step++;
    s.round = newRound(s, rand);
  } else if (k < 0.38) s.round = null;
  else if (k < 0.55 && s.round && s.round.slots.length > 0) s.round.commitments[slot(s.round)] = hash(Math.floor(rand() * 1e6));
  else if (k < 0.7 && s.round && s.round.slots.length > 0) s.round.witnesses[slot(s.round)] = { held: 'ff', checksum: sum(Math.floor(rand() * 1e6)), scores: [] };
  else if (k < 0.75 && s.round && s.round.slots.length > 0) s.round.copies[slot(s.round)] = `copy of ${hash(1)} (850‰ overlap) "quoted"`;
  else if (k < 0.8 && s.round) s.round.checks = s.round.slots.slice(0, 3).map((_, i, some) => ({ slot: i, verifiers: [some[(i + 1) % some.length]], units: [0] }));
  else if (k < 0.85) s.phase = (['RoundTrain', 'RoundWitness', 'Cooldown', 'Paused'] as const)[Math.floor(rand() * 4)];
  else if (k < 0.9) s.pausedFrom = rand() < 0.5 ? null : 'RoundTrain';
  else s.tokensSeen += Math.floor(rand() * 1000);
}

function randomState(rand: () => number, clients: number): RunState {
  const s = createRunState(config, 0);
  for (let i = 0; i < clients; i++) {
    const id = cid(i + 1);
    s.clients[id] = record(id, rand);
  }
  if (rand() < 0.7) s.round = newRound(s, rand);
  return s;
}

describe('state diff', () => {
  it('apply(diff(a, b), a) equals b after many random mutations, and a is untouched', () => {
    const rand = mulberry32(11);
    let pairs = 0;
    for (let trial = 0; trial < 300; trial++) {
      const a = randomState(rand, Math.floor(rand() * 12));
      const b = structuredClone(a);
      const n = 1 + Math.floor(rand() * 12);
      for (let i = 0; i < n; i++) mutate(b, rand);
      const before = JSON.stringify(a);
      deepFreeze(a);
      const changes = diffState(a, b);
      if (jsonEqual(a as never, b as never)) {
        expect(changes).toBeNull();
        continue;
      }
      pairs++;
      expect(changes).not.toBeNull();
      const applied = applyState(a, changes!);
      expect(applied).toEqual(b);
      expect(JSON.stringify(a)).toBe(before);
      // Through JSON, as on the wire, and past the schema the client checks it with.
      const wire = JSON.parse(JSON.stringify(changes));
      const valid = runStateSchema.safeParse(b);
      expect(valid.success, JSON.stringify(valid.error?.issues.slice(0, 2))).toBe(true);
      const parsed = stateChangesSchema.safeParse(wire);
      expect(parsed.success, JSON.stringify(parsed.error?.issues.slice(0, 2))).toBe(true);
      expect(applyState(a, parsed.data!)).toEqual(b);
    }
    expect(pairs).toBeGreaterThan(250);
  });

  it('chains: applying each step diff in turn ends at the last state', () => {
    const rand = mulberry32(5);
    const first = randomState(rand, 6);
    let held = structuredClone(first);
    let truth = first;
    for (let i = 0; i < 500; i++) {
      const next = structuredClone(truth);
      mutate(next, rand);
      const changes = diffState(truth, next);
      if (changes) held = applyState(held, JSON.parse(JSON.stringify(changes)));
      truth = next;
    }
    expect(held).toEqual(truth);
  });

  it('is generic over the state: a new top-level field (a second round) is diffed key by key too', () => {
    const rand = mulberry32(3);
    const a = { ...randomState(rand, 4), witnessing: null } as unknown as Record<string, Json>;
    const round = newRound(a as unknown as RunState, rand) as unknown as Json;
    const b = { ...a, witnessing: round };
    expect(diffObject(a, b)).toEqual({ set: { witnessing: round } });
    const c = structuredClone(b) as unknown as { witnessing: Round };
    c.witnessing.commitments[0] = hash(9);
    expect(diffObject(b, c as never)).toEqual({ patch: { witnessing: { at: { commitments: [[0, hash(9)]] } } } });
    expect(applyObject(b, diffObject(b, c as never)!)).toEqual(c);
    const { witnessing: _, ...d } = c;
    expect(diffObject(c as never, d as never)).toEqual({ del: ['witnessing'] });
  });

  it('sends a commit as that slot, a new client as its record, and a new round as the round', () => {
    const rand = mulberry32(9);
    const a = randomState(rand, 8);
    a.round = newRound(a, rand);
    a.round.slots = Object.keys(a.clients);
    a.round.commitments = a.round.slots.map(() => null);
    a.round.witnesses = a.round.slots.map(() => null);
    a.round.copies = a.round.slots.map(() => null);
    const committed = structuredClone(a);
    committed.round!.commitments[2] = hash(42);
    expect(diffState(a, committed)).toEqual({ patch: { round: { at: { commitments: [[2, hash(42)]] } } } });
    const joined = structuredClone(a);
    joined.clients[cid(999)] = record(cid(999), rand);
    joined.nextJoinSeq++;
    expect(diffState(a, joined)).toEqual({ set: { nextJoinSeq: joined.nextJoinSeq }, patch: { clients: { set: { [cid(999)]: joined.clients[cid(999)] } } } });
    const next = structuredClone(committed);
    const slots = a.round.slots;
    next.round = { ...committed.round!, step: 1, seed: hash(77), assignments: slots.map((_, i) => ({ start: 100 + i, count: 4 })), lrBits: 7, startedAt: 99, commitments: slots.map(() => null) };
    const d = diffState(committed, next)!;
    expect(Object.keys(d.patch!.round.set!).sort()).toEqual(['assignments', 'lrBits', 'seed', 'startedAt', 'step']);
    expect(d.patch!.round.at).toEqual({ commitments: [[2, null]] });
    expect(applyState(committed, d)).toEqual(next);
  });

  it('refuses a diff that does not fit the state held', () => {
    const rand = mulberry32(1);
    const a = randomState(rand, 3);
    a.round = null;
    expect(() => applyState(a, { patch: { round: { set: { step: 1 } } } })).toThrow(PatchError);
    const withRound = { ...a, round: newRound(a, rand) };
    const n = withRound.round.commitments.length;
    expect(() => applyState(withRound, { patch: { round: { at: { commitments: [[n, hash(1)]] } } } })).toThrow(PatchError);
    expect(() => applyState(a, { patch: { clients: { del: [cid(12345)] } } })).toThrow(PatchError);
    expect(() => applyState(a, { set: { step: 1 }, patch: { step: {} } })).toThrow(PatchError);
    expect(() => applyObject({}, { set: JSON.parse('{"__proto__": {"polluted": true}}') })).toThrow(PatchError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
