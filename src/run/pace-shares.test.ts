import { describe, expect, it } from 'vitest';
import { BOX_HEADROOM, FIRST_BOX_RANGE, boxedCounts, paceCounts, paceSample, recordPace, splitByWeight } from './pace-shares';
import { Sim, allHeld, cid, testConfig } from './test-helpers';
import type { ClientRecord, Round } from './types';

function client(n: number, pace: number | null, verifiedRounds = 5): ClientRecord {
  return { id: cid(n), status: 'member', joinSeq: n, missedRounds: 0, points: 0, agreedUpdates: 0, verifiedRounds, strikes: 0, contradictions: 0, unvested: [], forfeited: 0, pace };
}

describe('splitByWeight', () => {
  it('splits in proportion, sums to the total, and gives ties to the lower index', () => {
    expect(splitByWeight(24, [3, 2, 1], [24, 24, 24])).toEqual([12, 8, 4]);
    expect(splitByWeight(10, [1, 1, 1], [10, 10, 10])).toEqual([4, 3, 3]);
    expect(splitByWeight(7, [1, 1], [7, 7])).toEqual([4, 3]);
  });

  it('gives every part at least one while the total allows, even at a tiny weight', () => {
    expect(splitByWeight(8, [1000, 1, 1], [8, 8, 8])).toEqual([6, 1, 1]);
    expect(splitByWeight(2, [1, 5, 1], [2, 2, 2])).toEqual([0, 2, 0]);
  });

  it('holds every part to its cap and gives what that frees to the others by weight', () => {
    const counts = splitByWeight(30, [10, 1, 1], [10, 30, 30]);
    expect(counts).toEqual([10, 10, 10]);
    expect(splitByWeight(30, [10, 2, 1], [6, 30, 30])).toEqual([6, 16, 8]);
  });

  it('always sums to the total within the caps, over random inputs', () => {
    let seed = 1;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let t = 0; t < 500; t++) {
      const n = 1 + Math.floor(rand() * 8);
      const total = Math.floor(rand() * 40);
      const weights = Array.from({ length: n }, () => 1 + Math.floor(rand() * 5000));
      const caps = weights.map(() => (rand() < 0.3 ? Math.ceil(total / n) : total));
      const counts = splitByWeight(total, weights, caps);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(total);
      counts.forEach((c, i) => expect(c).toBeLessThanOrEqual(Math.max(caps[i], total >= n ? 1 : 0)));
      if (total >= n) expect(Math.min(...counts)).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('paceCounts', () => {
  const config = testConfig({ shareByPace: true, verification: { probationRounds: 2 } });

  it('sizes shares by pace, the unmeasured at the median of the measured', () => {
    expect(paceCounts(config, [client(1, 3000), client(2, 1000), client(3, null)], 24)).toEqual([12, 4, 8]);
  });

  it('splits equally while nobody is measured', () => {
    expect(paceCounts(config, [client(1, null), client(2, null), client(3, null)], 24)).toEqual([8, 8, 8]);
  });

  it('never gives a client on probation more than the equal share', () => {
    // A new key that committed garbage at once would otherwise take most of the batch.
    expect(paceCounts(config, [client(1, 1000), client(2, 1000), client(3, 100_000, 0)], 24)).toEqual([8, 8, 8]);
    expect(paceCounts(config, [client(1, 1000), client(2, 3000), client(3, 100_000, 0)], 24)).toEqual([4, 12, 8]);
  });
});

describe('boxedCounts', () => {
  const config = testConfig({ trainTimeBox: 4000, shareByPace: true });

  it('holds each measured range to the headroom over what its member reaches in a box, at least one', () => {
    // 10, 2.5 and 0.1 sequences a second: 40, 10 and 0.4 in 4 s, times 2.
    const members = [client(1, 10_000), client(2, 2_500), client(3, 100)];
    expect(BOX_HEADROOM).toBe(2);
    expect(boxedCounts(config, members, [300, 80, 20])).toEqual([80, 20, 1]);
  });

  it('at least doubles the range of a member that trained its whole range in the round before, within its share', () => {
    const members = [client(1, 1_000), client(2, 1_000), client(3, 1_000)];
    // 1 sequence a second reaches 8 in a box with the headroom; members 1 and 3 trained all 10 of theirs last round.
    const last = { slots: members.map((m) => m.id), assignments: [{ start: 0, count: 10 }, { start: 10, count: 10 }, { start: 20, count: 10 }], trained: [10, 7, 10] } as unknown as Round;
    expect(boxedCounts(config, members, [100, 100, 15], last)).toEqual([20, 8, 15]);
  });

  it('never raises a share, and holds ranges to FIRST_BOX_RANGE while none is measured, doubling one trained whole', () => {
    expect(boxedCounts(config, [client(1, 10_000), client(2, 1_000)], [30, 200])).toEqual([30, 8]);
    expect(FIRST_BOX_RANGE).toBe(64);
    expect(boxedCounts(config, [client(1, null), client(2, null)], [300, 40])).toEqual([64, 40]);
    const members = [client(1, null), client(2, null)];
    const last = { slots: members.map((m) => m.id), assignments: [{ start: 0, count: 64 }, { start: 64, count: 64 }], trained: [64, 30] } as unknown as Round;
    expect(boxedCounts(config, members, [300, 300], last)).toEqual([128, 64]);
  });

  it('holds a member not measured yet as if it had the median pace of those that are', () => {
    // Median of 1, 2 and 10 sequences a second is 2: 16 in a box with the headroom. A late joiner given a quarter of
    // a batch nobody reaches would otherwise train a sliver of it and have proof units as long as its whole training.
    const members = [client(1, 1_000), client(2, 2_000), client(3, 10_000), client(4, null)];
    expect(boxedCounts(config, members, [100, 100, 100, 100])).toEqual([8, 16, 80, 16]);
    expect(boxedCounts(config, members, [100, 100, 100, 10])).toEqual([8, 16, 80, 10]);
  });
});

describe('recordPace', () => {
  const round = { startedAt: 1000, assignments: [{ start: 0, count: 8 }, { start: 8, count: 0 }], trained: [8, 0] } as unknown as Round;

  it('measures sequences per second from the round start, then averages half and half', () => {
    const c = client(1, null);
    recordPace(c, round, 0, 3000);
    expect(c.pace).toBe(paceSample(8, 2000));
    expect(c.pace).toBe(4000);
    recordPace(c, round, 0, 9000);
    expect(c.pace).toBe(Math.round((4000 + 1000) / 2));
  });

  it('counts the sequences the commit trained, not the assignment (a time-boxed member that stopped early)', () => {
    const c = client(1, null);
    recordPace(c, { ...round, trained: [3, 0] }, 0, 3000);
    expect(c.pace).toBe(paceSample(3, 2000));
  });

  it('learns nothing from a slot with no sequences, and never reaches zero', () => {
    const c = client(1, null);
    recordPace(c, round, 1, 3000);
    expect(c.pace).toBeNull();
    recordPace(c, round, 0, 1000 + 3_600_000 * 10);
    expect(c.pace).toBe(1);
  });
});

/**
 * Members of fixed speeds (sequences per second) driven through the real
 * state machine, each committing when its share would be trained: the share
 * of the wall time each spends training, after the first rounds.
 */
function busyShares(shareByPace: boolean, speeds: number[], rounds = 30, warmup = 5): number[] {
  const sim = new Sim(testConfig({ shareByPace, globalBatch: { start: 48, end: 48, warmupTokens: 0 } }));
  speeds.forEach((_, i) => sim.join(i + 1, 0));
  sim.tick(sim.config.warmupTime);
  const busy = speeds.map(() => 0);
  let wall = 0;
  for (let r = 0; r < rounds; r++) {
    const round = sim.state.round!;
    const done = speeds.map((v, i) => ({ n: i + 1, at: round.startedAt + Math.round((round.assignments[i].count / v) * 1000) }));
    for (const { n, at } of [...done].sort((a, b) => a.at - b.at)) sim.commit(n, at);
    const closed = Math.max(...done.map((d) => d.at));
    for (const { n } of done) sim.witness(n, closed + 1, allHeld(speeds.length));
    if (r < warmup) continue;
    done.forEach((d, i) => (busy[i] += d.at - round.startedAt));
    wall += sim.state.round!.startedAt - round.startedAt;
  }
  return busy.map((b) => b / wall);
}

describe('shares by pace, in a run of members of unequal speed', () => {
  const speeds = [40, 20, 10];

  it('keeps every member training at least 95 % of the time, where equal shares leave the fast ones idle', () => {
    const equal = busyShares(false, speeds);
    const byPace = busyShares(true, speeds);
    expect(equal[0]).toBeLessThan(0.3);
    expect(equal[2]).toBeGreaterThan(0.99);
    for (const share of byPace) expect(share).toBeGreaterThanOrEqual(0.95);
  });
});
