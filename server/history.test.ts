import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { historyResponseSchema, MAX_HISTORY_ROUNDS, type HistoryResponse } from '../src/net/history';
import { createRunState } from '../src/run/state-machine';
import type { Effect, RunState } from '../src/run/types';
import { Coordinator } from './coordinator';
import { leaderboard, roundFacts } from './history';
import { memoryLogger } from './log';
import { Store } from './store';
import { TestClient } from './test-client';
import { playRoundWithStats } from './test-events';
import { serverTestConfig } from './test-helpers';
import { FakeClock, startTestServer, tempDir, twoMembersInRound, type TestServer } from './test-server';

const config = serverTestConfig();
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const hash = (n: number) => n.toString(16).padStart(64, '0');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('roundFacts', () => {
  function inRound(phase: RunState['phase']): RunState {
    const s = createRunState(config, 0);
    s.phase = phase;
    s.phaseStartedAt = 700;
    s.tokensSeen = 1000;
    s.round = {
      step: 4,
      seed: hash(1),
      slots: [A, B],
      assignments: [
        { start: 0, count: 3 },
        { start: 3, count: 1 },
      ],
      lrBits: 1,
      commitments: [hash(2), null],
      trained: [3, null],
      witnesses: [null, null],
      copies: [null, null],
      overlaps: [null, null],
      checks: [],
      startedAt: 200,
      base: 4,
      closedAt: null,
    };
    return s;
  }
  const agreed: Effect = { type: 'agreed', step: 4, epoch: 0, slots: [0], clients: [A], hashes: [hash(2)], lrBits: 1, excluded: [], checksum: null, base: 4 };

  it('takes the start from the round, the witness start from the phase clock, members from the slots and tokens from the sequences trained', () => {
    expect(roundFacts(config, inRound('RoundWitness'), [agreed], 900)).toEqual([
      { step: 4, startedAt: 200, witnessStartedAt: 700, members: 2, tokens: 4 * config.seqLen, tokensSeen: 1000 + 4 * config.seqLen },
    ]);
  });

  it('tokens count what a time-boxed commit trained, not its whole assignment', () => {
    const s = inRound('RoundWitness');
    s.round!.trained = [1, null];
    // Slot 0 trained 1 of its 3; slot 1 never committed and counts its assignment, as the run's tokensSeen does.
    expect(roundFacts(config, s, [agreed], 900)[0]).toMatchObject({ tokens: 2 * config.seqLen, tokensSeen: 1000 + 2 * config.seqLen });
  });

  it('a round whose commits closed in the step that ended it had no witness time', () => {
    expect(roundFacts(config, inRound('RoundTrain'), [agreed], 900)[0]).toMatchObject({ startedAt: 200, witnessStartedAt: 900 });
  });

  it('nothing for a step that ended no round', () => {
    expect(roundFacts(config, inRound('RoundWitness'), [{ type: 'phase', from: 'RoundTrain', to: 'RoundWitness', step: 4, epoch: 0 }], 900)).toEqual([]);
  });
});

describe('leaderboard', () => {
  it('ranks clients by vested then held points and sums each bound wallet over its clients', () => {
    const s = createRunState(config, 0);
    const C = 'c'.repeat(64);
    const record = (id: string, points: number, held: number) => ({
      id,
      status: 'member' as const,
      joinSeq: 0,
      missedRounds: 0,
      points,
      agreedUpdates: 1,
      verifiedRounds: 0,
      strikes: 0,
      contradictions: 0,
      unvested: held > 0 ? [{ step: 1, amount: held }] : [],
      forfeited: 0,
      pace: null,
    });
    s.clients = { [A]: record(A, 10, 0), [B]: record(B, 30, 0), [C]: record(C, 10, 5) };
    const w = 'W'.repeat(32);
    const board = leaderboard(s, new Map([[A, w], [C, w]]));
    expect(board.clients.map((c) => [c.id, c.points, c.held, c.wallet])).toEqual([
      [B, 30, 0, null],
      [C, 10, 5, w],
      [A, 10, 0, w],
    ]);
    expect(board.wallets).toEqual([{ wallet: w, clients: 2, points: 20, held: 5 }]);
  });
});

describe('a round through the coordinator', () => {
  it('stores a history row with the times of its phases, its counts, tokens, bytes and the median of the stats its members reported', () => {
    const clock = new FakeClock();
    const store = Store.open(':memory:');
    cleanups.push(() => store.close());
    const coordinator = Coordinator.open({ store, config, now: clock.now, log: memoryLogger() });
    const watched: Effect[][] = [];
    coordinator.watch((_, effects) => watched.push([...effects]));
    coordinator.join(A);
    coordinator.join(B);
    clock.advance(config.warmupTime);
    coordinator.tick();
    const startedAt = clock.t;
    const round = coordinator.state.round!;
    clock.advance(1000);
    store.putPayload(hash(10), 0, A, new Uint8Array(100), clock.t);
    expect(coordinator.commit(A, 0, hash(10), 'f'.repeat(128), null, { loss: 3, trainMs: 50, applyMs: 5 })).toEqual({ rejected: null });
    clock.advance(500);
    store.putPayload(hash(11), 0, B, new Uint8Array(150), clock.t);
    expect(coordinator.commit(B, 0, hash(11), 'f'.repeat(128), null, { loss: 5, trainMs: 70 })).toEqual({ rejected: null });
    expect(coordinator.state.phase).toBe('RoundWitness');
    clock.advance(2000);
    coordinator.witness(A, 0, '03', '0123456789abcdef');
    expect(store.round(0)).toBeNull();
    coordinator.witness(B, 0, '03', '0123456789abcdef');
    expect(coordinator.state.step).toBe(1);
    const batch = round.assignments.reduce((sum, a) => sum + a.count, 0);
    expect(store.round(0)).toEqual({
      step: 0,
      epoch: 0,
      startedAt,
      endedAt: startedAt + 3500,
      trainMs: 1500,
      witnessMs: 2000,
      members: 2,
      agreed: 2,
      excluded: 0,
      tokens: batch * config.seqLen,
      tokensSeen: batch * config.seqLen,
      bytes: 250,
      reporters: 2,
      loss: 4,
      clientTrainMs: 60,
      clientApplyMs: 5,
    });
    expect(coordinator.state.tokensSeen).toBe(batch * config.seqLen);
    // The watchers heard of the stored round after it was stored.
    expect(watched.some((effects) => effects.some((e) => e.type === 'agreed' && e.step === 0))).toBe(true);
  });
});

describe('GET /api/history', () => {
  const clock = new FakeClock();
  async function start(): Promise<TestServer> {
    const { dir, cleanup } = tempDir();
    const server = await startTestServer({ dbPath: join(dir, 'run.sqlite'), clock, config });
    cleanups.push(cleanup, () => server.stop());
    return server;
  }
  const connect = async (server: TestServer, seed: number) => {
    const c = await TestClient.connect(server.wsUrl, seed);
    cleanups.push(() => c.close());
    return c;
  };
  const history = async (server: TestServer, query = ''): Promise<HistoryResponse> => {
    const res = await fetch(`${server.url}/api/history${query}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    return historyResponseSchema.parse(await res.json());
  };

  it('pages through the rounds that clients played with stats over the socket, with the leaderboard and the status', async () => {
    const server = await start();
    const { a, b, round } = await twoMembersInRound(server, clock, config, connect);
    const first = await history(server);
    expect(first).toMatchObject({ fromStep: 0, nextStep: 0, more: false, rounds: [], status: { phase: 'RoundTrain', step: 0, members: 2, joining: 0 } });
    expect(first.epochs).toEqual([{ epoch: 0, step: 0, checksum: expect.stringMatching(/^[0-9a-f]{16}$/), at: expect.any(Number) }]);

    await playRoundWithStats(config, [a, b], round, [{ loss: 6, trainMs: 10, applyMs: 1 }, { loss: 4, trainMs: 30 }]);
    for (let step = 1; step < 3; step++) {
      const next = (await a.next('round', (m) => m.round.step === step)).round;
      await playRoundWithStats(config, [a, b], next, [{ loss: 3 - step / 10, trainMs: 10 }, undefined]);
    }
    const all = await history(server);
    expect(all.rounds.map((r) => r.step)).toEqual([0, 1, 2]);
    expect(all.rounds[0]).toMatchObject({ members: 2, agreed: 2, excluded: 0, reporters: 2, loss: 5, clientTrainMs: 20, clientApplyMs: 1 });
    expect(all.rounds[0].bytes).toBeGreaterThan(0);
    expect(all.rounds[0].bytes).toBe(all.rounds[1].bytes); // updates of one model and batch share a size
    expect(all.rounds[2]).toMatchObject({ reporters: 1, loss: 2.8, clientApplyMs: null });
    expect(all.rounds[2].tokensSeen).toBe(3 * all.rounds[0].tokens);
    expect(all).toMatchObject({ nextStep: 3, more: false, status: { step: 3, members: 2 } });
    expect(all.leaderboard.clients.map((c) => [c.id, c.points, c.wallet])).toEqual(
      [a.id, b.id].sort().map((id) => [id, 3 * config.pointsPerUpdate, null]),
    );
    expect(all.leaderboard.wallets).toEqual([]);

    const page1 = await history(server, '?fromStep=0&limit=2');
    expect(page1.rounds.map((r) => r.step)).toEqual([0, 1]);
    expect(page1).toMatchObject({ fromStep: 0, nextStep: 2, more: true });
    const page2 = await history(server, `?fromStep=${page1.nextStep}&limit=2`);
    expect(page2.rounds.map((r) => r.step)).toEqual([2]);
    expect(page2).toMatchObject({ nextStep: 3, more: false });
    const exact = await history(server, '?fromStep=1&limit=2');
    expect(exact).toMatchObject({ nextStep: 3, more: false });
    expect((await history(server, '?fromStep=99')).rounds).toEqual([]);
    expect((await history(server, `?limit=${MAX_HISTORY_ROUNDS}`)).rounds).toHaveLength(3);
  });

  it('refuses bad, out-of-range, repeated and unknown query parameters', async () => {
    const server = await start();
    for (const query of ['?limit=0', `?limit=${MAX_HISTORY_ROUNDS + 1}`, '?fromStep=-1', '?fromStep=abc', '?fromStep=1.5', '?fromStep=01', '?fromStep=1&fromStep=2', '?from=3', '?limit=']) {
      const res = await fetch(`${server.url}/api/history${query}`);
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { error: string }).error, query).toBe('bad-query');
    }
    const events = await fetch(`${server.url}/api/events?x=1`);
    expect(events.status).toBe(400);
  });
});
