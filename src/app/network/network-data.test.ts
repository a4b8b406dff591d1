import { describe, expect, it } from 'vitest';
import type { HistoryResponse, RoundHistory } from '../../net/history';
import { applyEvent, applyHistory, EMPTY_NETWORK, historyStart, mergeRounds, roundsPerMinuteAt } from './network-data';
import { timeSeries, utilization } from './network-series';

const round = (step: number, over: Partial<RoundHistory> = {}): RoundHistory => ({
  step,
  epoch: 0,
  startedAt: 1000 * step,
  endedAt: 1000 * step + 900,
  trainMs: 600,
  witnessMs: 300,
  members: 2,
  agreed: 2,
  excluded: 0,
  tokens: 64,
  tokensSeen: 64 * (step + 1),
  bytes: 500,
  reporters: 2,
  loss: 5 - step / 10,
  clientTrainMs: 200,
  clientApplyMs: 100,
  ...over,
});
const status = (step: number, members = 2) => ({ phase: 'RoundTrain' as const, epoch: 0, step, members, joining: 0, tokensSeen: 64 * step });
const response = (rounds: RoundHistory[], step: number): HistoryResponse => ({
  fromStep: rounds[0]?.step ?? 0,
  nextStep: (rounds.at(-1)?.step ?? -1) + 1,
  more: false,
  rounds,
  epochs: [],
  leaderboard: { clients: [], wallets: [] },
  status: status(step),
});

describe('the Network page data', () => {
  it('merges rounds by step: appended, replaced, reordered, and bounded to the newest', () => {
    const a = mergeRounds([], [round(0), round(1)]);
    expect(mergeRounds(a, [round(2)]).map((r) => r.step)).toEqual([0, 1, 2]);
    expect(mergeRounds(a, [round(1, { loss: 1 })]).map((r) => [r.step, r.loss])).toEqual([
      [0, 5],
      [1, 1],
    ]);
    expect(mergeRounds([round(3)], [round(1), round(2)]).map((r) => r.step)).toEqual([1, 2, 3]);
    expect(mergeRounds(a, [round(2), round(3)], 3).map((r) => r.step)).toEqual([1, 2, 3]);
  });

  it('starts the history after the newest round held, else at the latest rounds of the run', () => {
    expect(historyStart(EMPTY_NETWORK, null)).toBe(0);
    expect(historyStart(EMPTY_NETWORK, 12_000, 5000)).toBe(7000);
    expect(historyStart(EMPTY_NETWORK, 30, 5000)).toBe(0);
    expect(historyStart({ ...EMPTY_NETWORK, rounds: [round(4), round(5)] }, 12_000)).toBe(6);
  });

  it('a round event adds its row; a history page merges its rounds but keeps a newer live status', () => {
    let d = applyEvent(EMPTY_NETWORK, { event: 'status', data: status(3, 2) });
    d = applyEvent(d, { event: 'round', data: round(2) });
    d = applyHistory(d, response([round(0), round(1), round(2)], 2));
    expect(d.rounds.map((r) => r.step)).toEqual([0, 1, 2]);
    expect(d.status).toEqual(status(3, 2));
    d = applyHistory(d, response([round(3)], 4));
    expect(d.status!.step).toBe(4);
    d = applyEvent(d, { event: 'status', data: status(4, 1) });
    expect(d.status!.members).toBe(1);
  });

  it('rounds per minute over the latest end times', () => {
    const rounds = [round(0, { endedAt: 0 }), round(1, { endedAt: 30_000 }), round(2, { endedAt: 60_000 })];
    expect(roundsPerMinuteAt(rounds, 0)).toBeNull();
    expect(roundsPerMinuteAt(rounds, 2)).toBe(2);
    expect(roundsPerMinuteAt(rounds, 2, 1)).toBe(2);
  });

  it('the time chart leaves out rounds nobody reported, and utilization is the GPU share of the rounds’ time', () => {
    const rounds = [round(0), round(1, { clientTrainMs: null, clientApplyMs: null })];
    const [train, witness, gpu, apply] = timeSeries(rounds);
    expect(train.points).toEqual([
      { x: 0, y: 0.6 },
      { x: 1, y: 0.6 },
    ]);
    expect(witness.points.map((p) => p.y)).toEqual([0.3, 0.3]);
    expect(gpu.points).toEqual([{ x: 0, y: 0.2 }]);
    expect(apply.points).toEqual([{ x: 0, y: 0.1 }]);
    expect(utilization(rounds)).toBeCloseTo(300 / 900, 12);
    expect(utilization([])).toBeNull();
  });
});
