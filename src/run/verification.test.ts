/**
 * The verification rules, tick by tick (docs/verification.md): probation,
 * the draw of checks and verifiers, the median verdict, copies, strikes,
 * ejection, vesting and the weight of new identities.
 */
import { describe, expect, it } from 'vitest';
import { allHeld, cid, hash, SALT, Sim, sum, testConfig } from './test-helpers';
import type { RunConfigInput } from './run-config';
import type { Score } from './types';
import { proofUnits } from '../protocol/update-codec';
import { admitProbation, checkRate, drawChecks, lowerMedian, onProbation } from './verification';

// No cost cap on the sample rate (maxRecomputeShare) unless a test sets one: these tests are about the rules.
const rules = (v: NonNullable<RunConfigInput['verification']> = {}, rest: RunConfigInput = {}) =>
  testConfig({ ...rest, verification: { probationRounds: 2, vestingRounds: 2, maxStrikes: 2, sampleRate: 0, verifiers: 3, passScore: 20, maxOverlapPermille: 500, maxRecomputeShare: 1000, maxProbationShare: 1000, ...v } });

/** Clients 1..n join at t=0 and round 0 starts at t=1000. */
function started(n: number, config = rules()): Sim {
  const sim = new Sim(config);
  for (let i = 1; i <= n; i++) sim.join(i, 0);
  sim.tick(config.warmupTime);
  expect(sim.state.phase).toBe('RoundTrain');
  return sim;
}

/**
 * One round: everyone present commits at t (with a fresh hash per round), the checks are drawn,
 * every verifier scores each slot it verifies with score(author, verifier), all witness.
 */
function round(sim: Sim, t: number, score: (author: number, verifier: number) => number | null = () => 500, checksum: (n: number) => string = () => sum(1)): void {
  const who = sim.present();
  for (const n of who) sim.commit(n, t, hash(1000 * (sim.state.step + 1) + n));
  expect(sim.state.phase).toBe('RoundWitness');
  sim.draw(t);
  const r = sim.state.round!;
  for (const n of who) {
    const scores: Score[] = [];
    for (const c of r.checks!) {
      if (!c.verifiers.includes(cid(n))) continue;
      const x = score(parseInt(r.slots[c.slot], 16), n);
      if (x !== null) scores.push({ slot: c.slot, score: x });
    }
    sim.witness(n, t + 1, allHeld(r.slots.length), checksum(n), scores);
  }
}

const client = (sim: Sim, n: number) => sim.state.clients[cid(n)];

describe('drawing the checks', () => {
  it('draws nothing before commits close, then checks every probation update with up to `verifiers` others, never the author', () => {
    const sim = started(4);
    for (const n of [1, 2, 3, 4]) sim.commit(n, 1500);
    expect(sim.state.round!.checks).toBeNull();
    sim.draw(1500);
    const checks = sim.state.round!.checks!;
    expect(checks.map((c) => c.slot)).toEqual([0, 1, 2, 3]);
    for (const c of checks) {
      expect(c.verifiers).toHaveLength(3);
      expect(c.verifiers).not.toContain(sim.state.round!.slots[c.slot]);
      expect(new Set(c.verifiers).size).toBe(3);
    }
  });

  it('gives each verifier a proof unit of the author’s range to recompute, distinct while the range has enough', () => {
    const config = rules({ verifiers: 3 }, { globalBatch: { start: 16, end: 16, warmupTokens: 0 } });
    const sim = started(4, config);
    for (const n of [1, 2, 3, 4]) sim.commit(n, 1500);
    sim.draw(1500);
    const r = sim.state.round!;
    const firsts = new Set<number>();
    for (const c of r.checks!) {
      const count = r.assignments[c.slot].count;
      expect(count).toBe(4);
      expect(c.units).toHaveLength(c.verifiers.length);
      expect(c.units.every((o) => Number.isInteger(o) && o >= 0 && o < count)).toBe(true);
      expect(new Set(c.units).size).toBe(3);
      firsts.add(c.units[0]);
    }
    // Drawn, not fixed: over many salts every offset of the range comes first somewhere.
    for (let x = 1; x < 40; x++) for (const c of drawChecks(config, sim.state, r, x.toString(16).padStart(2, '0').repeat(32))) firsts.add(c.units[0]);
    expect([...firsts].sort()).toEqual([0, 1, 2, 3]);
    // The checks and verifiers themselves do not depend on the unit draw.
    expect(drawChecks(config, sim.state, r, SALT).map(({ slot, verifiers }) => ({ slot, verifiers }))).toEqual(r.checks!.map(({ slot, verifiers }) => ({ slot, verifiers })));
  });

  it('repeats units only when the range has fewer than the committee', () => {
    const config = rules({ verifiers: 3 }, { globalBatch: { start: 4, end: 4, warmupTokens: 0 } });
    const sim = started(4, config);
    for (const n of [1, 2, 3, 4]) sim.commit(n, 1500);
    sim.draw(1500);
    for (const c of sim.state.round!.checks!) expect(c.units).toEqual([0, 0, 0]);
  });

  it('is fixed by the seed and the salt, and another salt draws other verifiers', () => {
    const config = rules({ verifiers: 2 });
    const sim = started(6, config);
    for (const n of [1, 2, 3, 4, 5, 6]) sim.commit(n, 1500);
    const s = sim.state;
    const a = drawChecks(config, s, s.round!, SALT);
    expect(drawChecks(config, s, s.round!, SALT)).toEqual(a);
    const others = ['01', '02', '03', '04'].map((x) => drawChecks(config, s, s.round!, x.repeat(32)));
    expect(others.some((b) => JSON.stringify(b) !== JSON.stringify(a))).toBe(true);
  });

  it('prefers verifiers past probation; young ones fill in only when too few others exist', () => {
    const config = rules({ verifiers: 2, probationRounds: 1 });
    const sim = started(3, config);
    round(sim, 1500); // clients 1–3 pass their one probation round
    sim.join(4, 1600); // during round 1: they train from round 2
    sim.join(5, 1600);
    round(sim, 2000);
    round(sim, 2500);
    const checks = sim.log.filter((e) => e.type === 'verdict' && e.step === 2);
    expect(checks.map((e) => (e.type === 'verdict' ? e.clientId : ''))).toEqual([cid(4), cid(5)]); // only the probation updates (sampleRate 0)
    for (const e of checks) if (e.type === 'verdict') for (const x of e.scores) expect([cid(1), cid(2), cid(3)]).toContain(x.verifier);
  });

  it('lowers the sample rate so recomputing costs a member at most maxRecomputeShare of its training', () => {
    // 8 sequences over 4 members: 2 each, one proof unit each; 3 verifiers a check; a share of 0.3 allows 0.3 · 2 / 3 = 0.2.
    const capped = rules({ probationRounds: 0, sampleRate: 1, maxRecomputeShare: 0.3 });
    const sim = started(4, capped);
    for (const n of [1, 2, 3, 4]) sim.commit(n, 1500);
    const r = sim.state.round!;
    expect(r.assignments.reduce((a, x) => a + x.count, 0)).toBe(8);
    expect(checkRate(capped, r, 4)).toBeCloseTo(0.2, 12);
    // Below the cap the configured rate stands; a one-member round has nobody to verify and keeps it.
    expect(checkRate(rules({ sampleRate: 0.1, maxRecomputeShare: 0.3 }), r, 4)).toBe(0.1);
    expect(checkRate(capped, r, 1)).toBe(1);
    // Two members: one verifier a check, 0.3 · 2 / 1 = 0.6.
    expect(checkRate(capped, r, 2)).toBeCloseTo(0.6, 12);
    // Probation checks come out of the same share: 3 units over 4 established members leave 0.6 − 0.75 < 0, so no sampling;
    // 1 unit over 4 leaves (0.6 − 0.25) / 3.
    expect(checkRate(capped, r, 4, 3, 4)).toBe(0);
    expect(checkRate(capped, r, 4, 1, 4)).toBeCloseTo(0.35 / 3, 12);
    // Time-boxed members that reached a part of their ranges trained fewer units, and the budget follows: ranges of 80
    // (units of 10) of which 40, 40, 40 and 80 were trained make 4, 4, 4 and 8 units, a mean of 5: 0.3 · 5 / 3 = 0.5.
    const boxed = { ...r, assignments: r.assignments.map((a, i) => ({ start: i * 80, count: 80 })), trained: [40, 40, 40, 80] };
    expect(checkRate(capped, boxed, 4)).toBeCloseTo(0.5, 12);
    expect(checkRate(capped, { ...boxed, trained: [null, null, null, null] }, 4)).toBeCloseTo(0.8, 12);
    // Over many salts about a fifth of the updates are checked, and each check costs its verifiers one sequence each.
    let checked = 0;
    const draws = 400;
    for (let x = 0; x < draws; x++) checked += drawChecks(capped, sim.state, r, (x + 1).toString(16).padStart(64, '0')).length;
    const share = checked / (4 * draws);
    expect(share).toBeGreaterThan(0.16);
    expect(share).toBeLessThan(0.24);
    // The expected recomputations a member does (rate · verifiers) over its 2 units stay within the share.
    expect((share * 3) / 2).toBeLessThan(0.3 * 1.2);
  });

  it('samples updates past probation with sampleRate: 0 checks none, 1 checks all', () => {
    for (const [sampleRate, expected] of [
      [0, 0],
      [1, 3],
    ] as const) {
      const sim = started(3, rules({ probationRounds: 0, sampleRate }));
      for (const n of [1, 2, 3]) sim.commit(n, 1500);
      sim.draw(1500);
      expect(sim.state.round!.checks).toHaveLength(expected);
    }
  });

  it('a lone member cannot be verified by anyone: its update is not checked', () => {
    const sim = started(1, rules({}, { initMinClients: 1 }));
    sim.commit(1, 1500);
    sim.draw(1500);
    expect(sim.state.round!.checks).toEqual([]);
  });
});

describe('verdicts', () => {
  it('a passing median agrees the update and counts a verified round; probation ends after probationRounds', () => {
    const sim = started(3);
    round(sim, 1500);
    expect(sim.effectsOf('agreed')[0].slots).toEqual([0, 1, 2]);
    expect(client(sim, 1)).toMatchObject({ verifiedRounds: 1, strikes: 0 });
    round(sim, 2000);
    expect(client(sim, 1).verifiedRounds).toBe(2);
    // Past probation and sampleRate 0: nothing is checked any more.
    for (const n of [1, 2, 3]) sim.commit(n, 2500, hash(77 + n));
    sim.draw(2500);
    expect(sim.state.round!.checks).toEqual([]);
  });

  it('a failing majority excludes the update before anyone applies it, pays nothing and strikes its author', () => {
    const sim = started(4);
    round(sim, 1500, (author) => (author === 4 ? -300 : 400));
    const agreed = sim.effectsOf('agreed')[0];
    expect(agreed.slots).toEqual([0, 1, 2]);
    expect(agreed.excluded).toEqual([{ slot: 3, clientId: cid(4), reason: expect.stringMatching(/^failed verification: median score -300 < 20 /) }]);
    expect(sim.effectsOf('strike')).toEqual([{ type: 'strike', clientId: cid(4), step: 0, reason: expect.any(String), strikes: 1 }]);
    expect(client(sim, 4)).toMatchObject({ strikes: 1, agreedUpdates: 0, unvested: [], points: 0 });
  });

  it('the median decides: one lying verifier of three can neither fail an honest update nor pass a cheat', () => {
    const sim = started(4);
    // Client 4 lies: it fails everyone and would pass itself (it never verifies itself).
    round(sim, 1500, (author, verifier) => (verifier === 4 ? -1000 : author === 3 ? -500 : 500));
    const agreed = sim.effectsOf('agreed')[0];
    expect(agreed.clients).toEqual([cid(1), cid(2), cid(4)]);
    expect(agreed.excluded.map((x) => x.clientId)).toEqual([cid(3)]);
  });

  it('with two scores that disagree the pass stands, without a strike; two failing scores exclude and strike', () => {
    const sim = started(3, rules({ verifiers: 2 }));
    round(sim, 1500, (author, verifier) => (author === 1 && verifier === 2 ? -1000 : author === 2 ? -1000 : 500));
    expect(sim.effectsOf('agreed')[0].excluded).toEqual([{ slot: 1, clientId: cid(2), reason: expect.stringContaining('failed verification') }]);
    expect(sim.effectsOf('strike').map((e) => e.clientId)).toEqual([cid(2)]);
  });

  it('a probation update nobody scored is left out without blame; a sampled one past probation is agreed', () => {
    const sim = started(3, rules({ probationRounds: 1, sampleRate: 1 }));
    round(sim, 1500, (author) => (author === 1 ? null : 500));
    expect(sim.effectsOf('agreed')[0].excluded).toEqual([{ slot: 0, clientId: cid(1), reason: 'not verified: no verifier reported a score' }]);
    expect(sim.effectsOf('strike')).toEqual([]);
    round(sim, 2000, (author) => (author === 2 ? null : 500)); // 2 passed probation last round
    expect(sim.effectsOf('agreed')[0].slots).toEqual([0, 1, 2]);
    expect(sim.effectsOf('verdict').find((v) => v.clientId === cid(2))).toMatchObject({ median: null, pass: null });
  });

  it('a verifier whose verdicts contradict a committee of three maxContradictions times is struck', () => {
    const sim = started(4, rules({ maxContradictions: 2, maxStrikes: 3 }));
    const liar = (author: number, verifier: number) => (verifier === 4 ? -1000 : 500);
    round(sim, 1500, liar);
    expect(client(sim, 4)).toMatchObject({ contradictions: 3 % 2, strikes: 1 }); // three contradictions in one round: one strike, one left over
    round(sim, 2000, liar);
    expect(client(sim, 4).strikes).toBeGreaterThanOrEqual(2);
  });
});

describe('copies', () => {
  // maxOverlapPermille 500 here; copyExcessPermille the default 500 (src/run/copy-rule.ts).
  it('is decided when commits close: a commit that stands out from its round is excluded and struck; below the line is fine', () => {
    const sim = started(3);
    sim.commit(1, 1500, hash(1));
    sim.commit(2, 1500, hash(2), { permille: 499, with: hash(1) });
    expect(sim.state.round!.copies).toEqual([null, null, null]);
    sim.commit(3, 1500, hash(3), { permille: 1000, with: hash(1) });
    expect(sim.state.round!.overlaps[2]).toEqual({ permille: 1000, with: hash(1) });
    expect(sim.state.round!.copies).toEqual([null, null, expect.stringMatching(/^a copy of update eeeeeeeeeeee: 1000‰/)]);
    sim.draw(1500);
    expect(sim.state.round!.checks!.map((c) => c.slot)).toEqual([0, 1]); // a copy needs no verifier
    for (const n of [1, 2, 3]) sim.witness(n, 1501, '07', sum(1), sim.state.round!.checks!.filter((c) => c.verifiers.includes(cid(n))).map((c) => ({ slot: c.slot, score: 500 })));
    expect(sim.effectsOf('agreed')[0]).toMatchObject({ slots: [0, 1], excluded: [{ slot: 2, clientId: cid(3) }] });
    expect(client(sim, 3).strikes).toBe(1);
  });

  it('strikes nobody over the line when the round’s updates are all that alike (honest updates converge)', () => {
    const sim = started(4);
    sim.commit(1, 1500, hash(1));
    sim.commit(2, 1500, hash(2), { permille: 801, with: hash(1) });
    sim.commit(3, 1500, hash(3), { permille: 790, with: hash(2) });
    sim.commit(4, 1500, hash(4), { permille: 812, with: hash(1) });
    expect(sim.state.round!.copies).toEqual([null, null, null, null]);
  });

  it('a copier that commits right after its source is judged against the commits that come after it', () => {
    const sim = started(4);
    sim.commit(1, 1500, hash(1));
    sim.commit(2, 1500, hash(2), { permille: 960, with: hash(1) });
    sim.commit(3, 1500, hash(3), { permille: 700, with: hash(1) });
    sim.commit(4, 1500, hash(4), { permille: 720, with: hash(2) });
    expect(sim.state.round!.copies).toEqual([null, expect.stringMatching(/^a copy of update eeeeeeeeeeee: 960‰.*round's 700‰/), null, null]);
  });
});

describe('strikes, ejection and vesting', () => {
  it('points vest vestingRounds after the round that earned them', () => {
    const sim = started(3);
    round(sim, 1500);
    expect(sim.effectsOf('points')).toEqual([]);
    expect(client(sim, 1)).toMatchObject({ points: 0, unvested: [{ step: 0, amount: 10 }] });
    round(sim, 2000);
    expect(sim.effectsOf('points')).toEqual([]);
    round(sim, 2500);
    expect(sim.effectsOf('points').map((e) => [e.clientId, e.step, e.amount])).toEqual([
      [cid(1), 0, 10],
      [cid(2), 0, 10],
      [cid(3), 0, 10],
    ]);
    expect(client(sim, 1)).toMatchObject({ points: 10, unvested: [{ step: 1, amount: 10 }, { step: 2, amount: 10 }] });
  });

  it('a strike forfeits the unvested points; maxStrikes eject the key, which cannot join again', () => {
    const sim = started(4, rules({ probationRounds: 0, sampleRate: 1 }));
    round(sim, 1500);
    round(sim, 2000);
    expect(client(sim, 4)).toMatchObject({ points: 0, unvested: [{ step: 0, amount: 10 }, { step: 1, amount: 10 }] });
    round(sim, 2500, (author) => (author === 4 ? -800 : 500));
    // Step 0's points were due to vest at the end of step 2, but the strike comes first.
    expect(sim.effectsOf('forfeited')).toEqual([{ type: 'forfeited', clientId: cid(4), step: 2, amount: 20 }]);
    expect(client(sim, 4)).toMatchObject({ strikes: 1, status: 'member' });
    round(sim, 3000, (author) => (author === 4 ? -800 : 500));
    expect(sim.effectsOf('ejected')).toEqual([{ type: 'ejected', clientId: cid(4), step: 3, reason: expect.stringMatching(/^2 strikes/) }]);
    expect(client(sim, 4).status).toBe('ejected');
    expect(sim.state.round!.slots).not.toContain(cid(4));
    expect(sim.join(4, 3100)).toEqual([{ type: 'rejected', clientId: cid(4), event: 'join', reason: 'this key was ejected from the run' }]);
    // Honest clients were paid every round: each of steps 0–1 vested by now.
    expect(client(sim, 1).points + client(sim, 1).unvested.reduce((s, u) => s + u.amount, 0)).toBe(40);
  });
});

describe('the weight of new identities', () => {
  it('probation checksums do not count in the majority while any established client reported', () => {
    const config = rules({ probationRounds: 1 });
    const sim = started(2, config);
    round(sim, 1500);
    // Three fresh colluders report one false checksum: the two established clients are not told to resync.
    for (const n of [5, 6, 7]) sim.join(n, 1600);
    round(sim, 2000);
    round(sim, 2500, () => 500, (n) => (n >= 5 ? sum(9) : sum(1)));
    const resynced = sim.effectsOf('resync').map((e) => e.clientId);
    expect(resynced.sort()).toEqual([cid(5), cid(6), cid(7)]);
    expect(sim.effectsOf('resync')[0].checksum).toBe(sum(1));
  });

  it('probation scores do not count while an established verifier scored: two fresh colluders cannot fail an honest update or pass their own', () => {
    const sim = started(2, rules({ probationRounds: 1, sampleRate: 1 }));
    round(sim, 1500);
    for (const n of [5, 6]) sim.join(n, 1600);
    round(sim, 2000, (author) => (author >= 5 ? null : 500)); // the colluders' first round: nobody scores them, they are left out
    // The committees are [the other established client, 5, 6]; the colluders fail everyone else and pass each other.
    const colluders = (author: number, verifier: number) => (verifier >= 5 ? (author >= 5 ? 1000 : -1000) : author >= 5 ? -500 : 500);
    round(sim, 2500, colluders);
    const agreed = sim.effectsOf('agreed').find((a) => a.step === 2)!;
    expect(agreed.clients.sort()).toEqual([cid(1), cid(2)].sort());
    expect(agreed.excluded.map((x) => x.clientId).sort()).toEqual([cid(5), cid(6)].sort());
    for (const n of [1, 2]) expect(client(sim, n)).toMatchObject({ strikes: 0 });
    for (const n of [5, 6]) expect(client(sim, n).strikes).toBe(1);
    // The verdict still records every score reported.
    const v1 = sim.effectsOf('verdict').find((v) => v.step === 2 && v.clientId === cid(1))!;
    expect(v1).toMatchObject({ median: 500, pass: true });
    expect(v1.scores.map((x) => x.score).sort((a, b) => a - b)).toEqual([-1000, -1000, 500]);
  });

  it('with only new identities the plain majority counts (a young run)', () => {
    const sim = started(3);
    round(sim, 1500, () => 500, (n) => (n === 3 ? sum(2) : sum(1)));
    expect(sim.effectsOf('resync').map((e) => e.clientId)).toEqual([cid(3)]);
  });
});

describe('admitting newcomers', () => {
  // Ten established members with 8 proof units each: two newcomers (2 · 3 checks / 10 members = 0.6 units of 8) fit in 10 %.
  const budget = () => rules({ maxProbationShare: 0.1, maxStrikes: 3 }, { globalBatch: { start: 400, end: 400, warmupTokens: 0 }, initMinClients: 10 });
  const SWARM = 30;

  /** Ten members who passed probation, then a swarm of SWARM new keys (11..) joining at once. */
  function swarmed(): Sim {
    const sim = started(10, budget());
    round(sim, 1500);
    round(sim, 2000);
    expect([...Array(10)].every((_, i) => !onProbation(sim.config, client(sim, i + 1)))).toBe(true);
    for (let n = 11; n <= 10 + SWARM; n++) sim.join(n, 2100);
    return sim;
  }

  it('a swarm of new keys enters a few at a time: the established members’ probation checks stay within maxProbationShare of their training', () => {
    const sim = swarmed();
    const honest = (n: number) => n <= 10;
    let t = 2500;
    const entered = new Set<number>();
    while (sim.state.step < 100 && Object.values(sim.state.clients).some((c) => c.status === 'joining' || (c.status === 'member' && onProbation(sim.config, c)))) {
      const r = sim.state.round!;
      const newcomers = r.slots.filter((id) => onProbation(sim.config, sim.state.clients[id]));
      expect(newcomers.length).toBeLessThanOrEqual(2);
      for (const id of newcomers) entered.add(parseInt(id, 16));
      // Every swarm key fails: its update scores -500 from everyone.
      round(sim, t, (author) => (honest(author) ? 500 : -500));
      t += 500;
    }
    // Each key cheated maxStrikes rounds and is out; none was agreed or paid, and the established never lost a round.
    for (let n = 11; n <= 10 + SWARM; n++) {
      expect(client(sim, n)).toMatchObject({ status: 'ejected', agreedUpdates: 0, points: 0 });
    }
    expect(entered.size).toBe(SWARM);
    for (let n = 1; n <= 10; n++) expect(client(sim, n).agreedUpdates).toBe(sim.state.step);
  });

  it('the established members’ probation checks cost them at most maxProbationShare of their training', () => {
    const sim = swarmed();
    round(sim, 2500);
    const r = sim.state.round!;
    expect(r.slots.filter((id) => onProbation(sim.config, sim.state.clients[id]))).toHaveLength(2);
    for (const n of sim.present()) sim.commit(n, 3000, hash(7000 + n));
    sim.draw(3000);
    const load = new Map<string, number>();
    for (const c of sim.state.round!.checks!) for (const v of c.verifiers) load.set(v, (load.get(v) ?? 0) + 1);
    const established = r.slots.filter((id) => !onProbation(sim.config, sim.state.clients[id]));
    const units = established.map((id) => proofUnits(r.assignments[r.slots.indexOf(id)].count));
    const share = established.reduce((a, id) => a + (load.get(id) ?? 0), 0) / units.reduce((a, u) => a + u, 0);
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThanOrEqual(0.1);
  });

  it('with a swarm at the door, probation checks and sampling together stay within maxRecomputeShare of the members’ training', () => {
    const sim = started(10, rules({ maxProbationShare: 0.1, maxStrikes: 3, sampleRate: 1, maxRecomputeShare: 0.1 }, { globalBatch: { start: 400, end: 400, warmupTokens: 0 }, initMinClients: 10 }));
    round(sim, 1500);
    round(sim, 2000);
    for (let n = 11; n <= 10 + SWARM; n++) sim.join(n, 2100);
    round(sim, 2500);
    const r = sim.state.round!;
    expect(r.slots.filter((id) => onProbation(sim.config, sim.state.clients[id]))).toHaveLength(2);
    for (const n of sim.present()) sim.commit(n, 3000, hash(7000 + n));
    const committed = sim.state.round!;
    const established = r.slots.filter((id) => !onProbation(sim.config, sim.state.clients[id]));
    const units = established.reduce((a, id) => a + proofUnits(r.assignments[r.slots.indexOf(id)].count), 0);
    let load = 0;
    let sampled = 0;
    const draws = 400;
    for (let x = 0; x < draws; x++) {
      const checks = drawChecks(sim.config, sim.state, committed, (x + 1).toString(16).padStart(64, '0'));
      sampled += checks.filter((c) => !onProbation(sim.config, sim.state.clients[r.slots[c.slot]])).length;
      for (const c of checks) load += c.verifiers.filter((v) => established.includes(v)).length;
    }
    // Sampling still happens (what probation leaves of the share), and the whole costs at most the share on average.
    expect(sampled).toBeGreaterThan(0);
    expect(load / draws / units).toBeLessThanOrEqual(0.105);
    expect(load / draws / units).toBeGreaterThan(0.08);
  });

  it('with a time box, sizes the members’ units by what they trained in the round before, not by their shares', () => {
    const sim = swarmed();
    const r = sim.state.round!;
    expect(r.assignments.map((a) => a.count)).toEqual(Array(10).fill(40));
    // Ranges of 40 are 8 units of 5; reaching half of them is 4 units, so two newcomers' 6 checks over 10 members
    // would cost 0.15 of a member's training, over the 0.1: one enters. Over 8 units (0.075) two do.
    const half = { ...r, trained: r.assignments.map((a) => a.count / 2) };
    const boxed = { ...sim.config, trainTimeBox: 4000 };
    const seed = 'ab'.repeat(32);
    expect(admitProbation(boxed, sim.state, 400, seed, half)).toHaveLength(1);
    expect(admitProbation(boxed, sim.state, 400, seed, r)).toHaveLength(2);
    expect(admitProbation(boxed, sim.state, 400, seed)).toHaveLength(2);
    expect(admitProbation(sim.config, sim.state, 400, seed, half)).toHaveLength(2);
  });

  it('draws who enters from the round seed, not the join order, so keys queued first cannot keep an honest newcomer out', () => {
    const sim = swarmed();
    const firsts = new Set<string>();
    for (let x = 0; x < 200; x++) firsts.add(admitProbation(sim.config, sim.state, 400, x.toString(16).padStart(64, '0'))[0]);
    expect(firsts.size).toBeGreaterThan(SWARM / 2);
    expect(firsts.has(cid(10 + SWARM))).toBe(true);
  });

  it('always admits one newcomer at a time, all of them in a young run, and a returning client past probation at once', () => {
    const config = rules({ maxProbationShare: 0 }, { initMinClients: 3 });
    const young = new Sim(config);
    for (const n of [1, 2, 3, 4, 5]) young.join(n, 0);
    young.tick(config.warmupTime);
    expect(young.state.round!.slots).toHaveLength(5);

    const sim = started(3, config);
    round(sim, 1500);
    round(sim, 2000);
    for (const n of [7, 8, 9]) sim.join(n, 2100);
    sim.leave(3, 2100);
    round(sim, 2500);
    expect(sim.state.round!.slots.filter((id) => onProbation(config, sim.state.clients[id]))).toHaveLength(1);
    sim.join(3, 2600);
    round(sim, 3000);
    expect(sim.state.round!.slots).toContain(cid(3));
    // The newcomer inside is still on probation, so the other two wait.
    expect(Object.values(sim.state.clients).filter((c) => c.status === 'joining')).toHaveLength(2);
  });
});

describe('rejections', () => {
  it('refuses witnesses before the draw, scores for slots not assigned, a second draw and a draw in RoundTrain', () => {
    const sim = started(3);
    expect(sim.draw(1400)[0]).toMatchObject({ type: 'rejected', reason: 'no round is being witnessed (phase is RoundTrain)' });
    for (const n of [1, 2, 3]) sim.commit(n, 1500);
    expect(sim.send({ type: 'witness', clientId: cid(1), step: 0, held: '07', checksum: sum(1), scores: [], now: 1500 })[0]).toMatchObject({
      type: 'rejected',
      reason: 'the checks of round 0 are not drawn yet',
    });
    sim.draw(1500);
    expect(sim.draw(1500)[0]).toMatchObject({ type: 'rejected', reason: 'the checks of round 0 are drawn already' });
    expect(sim.witness(1, 1501, '07', sum(1), [{ slot: 0, score: 900 }])[0]).toMatchObject({ type: 'rejected', reason: expect.stringMatching(/slot 0, which you were not assigned/) });
    const mine = sim.state.round!.checks!.find((c) => c.verifiers.includes(cid(1)))!;
    expect(sim.witness(1, 1501, '07', sum(1), [{ slot: mine.slot, score: 1 }, { slot: mine.slot, score: 2 }])[0]).toMatchObject({ type: 'rejected', reason: expect.stringMatching(/two scores/) });
    expect(sim.witness(1, 1501, '07', sum(1), [{ slot: mine.slot, score: 1001 }])[0]).toMatchObject({ type: 'rejected', reason: expect.stringMatching(/^invalid event: scores/) });
  });

  it('lowerMedian takes the lower middle', () => {
    expect(lowerMedian([5])).toBe(5);
    expect(lowerMedian([9, 1])).toBe(1);
    expect(lowerMedian([3, -2, 7])).toBe(3);
    expect(lowerMedian([4, 1, 3, 2])).toBe(2);
  });
});
