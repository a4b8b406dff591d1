import { describe, expect, it } from 'vitest';
import { assignRanges, roundSeed } from './assignment';
import { globalBatchSize } from './batch-size';
import { encodeBitmap } from './bitmap';
import { lrBits } from './learning-rate';
import { agreedSlots, createRunState, majorityChecksum, step } from './state-machine';
import { Sim, allHeld, cid, deepFreeze, hash, sum, testConfig } from './test-helpers';
import type { Phase, RunConfig, RunEvent } from './types';

/** Clients 1..n join at t=0; warmup ends at t=1000 with round 0 started. */
function inRound(n: number, config: RunConfig = testConfig()): Sim {
  const sim = new Sim(config);
  for (let i = 1; i <= n; i++) sim.join(i, 0);
  sim.tick(config.warmupTime);
  expect(sim.state.phase).toBe('RoundTrain');
  return sim;
}

/** Every present member commits at t, then witnesses holding everything at t+1. */
function fullRound(sim: Sim, t: number): void {
  const who = sim.present();
  const slots = sim.state.round!.slots.length;
  for (const n of who) sim.commit(n, t);
  expect(sim.state.phase).toBe('RoundWitness');
  for (const n of who) sim.witness(n, t + 1, allHeld(slots));
}

const phases = (sim: Sim) => sim.effectsOf('phase').map((e) => `${e.from}>${e.to}`);

describe('createRunState', () => {
  it('starts waiting for members in epoch 0 at step 0', () => {
    const s = createRunState(testConfig(), 42);
    expect(s).toMatchObject({ version: 2, phase: 'WaitingForMembers', phaseStartedAt: 42, epoch: 0, step: 0, dataCursor: 0, round: null, clients: {} });
  });
});

describe('waiting and warmup', () => {
  it('WaitingForMembers → Warmup at initMinClients in the first epoch', () => {
    const sim = new Sim(testConfig({ initMinClients: 3 }));
    sim.join(1, 10);
    sim.join(2, 20);
    expect(sim.state.phase).toBe('WaitingForMembers');
    expect(sim.effects).toEqual([]);
    sim.join(3, 30);
    expect(sim.state.phase).toBe('Warmup');
    expect(sim.state.phaseStartedAt).toBe(30);
    expect(sim.effects).toEqual([{ type: 'phase', from: 'WaitingForMembers', to: 'Warmup', step: 0, epoch: 0 }]);
  });

  it('Warmup → RoundTrain after warmupTime, joiners becoming members in join order', () => {
    const sim = new Sim(testConfig());
    sim.join(9, 0);
    sim.join(4, 5);
    sim.tick(999 + 5);
    expect(sim.state.phase).toBe('Warmup');
    sim.tick(1005);
    expect(sim.state.phase).toBe('RoundTrain');
    expect(phases(sim)).toEqual(['Warmup>RoundTrain']);
    const round = sim.state.round!;
    expect(round.slots).toEqual([cid(9), cid(4)]);
    expect(sim.state.clients[cid(4)].status).toBe('member');
    expect(sim.effectsOf('roundStarted')).toEqual([{ type: 'roundStarted', round }]);
    expect(round).toMatchObject({ step: 0, seed: roundSeed(sim.config.runId, 0), startedAt: 1005, commitments: [null, null], witnesses: [null, null] });
    expect(round.lrBits).toBe(lrBits(sim.config, 0));
    expect(round.assignments).toEqual(assignRanges(2, 8, 0, round.seed));
  });

  it('Warmup → WaitingForMembers when clients leave, and warms up afresh', () => {
    const sim = new Sim(testConfig());
    sim.join(1, 0);
    sim.join(2, 0);
    sim.leave(2, 400);
    expect(sim.state.phase).toBe('WaitingForMembers');
    expect(phases(sim)).toEqual(['Warmup>WaitingForMembers']);
    sim.join(3, 600);
    expect(sim.state.phase).toBe('Warmup');
    sim.tick(1000); // the old warmup's deadline
    expect(sim.state.phase).toBe('Warmup');
    sim.tick(1600);
    expect(sim.state.phase).toBe('RoundTrain');
    expect(sim.state.round!.slots).toEqual([cid(1), cid(3)]);
  });

  it('after the first epoch, minClients is enough to warm up', () => {
    const sim = inRound(2, testConfig({ initMinClients: 2, minClients: 1, epochTime: 5000 }));
    fullRound(sim, 6000);
    expect(sim.state.phase).toBe('Cooldown');
    sim.leave(1, 6100);
    sim.leave(2, 6100);
    sim.tick(6501);
    expect(sim.state.phase).toBe('WaitingForMembers');
    expect(sim.state.epoch).toBe(1);
    sim.join(3, 7000);
    expect(sim.state.phase).toBe('Warmup');
  });
});

describe('rounds', () => {
  it('RoundTrain → RoundWitness once every present member committed', () => {
    const sim = inRound(2);
    sim.commit(1, 2000);
    expect(sim.state.phase).toBe('RoundTrain');
    expect(sim.state.round!.commitments).toEqual([hash(1), null]);
    sim.commit(2, 2100);
    expect(sim.state.phase).toBe('RoundWitness');
    expect(sim.effects).toEqual([{ type: 'phase', from: 'RoundTrain', to: 'RoundWitness', step: 0, epoch: 0 }]);
    expect(sim.state.phaseStartedAt).toBe(2100);
  });

  it('RoundTrain → RoundWitness at maxRoundTrainTime', () => {
    const sim = inRound(2);
    sim.commit(1, 2000);
    sim.tick(1000 + 9999);
    expect(sim.state.phase).toBe('RoundTrain');
    sim.tick(1000 + 10_000);
    expect(sim.state.phase).toBe('RoundWitness');
    expect(sim.state.round!.commitments).toEqual([hash(1), null]);
  });

  it('RoundWitness → next RoundTrain once every present member witnessed', () => {
    const sim = inRound(2);
    sim.commit(1, 2000);
    sim.commit(2, 2000);
    sim.witness(1, 2500, '03');
    expect(sim.state.phase).toBe('RoundWitness');
    sim.witness(2, 2600, '03');
    expect(sim.state.phase).toBe('RoundTrain');
    expect(sim.effects.map((e) => e.type)).toEqual(['agreed', 'points', 'points', 'phase', 'roundStarted']);
    expect(sim.effectsOf('agreed')[0]).toEqual({ type: 'agreed', step: 0, epoch: 0, slots: [0, 1], clients: [cid(1), cid(2)], hashes: [hash(1), hash(2)], lrBits: lrBits(sim.config, 0), excluded: [], checksum: sum(1), base: 0 });
    expect(sim.state).toMatchObject({ step: 1, dataCursor: 8, tokensSeen: 8 * 64 });
    const next = sim.state.round!;
    expect(next.step).toBe(1);
    expect(next.seed).toBe(roundSeed(sim.config.runId, 1));
    expect(next.assignments).toEqual(assignRanges(2, 8, 8, next.seed));
  });

  it('RoundWitness ends at roundWitnessTime with the reports it has', () => {
    const sim = inRound(3);
    for (const n of [1, 2, 3]) sim.commit(n, 2000);
    sim.witness(1, 2100, '07');
    sim.witness(2, 2100, '07');
    sim.tick(2000 + 4999);
    expect(sim.state.phase).toBe('RoundWitness');
    sim.tick(2000 + 5000);
    expect(sim.state.phase).toBe('RoundTrain');
    // 2 reports: quorum ⌈2/3·2⌉ = 2, every slot held by both.
    expect(sim.effectsOf('agreed')[0].slots).toEqual([0, 1, 2]);
  });

  it('→ Cooldown at epochTime with epochEnd; Cooldown → RoundTrain in epoch + 1', () => {
    const sim = inRound(2, testConfig({ epochTime: 3000 }));
    fullRound(sim, 1500); // epoch started at 1000: 501 ms old
    expect(sim.state.phase).toBe('RoundTrain');
    fullRound(sim, 4000);
    expect(sim.state.phase).toBe('Cooldown');
    expect(sim.effects.slice(-2)).toEqual([
      { type: 'phase', from: 'RoundWitness', to: 'Cooldown', step: 2, epoch: 0 },
      { type: 'epochEnd', epoch: 0, step: 2 },
    ]);
    expect(sim.state.round).toBeNull();
    sim.tick(4001 + 499);
    expect(sim.state.phase).toBe('Cooldown');
    sim.tick(4001 + 500);
    expect(sim.state).toMatchObject({ phase: 'RoundTrain', epoch: 1, epochStartStep: 2, epochStartedAt: 4501, step: 2 });
    expect(sim.state.round!.step).toBe(2);
  });

  it('Cooldown → WaitingForMembers when too few remain', () => {
    const sim = inRound(2, testConfig({ epochTime: 0, minClients: 2 }));
    fullRound(sim, 1500);
    expect(sim.state.phase).toBe('Cooldown');
    sim.leave(2, 1600);
    sim.tick(2001);
    expect(sim.state).toMatchObject({ phase: 'WaitingForMembers', epoch: 1, epochStartStep: 1 });
  });

  it('RoundWitness → WaitingForMembers when fewer than minClients remain', () => {
    const sim = inRound(2, testConfig({ minClients: 2 }));
    sim.leave(2, 1500);
    sim.commit(1, 2000);
    expect(sim.state.phase).toBe('RoundWitness');
    sim.witness(1, 2100, '01');
    expect(sim.state.phase).toBe('WaitingForMembers');
    expect(sim.state.step).toBe(1);
    sim.join(3, 3000);
    expect(sim.state.phase).toBe('Warmup');
  });

  it('→ Finished at totalSteps, after which clients can no longer act', () => {
    const sim = inRound(2, testConfig({ totalSteps: 2 }));
    fullRound(sim, 2000);
    fullRound(sim, 3000);
    expect(sim.state.phase).toBe('Finished');
    expect(sim.effects.slice(-2)).toEqual([
      { type: 'phase', from: 'RoundWitness', to: 'Finished', step: 2, epoch: 0 },
      { type: 'finished', step: 2 },
    ]);
    expect(sim.join(5, 4000)).toEqual([{ type: 'rejected', clientId: cid(5), event: 'join', reason: 'the run is finished' }]);
    expect(sim.send({ type: 'pause', now: 4000 })[0]).toMatchObject({ type: 'rejected', reason: 'the run is finished' });
    expect(sim.tick(1e9)).toEqual([]);
    expect(sim.state.phase).toBe('Finished');
  });

  it('a join mid-round waits for the next round start', () => {
    const sim = inRound(2);
    sim.join(3, 1500);
    expect(sim.state.clients[cid(3)].status).toBe('joining');
    expect(sim.commit(3, 1600)[0]).toMatchObject({ type: 'rejected', reason: 'not a member of round 0' });
    fullRound(sim, 2000);
    expect(sim.state.round!.slots).toEqual([cid(1), cid(2), cid(3)]);
    expect(sim.state.clients[cid(3)].status).toBe('member');
  });

  it('a leave mid-round empties the slot, and the round goes on without it', () => {
    const sim = inRound(3);
    sim.commit(2, 1500);
    sim.leave(2, 1600);
    expect(sim.state.round!.slots).toEqual([cid(1), cid(2), cid(3)]);
    expect(sim.state.clients[cid(2)].status).toBe('gone');
    sim.commit(1, 1700);
    sim.commit(3, 1700);
    expect(sim.state.phase).toBe('RoundWitness');
    expect(sim.witness(2, 1800, '07')[0]).toMatchObject({ type: 'rejected', reason: 'not a member of round 0' });
    sim.witness(1, 1800, '07');
    sim.witness(3, 1800, '07');
    // Slot 1 (the leaver) was committed and is held by both reports: it is agreed and its author paid.
    expect(sim.effectsOf('agreed')[0].slots).toEqual([0, 1, 2]);
    expect(sim.state.clients[cid(2)].points).toBe(10);
    expect(sim.state.round!.slots).toEqual([cid(1), cid(3)]);
  });

  it('a round whose members all left ends at once with nothing agreed', () => {
    const sim = inRound(2);
    sim.leave(1, 1500);
    sim.leave(2, 1600);
    expect(sim.state).toMatchObject({ phase: 'WaitingForMembers', step: 1, dataCursor: 8 });
    expect(sim.effectsOf('agreed')[0].slots).toEqual([]);
  });

  it('an empty agreed set still advances step and data cursor', () => {
    const sim = inRound(2);
    sim.tick(11_000);
    expect(sim.state.phase).toBe('RoundWitness');
    sim.tick(16_000);
    expect(sim.effectsOf('agreed')[0]).toMatchObject({ slots: [], hashes: [], clients: [] });
    expect(sim.effectsOf('points')).toEqual([]);
    expect(sim.state).toMatchObject({ phase: 'RoundTrain', step: 1, dataCursor: 8 });
    expect(sim.state.round!.assignments.map((a) => a.start).sort((a, b) => a - b)[0]).toBe(8);
  });

  it('the batch ramps with the tokens seen and assignments cover [cursor, cursor + B)', () => {
    const config = testConfig({ seqLen: 16, globalBatch: { start: 2, end: 10, warmupTokens: 16 * 20 } });
    const sim = inRound(3, config);
    const sizes: number[] = [];
    for (let r = 0; r < 8; r++) {
      const { round, dataCursor, tokensSeen } = sim.state;
      const batch = globalBatchSize(config.globalBatch, tokensSeen);
      sizes.push(batch);
      const covered = round!.assignments.flatMap((a) => Array.from({ length: a.count }, (_, i) => a.start + i)).sort((a, b) => a - b);
      expect(covered).toEqual(Array.from({ length: batch }, (_, i) => dataCursor + i));
      expect(round!.lrBits).toBe(lrBits(config, r));
      fullRound(sim, 2000 + r * 100);
      expect(sim.state.dataCursor).toBe(dataCursor + batch);
      expect(sim.state.tokensSeen).toBe(tokensSeen + batch * 16);
    }
    // tokens 0, 32, 80, 144, 240, 368: 2 + 8·tokens/320 rounded, then the end size
    expect(sizes).toEqual([2, 3, 4, 6, 8, 10, 10, 10]);
  });
});

describe('shares by pace', () => {
  const byPace = testConfig({ shareByPace: true, globalBatch: { start: 24, end: 24, warmupTokens: 0 } });

  it('the next round sizes each share by the pace of its commits, on the coordinator clock, and points follow the share', () => {
    const sim = inRound(3, byPace);
    const r0 = sim.state.round!;
    expect(r0.assignments.map((a) => a.count)).toEqual([8, 8, 8]);
    // 8 sequences in 1 s, 2 s and 4 s.
    sim.commit(1, r0.startedAt + 1000);
    sim.commit(2, r0.startedAt + 2000);
    sim.commit(3, r0.startedAt + 4000);
    expect([1, 2, 3].map((n) => sim.state.clients[cid(n)].pace)).toEqual([8000, 4000, 2000]);
    for (const n of [1, 2, 3]) sim.witness(n, r0.startedAt + 4100, allHeld(3));
    // Equal shares: the usual points.
    expect([1, 2, 3].map((n) => sim.state.clients[cid(n)].points)).toEqual([10, 10, 10]);

    const r1 = sim.state.round!;
    // 24 as 4 : 2 : 1 is 13.7, 6.9, 3.4: the floors, then the largest remainders.
    expect(r1.assignments.map((a) => a.count)).toEqual([14, 7, 3]);
    expect(r1.assignments).toEqual(assignRanges(3, 24, 24, r1.seed, [14, 7, 3]));
    fullRound(sim, r1.startedAt + 3000);
    // 10 · count / (24 / 3), rounded.
    expect([1, 2, 3].map((n) => sim.state.clients[cid(n)].points)).toEqual([10 + 18, 10 + 9, 10 + 4]);
  });

  it('a member that slows down loses sequences to the others within a round or two', () => {
    const sim = inRound(2, byPace);
    fullRound(sim, sim.state.round!.startedAt + 1000);
    expect(sim.state.round!.assignments.map((a) => a.count)).toEqual([12, 12]);
    // Member 2 now takes four times as long for its 12 sequences.
    const r1 = sim.state.round!;
    sim.commit(1, r1.startedAt + 1000);
    sim.commit(2, r1.startedAt + 4000);
    for (const n of [1, 2]) sim.witness(n, r1.startedAt + 4100, allHeld(2));
    const counts = sim.state.round!.assignments.map((a) => a.count);
    expect(counts[0]).toBeGreaterThan(counts[1]);
    expect(counts[0] + counts[1]).toBe(24);
  });

  it('a key that leaves and returns is measured afresh', () => {
    const sim = inRound(3, byPace);
    fullRound(sim, sim.state.round!.startedAt + 1000);
    expect(sim.state.clients[cid(3)].pace).not.toBeNull();
    sim.leave(3, sim.state.round!.startedAt + 10);
    sim.join(3, sim.state.round!.startedAt + 20);
    expect(sim.state.clients[cid(3)].pace).toBeNull();
  });

  it('off (the default): equal shares and pointsPerUpdate whatever the pace', () => {
    const sim = inRound(3, testConfig({ globalBatch: { start: 24, end: 24, warmupTokens: 0 } }));
    const r0 = sim.state.round!;
    sim.commit(1, r0.startedAt + 100);
    sim.commit(2, r0.startedAt + 200);
    sim.commit(3, r0.startedAt + 9000);
    for (const n of [1, 2, 3]) sim.witness(n, r0.startedAt + 9100, allHeld(3));
    expect(sim.state.round!.assignments.map((a) => a.count)).toEqual([8, 8, 8]);
    expect([1, 2, 3].map((n) => sim.state.clients[cid(n)].pace)).toEqual([null, null, null]);
    expect([1, 2, 3].map((n) => sim.state.clients[cid(n)].points)).toEqual([10, 10, 10]);
  });
});

describe('time boxes', () => {
  const boxed = testConfig({ trainTimeBox: 2000, shareByPace: true, globalBatch: { start: 24, end: 24, warmupTokens: 0 } });

  it('a member commits what it trained of its range; tokens and points follow the trained sequences, the cursor the whole ranges', () => {
    const sim = inRound(3, boxed);
    const r0 = sim.state.round!;
    const cursor = sim.state.dataCursor;
    const tokens = sim.state.tokensSeen;
    expect(r0.assignments.map((a) => a.count)).toEqual([8, 8, 8]);
    // All three commit as the box ends, having reached 8, 4 and 2 of their 8 sequences.
    sim.commitCount(1, r0.startedAt + 2100, 8);
    sim.commitCount(2, r0.startedAt + 2100, 4);
    sim.commitCount(3, r0.startedAt + 2100, 2);
    expect(sim.state.round!.trained).toEqual([8, 4, 2]);
    for (const n of [1, 2, 3]) sim.witness(n, r0.startedAt + 2200, allHeld(3));
    expect(sim.state.dataCursor).toBe(cursor + 24);
    expect(sim.state.tokensSeen).toBe(tokens + 14 * boxed.seqLen);
    // 10 · trained / the round's mean of 14 / 3, rounded.
    expect([1, 2, 3].map((n) => sim.state.clients[cid(n)].points)).toEqual([17, 9, 4]);
    // The paces count the trained sequences, so the next ranges follow them (24 as 4 : 2 : 1 is 14, 7, 3), each held
    // to twice what its member reaches in the box at its pace (8, 4 and 2 in 2.1 s: 15.2, 7.6 and 3.8 in 2 s), member
    // 1's at least twice its last range too (it trained all of it, so it stopped early), within its 14.
    const r1 = sim.state.round!;
    expect(r1.assignments.map((a) => a.count)).toEqual([14, 7, 3]);
    expect(r1.assignments).toEqual(assignRanges(3, 24, cursor + 24, r1.seed, [14, 7, 3]));
  });

  it('the proof units a check draws are those of the trained part of the range', () => {
    const config = testConfig({ trainTimeBox: 2000, globalBatch: { start: 32, end: 32, warmupTokens: 0 }, verification: { probationRounds: 0, vestingRounds: 0, sampleRate: 1, verifiers: 1, maxRecomputeShare: 10 } });
    const sim = inRound(2, config);
    const r0 = sim.state.round!;
    expect(r0.assignments.map((a) => a.count)).toEqual([16, 16]);
    // Units of unitSizeFor(16) = 2 sequences: 3 sequences are 2 units, 16 are 8.
    sim.commitCount(1, r0.startedAt + 2100, 3);
    sim.commitCount(2, r0.startedAt + 2100, 16);
    sim.draw(r0.startedAt + 2100);
    const units = new Map(sim.state.round!.checks!.map((c) => [c.slot, c.units]));
    expect(units.get(0)!.every((u) => u >= 0 && u < 2)).toBe(true);
    expect(units.get(1)!.every((u) => u >= 0 && u < 8)).toBe(true);
  });

  it('refuses a count beyond the assignment or below one, and without a time box anything but the whole assignment', () => {
    const sim = inRound(2, boxed);
    const t = sim.state.round!.startedAt + 100;
    const assigned = sim.state.round!.assignments[0].count;
    for (const count of [0, assigned + 1, 1.5]) {
      expect(sim.commitCount(1, t, count)).toEqual([expect.objectContaining({ type: 'rejected', event: 'commit' })]);
    }
    expect(sim.state.round!.commitments[0]).toBeNull();
    const strict = inRound(2, testConfig({ globalBatch: { start: 24, end: 24, warmupTokens: 0 } }));
    const [e] = strict.commitCount(1, strict.state.round!.startedAt + 100, 5);
    expect(e).toMatchObject({ type: 'rejected', reason: expect.stringContaining('without a time box') });
    strict.commitCount(1, strict.state.round!.startedAt + 100, 12);
    expect(strict.state.round!.trained[0]).toBe(12);
  });

  it('must end before the round train time does', () => {
    expect(() => testConfig({ trainTimeBox: 10_000, maxRoundTrainTime: 10_000 })).toThrow(/trainTimeBox/);
  });
});

describe('pipelined rounds', () => {
  const pipelined = (over: Parameters<typeof testConfig>[0] = {}) => testConfig({ pipelined: true, ...over });

  it('the next round starts when commits close, trains one round stale, and the round before is witnessed beside it', () => {
    const sim = inRound(2, pipelined());
    expect(sim.state.round).toMatchObject({ step: 0, base: 0, closedAt: null });
    sim.commit(1, 2000);
    sim.commit(2, 2100);
    // No RoundWitness phase: round 1 trains while round 0 is witnessed.
    expect(sim.state.phase).toBe('RoundTrain');
    expect(sim.effects.map((e) => e.type)).toEqual(['phase', 'roundStarted']);
    expect(sim.state.step).toBe(1);
    expect(sim.state.witnessing).toMatchObject({ step: 0, closedAt: 2100, checks: null });
    const r1 = sim.state.round!;
    expect(r1).toMatchObject({ step: 1, base: 0, startedAt: 2100 });
    // Round 0's sequences are taken: round 1's follow them although round 0 has not ended.
    expect(r1.assignments).toEqual(assignRanges(2, 8, 8, r1.seed));
    expect(sim.state).toMatchObject({ dataCursor: 0, tokensSeen: 0 });

    // Round 1's commits and round 0's witnesses interleave.
    sim.commit(1, 2200);
    sim.witness(1, 2300, '03');
    expect(sim.state.witnessing!.checks).not.toBeNull();
    sim.witness(2, 2400, '03', sum(1));
    expect(sim.effectsOf('agreed')).toEqual([{ type: 'agreed', step: 0, epoch: 0, slots: [0, 1], clients: [cid(1), cid(2)], hashes: [hash(1), hash(2)], lrBits: lrBits(sim.config, 0), excluded: [], checksum: sum(1), base: 0 }]);
    expect(sim.state.witnessing).toBeNull();
    expect(sim.state).toMatchObject({ phase: 'RoundTrain', step: 1, dataCursor: 8, tokensSeen: 8 * 64 });

    // Round 1 closes at its last commit; round 2 trains from the parameters after round 0.
    sim.commit(2, 2500);
    expect(sim.state.witnessing!.step).toBe(1);
    expect(sim.state.round).toMatchObject({ step: 2, base: 1 });
    expect(sim.state.round!.assignments).toEqual(assignRanges(2, 8, 16, sim.state.round!.seed));
  });

  it('a round whose commits are in waits for the round before to end, so at most two are in flight', () => {
    const sim = inRound(2, pipelined());
    sim.commit(1, 2000);
    sim.commit(2, 2000);
    sim.commit(1, 2100);
    sim.commit(2, 2200);
    expect(sim.state).toMatchObject({ step: 1, witnessing: { step: 0 } });
    sim.witness(1, 2300, '03');
    expect(sim.state.step).toBe(1);
    // The last witness of round 0 ends it, and round 1 (all committed) closes in the same step.
    sim.witness(2, 2400, '03');
    expect(sim.effects.map((e) => e.type)).toEqual(['agreed', 'points', 'points', 'phase', 'roundStarted']);
    expect(sim.state).toMatchObject({ step: 2, witnessing: { step: 1, closedAt: 2400 }, round: { step: 2, base: 1 } });
  });

  it('the round before ends at roundWitnessTime after its commits closed, with the reports it has', () => {
    const sim = inRound(3, pipelined());
    for (const n of [1, 2, 3]) sim.commit(n, 2000);
    sim.witness(1, 2100, '07');
    sim.witness(2, 2100, '07');
    sim.tick(2000 + sim.config.roundWitnessTime - 1);
    expect(sim.state.witnessing).not.toBeNull();
    sim.tick(2000 + sim.config.roundWitnessTime);
    expect(sim.state.witnessing).toBeNull();
    expect(sim.effectsOf('agreed')[0]).toMatchObject({ step: 0, slots: [0, 1, 2] });
    // Round 1's train clock ran meanwhile, from its own start.
    expect(sim.state.round).toMatchObject({ step: 1, startedAt: 2000 });
  });

  it('the train timeout of a round waits for the round before it, whose own timeout bounds the wait', () => {
    const config = pipelined({ maxRoundTrainTime: 1000, roundWitnessTime: 5000 });
    const sim = inRound(2, config);
    sim.commit(1, 1100);
    sim.commit(2, 1100);
    sim.tick(1100 + 1000);
    expect(sim.state).toMatchObject({ step: 1, witnessing: { step: 0 } });
    sim.tick(1100 + 5000);
    // Round 0 ended by its timeout; round 1, past its train time, closes at the next tick (one timeout a tick).
    expect(sim.state.witnessing).toBeNull();
    sim.tick(1100 + 5001);
    expect(sim.state).toMatchObject({ step: 2, witnessing: { step: 1 }, round: { step: 2, base: 1 } });
  });

  it('the last round of an epoch is witnessed alone; the next epoch starts from every round', () => {
    const config = pipelined({ epochTime: 5000 });
    const sim = inRound(2, config);
    sim.commit(1, 2000);
    sim.commit(2, 2000);
    sim.witness(1, 2100, '03');
    sim.witness(2, 2100, '03');
    // The epoch's time is up when round 1 closes: no round 2 beside it.
    sim.commit(1, 6500);
    sim.commit(2, 6500);
    expect(sim.state).toMatchObject({ phase: 'RoundWitness', step: 1, witnessing: null, round: { step: 1, base: 0 } });
    sim.witness(1, 6600, '03');
    sim.witness(2, 6600, '03');
    expect(sim.state.phase).toBe('Cooldown');
    expect(sim.effectsOf('agreed')[0]).toMatchObject({ step: 1, base: 0 });
    sim.tick(6600 + config.cooldownTime);
    expect(sim.state.round).toMatchObject({ step: 2, base: 2 });
  });

  it('a run that stops after a round witnesses it alone and finishes', () => {
    const sim = inRound(2, pipelined({ totalSteps: 2 }));
    sim.commit(1, 2000);
    sim.commit(2, 2000);
    expect(sim.state.witnessing).not.toBeNull();
    sim.commit(1, 2100);
    sim.witness(1, 2200, '03');
    sim.witness(2, 2200, '03');
    sim.commit(2, 2300);
    expect(sim.state).toMatchObject({ phase: 'RoundWitness', step: 1 });
    sim.witness(1, 2400, '03');
    sim.witness(2, 2400, '03');
    expect(sim.state.phase).toBe('Finished');
  });

  it('pause stops both rounds; resume restarts the witness clock of the round before', () => {
    const sim = inRound(2, pipelined());
    sim.commit(1, 2000);
    sim.commit(2, 2000);
    sim.send({ type: 'pause', now: 2100 });
    expect(sim.witness(1, 2200, '03')[0]).toMatchObject({ type: 'rejected', reason: 'no round is being witnessed (phase is Paused)' });
    sim.send({ type: 'resume', now: 50_000 });
    expect(sim.state.witnessing!.closedAt).toBe(50_000);
    sim.tick(50_000 + sim.config.roundWitnessTime - 1);
    expect(sim.state.witnessing).not.toBeNull();
  });

  it('refuses a witness for the training round and a commit for the witnessed one', () => {
    const sim = inRound(2, pipelined());
    sim.commit(1, 2000);
    sim.commit(2, 2000);
    sim.draw(2000);
    const w = (stepNo: number) => sim.send({ type: 'witness', clientId: cid(1), step: stepNo, held: '03', checksum: sum(1), scores: [], now: 2100 });
    expect(w(1)[0]).toMatchObject({ type: 'rejected', reason: 'witness for step 1, but the round is step 0' });
    expect(sim.send({ type: 'commit', clientId: cid(1), step: 0, hash: hash(5), overlap: null, now: 2100 })[0]).toMatchObject({ type: 'rejected', reason: 'commit for step 0, but the round is step 1' });
  });
});

describe('the round outcome', () => {
  it('every committed update is agreed whatever the witness bitmaps say: the coordinator holds every committed payload', () => {
    const sim = inRound(4);
    for (const n of [1, 2, 3]) sim.commit(n, 2000);
    sim.tick(2000 + 10_000); // client 4 never commits
    // Three witnesses withhold slot 0 (colluders reporting it as not held): it is agreed all the same.
    sim.witness(1, 12_100, encodeBitmap([true, true, true, false]));
    sim.witness(2, 12_100, encodeBitmap([false, true, true, false]));
    sim.witness(3, 12_100, encodeBitmap([false, true, true, false]));
    sim.witness(4, 12_100, encodeBitmap([false, false, false, false]));
    const agreed = sim.effectsOf('agreed')[0];
    expect(agreed.slots).toEqual([0, 1, 2]);
    expect(agreed.hashes).toEqual([hash(1), hash(2), hash(3)]);
    expect(sim.effectsOf('points').map((e) => e.clientId)).toEqual([cid(1), cid(2), cid(3)]);
  });

  it('agreedSlots: ascending, only committed slots, none of the excluded', () => {
    const round = { ...inRound(3).state.round!, commitments: [hash(1), null, hash(3)] };
    expect(agreedSlots(round, [])).toEqual([0, 2]);
    expect(agreedSlots(round, [{ slot: 2, clientId: cid(3), reason: 'x' }])).toEqual([0]);
    expect(agreedSlots({ ...round, commitments: [null, null, null] }, [])).toEqual([]);
  });

  it('client totals add up over rounds', () => {
    const sim = inRound(2, testConfig({ pointsPerUpdate: 7 }));
    for (let r = 0; r < 4; r++) fullRound(sim, 2000 + r * 10);
    for (const n of [1, 2]) expect(sim.state.clients[cid(n)]).toMatchObject({ points: 28, agreedUpdates: 4, missedRounds: 0 });
    const paid = sim.log.filter((e) => e.type === 'points').reduce((s, e) => s + (e.type === 'points' ? e.amount : 0), 0);
    expect(paid).toBe(56);
  });

  it('resync goes to every reporter off the majority checksum', () => {
    const sim = inRound(3);
    for (const n of [1, 2, 3]) sim.commit(n, 2000);
    sim.witness(1, 2100, '07', sum(0xb));
    sim.witness(2, 2100, '07', sum(0xa));
    sim.witness(3, 2100, '07', sum(0xb));
    expect(sim.effectsOf('resync')).toEqual([{ type: 'resync', clientId: cid(2), step: 0, checksum: sum(0xb) }]);
  });

  it('a checksum tie goes to the smallest hex', () => {
    const sim = inRound(2);
    sim.commit(1, 2000);
    sim.commit(2, 2000);
    sim.witness(1, 2100, '03', sum(0xc));
    sim.witness(2, 2100, '03', sum(0xa));
    expect(sim.effectsOf('resync')).toEqual([{ type: 'resync', clientId: cid(1), step: 0, checksum: sum(0xa) }]);
    expect(majorityChecksum(['b', 'a', 'c', 'c', 'a'])).toBe('a');
    expect(majorityChecksum(['b', 'c', 'c'])).toBe('c');
    expect(majorityChecksum([])).toBeNull();
  });

  /** A round from t where only client 1 commits and witnesses; client 2 stays silent, so both phases time out. */
  function onlyOneTrains(sim: Sim, t: number): void {
    sim.commit(1, t);
    sim.tick(t + 10_000);
    expect(sim.state.phase).toBe('RoundWitness');
    sim.witness(1, t + 10_001, encodeBitmap(sim.state.round!.slots.map((_, i) => i === 0)));
    sim.tick(t + 15_001);
  }

  it('drops a member after maxMissedRounds + 1 misses in a row', () => {
    const sim = inRound(2); // maxMissedRounds 2
    for (let r = 0; r < 2; r++) {
      onlyOneTrains(sim, 2000 + r * 20_000);
      expect(sim.effectsOf('dropped')).toEqual([]);
      expect(sim.effectsOf('agreed')[0].clients).toEqual([cid(1)]);
      expect(sim.state.clients[cid(2)].missedRounds).toBe(r + 1);
      expect(sim.state.clients[cid(1)].missedRounds).toBe(0);
    }
    onlyOneTrains(sim, 42_000);
    expect(sim.effectsOf('dropped')).toEqual([{ type: 'dropped', clientId: cid(2), step: 2, reason: 'no agreed update in 3 rounds in a row (at most 2 allowed)' }]);
    expect(sim.state.clients[cid(2)].status).toBe('gone');
    expect(sim.state.round!.slots).toEqual([cid(1)]);
  });

  it('an agreed update resets the miss counter', () => {
    const sim = inRound(2);
    onlyOneTrains(sim, 2000);
    onlyOneTrains(sim, 22_000);
    expect(sim.state.clients[cid(2)].missedRounds).toBe(2);
    fullRound(sim, 42_000);
    expect(sim.state.clients[cid(2)].missedRounds).toBe(0);
    onlyOneTrains(sim, 62_000);
    onlyOneTrains(sim, 82_000);
    expect(sim.effectsOf('dropped')).toEqual([]);
    expect(sim.state.clients[cid(2)]).toMatchObject({ status: 'member', missedRounds: 2 });
  });
});

describe('pause, resume, recovered', () => {
  /** Drives a fresh run into `phase`; returns it and the timeout that phase has (null: none). */
  function reach(phase: Phase): { sim: Sim; timeout: number | null } {
    const config = testConfig({ epochTime: 0 });
    const sim = new Sim(config);
    if (phase === 'WaitingForMembers') return { sim, timeout: null };
    sim.join(1, 0);
    sim.join(2, 0);
    if (phase === 'Warmup') return { sim, timeout: config.warmupTime };
    sim.tick(1000);
    if (phase === 'RoundTrain') return { sim, timeout: config.maxRoundTrainTime };
    sim.commit(1, 1000);
    sim.commit(2, 1000);
    if (phase === 'RoundWitness') return { sim, timeout: config.roundWitnessTime };
    sim.witness(1, 1000, '03');
    sim.witness(2, 1000, '03');
    expect(sim.state.phase).toBe('Cooldown');
    return { sim, timeout: config.cooldownTime };
  }

  it.each<Phase>(['WaitingForMembers', 'Warmup', 'RoundTrain', 'RoundWitness', 'Cooldown'])('pauses in %s and resumes there with its clock restarted', (phase) => {
    const { sim, timeout } = reach(phase);
    expect(sim.state.phase).toBe(phase);
    const before = sim.state;
    sim.send({ type: 'pause', now: 1000 });
    expect(sim.state).toMatchObject({ phase: 'Paused', pausedFrom: phase, phaseStartedAt: 1000 });
    expect(sim.effects).toEqual([{ type: 'phase', from: phase, to: 'Paused', step: before.step, epoch: before.epoch }]);
    expect(sim.tick(1_000_000)).toEqual([]);
    expect(sim.send({ type: 'pause', now: 1_000_001 })[0]).toMatchObject({ type: 'rejected', reason: 'already paused' });
    expect(sim.commit(1, 1_000_001)[0]).toMatchObject({ type: 'rejected', reason: 'commit is only allowed in RoundTrain (phase is Paused)' });
    sim.send({ type: 'resume', now: 2_000_000 });
    expect(sim.state).toMatchObject({ phase, pausedFrom: null, phaseStartedAt: 2_000_000, round: before.round });
    expect(sim.effects).toEqual([{ type: 'phase', from: 'Paused', to: phase, step: before.step, epoch: before.epoch }]);
    if (timeout !== null) {
      sim.tick(2_000_000 + timeout - 1);
      expect(sim.state.phase).toBe(phase);
      sim.tick(2_000_000 + timeout);
      expect(sim.state.phase).not.toBe(phase);
    }
  });

  it('paused time does not count toward the epoch', () => {
    const sim = inRound(2, testConfig({ epochTime: 10_000 }));
    sim.send({ type: 'pause', now: 2000 });
    sim.send({ type: 'resume', now: 50_000 });
    fullRound(sim, 51_000); // 3000 ms of epoch time outside the pause
    expect(sim.state.phase).toBe('RoundTrain');
    expect(sim.state.epochStartedAt).toBe(1000 + 48_000);
  });

  it('resume when not paused is rejected', () => {
    const sim = new Sim(testConfig());
    expect(sim.send({ type: 'resume', now: 5 })).toEqual([{ type: 'rejected', clientId: null, event: 'resume', reason: 'not paused (phase is WaitingForMembers)' }]);
  });

  it('a resume that finds every commit in ends the train phase at once', () => {
    const sim = inRound(2);
    sim.commit(1, 1500);
    sim.send({ type: 'pause', now: 1600 });
    sim.leave(2, 1700);
    sim.send({ type: 'resume', now: 1800 });
    expect(sim.state.phase).toBe('RoundWitness');
  });

  it('recovered restarts the current phase clock', () => {
    const sim = inRound(2);
    sim.send({ type: 'recovered', now: 9000 });
    expect(sim.effects).toEqual([]);
    sim.tick(11_000); // the old deadline
    expect(sim.state.phase).toBe('RoundTrain');
    sim.tick(19_000);
    expect(sim.state.phase).toBe('RoundWitness');
  });
});

describe('rejections', () => {
  const bad = (reason: RegExp | string, event: unknown) => ({ reason, event: event as RunEvent });
  const c1 = cid(1);

  it.each([
    ['join by a member', bad('already a member', { type: 'join', clientId: c1, now: 2000 })],
    ['leave by a stranger', bad('not in the run', { type: 'leave', clientId: cid(77), now: 2000 })],
    ['commit from a non-member', bad('not a member of round 0', { type: 'commit', clientId: cid(77), step: 0, hash: hash(1), overlap: null, now: 2000 })],
    ['commit for the wrong step', bad('commit for step 1, but the round is step 0', { type: 'commit', clientId: c1, step: 1, hash: hash(1), overlap: null, now: 2000 })],
    ['witness in RoundTrain', bad('no round is being witnessed (phase is RoundTrain)', { type: 'witness', clientId: c1, step: 0, held: '03', checksum: sum(1), scores: [], now: 2000 })],
    ['uppercase hash', bad(/^invalid event: hash: hash \(SHA-256\) must be 64 lowercase hex/, { type: 'commit', clientId: c1, step: 0, hash: hash(1).toUpperCase().replace(/E/g, 'F'), overlap: null, now: 2000 })],
    ['short hash', bad(/hash \(SHA-256\) must be 64 lowercase hex/, { type: 'commit', clientId: c1, step: 0, hash: 'abcd', overlap: null, now: 2000 })],
    ['bad client id', bad(/clientId must be 64 lowercase hex/, { type: 'join', clientId: 'alice', now: 2000 })],
    ['missing now', bad(/^invalid event: now:/, { type: 'tick' })],
    ['NaN now', bad(/^invalid event: now:/, { type: 'tick', now: NaN })],
    ['negative step', bad(/^invalid event: step:/, { type: 'commit', clientId: c1, step: -1, hash: hash(1), overlap: null, now: 2000 })],
    ['extra field', bad(/^invalid event/, { type: 'tick', now: 1, admin: true })],
    ['unknown type', bad(/^invalid event/, { type: 'explode', now: 1 })],
    ['not an object', bad(/^invalid event/, 'tick')],
  ])('%s (in RoundTrain)', (_, { reason, event }) => {
    const sim = inRound(2);
    const before = sim.state;
    const effects = sim.send(event);
    expect(sim.state).toBe(before);
    expect(effects).toHaveLength(1);
    expect(effects[0].type).toBe('rejected');
    if (effects[0].type === 'rejected') expect(effects[0].reason).toMatch(reason);
  });

  it.each([
    ['duplicate witness', bad('already witnessed in round 0', { type: 'witness', clientId: cid(1), step: 0, held: '03', checksum: sum(1), scores: [], now: 2000 })],
    ['commit in RoundWitness', bad('commit is only allowed in RoundTrain (phase is RoundWitness)', { type: 'commit', clientId: cid(3), step: 0, hash: hash(3), overlap: null, now: 2000 })],
    ['witness for the wrong step', bad('witness for step 3, but the round is step 0', { type: 'witness', clientId: cid(2), step: 3, held: '03', checksum: sum(1), scores: [], now: 2000 })],
    ['bitmap of the wrong length', bad('held: bitmap must be 1 bytes (2 hex chars) for 3 slots, got 4 hex chars', { type: 'witness', clientId: cid(2), step: 0, held: '0300', checksum: sum(1), scores: [], now: 2000 })],
    ['bitmap with padding bits', bad('held: bitmap sets padding bits beyond slot 2', { type: 'witness', clientId: cid(2), step: 0, held: '0f', checksum: sum(1), scores: [], now: 2000 })],
    ['odd-length bitmap', bad(/held must be lowercase hex, whole bytes/, { type: 'witness', clientId: cid(2), step: 0, held: '3', checksum: sum(1), scores: [], now: 2000 })],
    ['checksum not 16 hex', bad(/checksum must be 16 lowercase hex/, { type: 'witness', clientId: cid(2), step: 0, held: '03', checksum: 'abc', scores: [], now: 2000 })],
  ])('%s (in RoundWitness)', (_, { reason, event }) => {
    const sim = inRound(3);
    for (const n of [1, 2, 3]) sim.commit(n, 1500);
    sim.witness(1, 1600, '07');
    const before = sim.state;
    const effects = sim.send(event);
    expect(sim.state).toBe(before);
    expect(effects).toHaveLength(1);
    expect(effects[0]).toMatchObject({ type: 'rejected', event: (event as { type: string }).type });
    if (effects[0].type === 'rejected') expect(effects[0].reason).toMatch(reason);
  });

  it('a duplicate commit, a joiner re-joining and a gone client leaving again are rejected', () => {
    const sim = inRound(3);
    sim.commit(1, 1500);
    expect(sim.commit(1, 1501, hash(9))).toEqual([{ type: 'rejected', clientId: cid(1), event: 'commit', reason: 'already committed in round 0' }]);
    expect(sim.state.round!.commitments[0]).toBe(hash(1));
    sim.join(4, 1600);
    expect(sim.join(4, 1601)[0]).toMatchObject({ reason: 'already joining' });
    sim.leave(3, 1700);
    expect(sim.leave(3, 1701)[0]).toMatchObject({ reason: 'not in the run' });
  });

  it('a client that left can join again and keeps its points', () => {
    const sim = inRound(2);
    fullRound(sim, 2000);
    sim.leave(2, 3000);
    sim.join(2, 3001);
    expect(sim.state.clients[cid(2)]).toMatchObject({ status: 'joining', points: 10, agreedUpdates: 1, joinSeq: 2 });
  });
});

describe('purity', () => {
  it('the same events give the same states and effects', () => {
    const runOnce = () => {
      const sim = inRound(3);
      fullRound(sim, 2000);
      sim.join(4, 2100);
      fullRound(sim, 3000);
      return JSON.stringify([sim.state, sim.log]);
    };
    expect(runOnce()).toBe(runOnce());
  });

  it('steps deep-frozen states (any mutation would throw)', () => {
    const config = testConfig();
    const s0 = deepFreeze(createRunState(config, 0));
    const s1 = deepFreeze(step(config, s0, { type: 'join', clientId: cid(1), now: 0 }).state);
    const s2 = deepFreeze(step(config, s1, { type: 'join', clientId: cid(2), now: 0 }).state);
    const s3 = step(config, s2, { type: 'tick', now: 1000 });
    expect(s3.state.phase).toBe('RoundTrain');
    expect(s2.phase).toBe('Warmup');
  });
});
