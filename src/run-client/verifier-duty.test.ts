import { describe, expect, it } from 'vitest';
import { parseRunConfig } from '../run/run-config';
import { createRunState } from '../run/state-machine';
import { cid } from '../run/test-helpers';
import type { Round, RunState } from '../run/types';
import { myChecks, standingOf, trustedSlots } from './verifier-duty';

describe('verifier duty and standing', () => {
  const round = { checks: [{ slot: 0, verifiers: [cid(2), cid(3)] }, { slot: 1, verifiers: [cid(3)] }] } as unknown as Round;

  it('finds the checks this tab was drawn for, none before the draw', () => {
    expect(myChecks(round, cid(3)).map((c) => c.slot)).toEqual([0, 1]);
    expect(myChecks(round, cid(2)).map((c) => c.slot)).toEqual([0]);
    expect(myChecks(round, cid(1))).toEqual([]);
    expect(myChecks({ ...round, checks: null }, cid(3))).toEqual([]);
  });

  it('reads probation, held, vested, forfeited and ejection from the coordinator state', () => {
    const config = parseRunConfig({ verification: { probationRounds: 3 } });
    const s = createRunState(config, 0);
    expect(standingOf(config, s, cid(1))).toBeNull();
    s.clients[cid(1)] = { id: cid(1), status: 'member', joinSeq: 0, missedRounds: 0, points: 30, agreedUpdates: 5, verifiedRounds: 2, strikes: 1, contradictions: 0, unvested: [{ step: 4, amount: 10 }, { step: 5, amount: 10 }], forfeited: 10, pace: null };
    s.round = round;
    expect(standingOf(config, s, cid(1))).toEqual({ verifiedRounds: 2, probation: true, probationRounds: 3, verifier: false, waiting: false, strikes: 1, held: 20, vested: 30, forfeited: 10, ejected: false });
    s.clients[cid(3)] = { ...s.clients[cid(1)], id: cid(3), status: 'ejected', verifiedRounds: 3 };
    expect(standingOf(config, s, cid(3))).toMatchObject({ probation: false, verifier: true, ejected: true });
    // A joiner the round started without waits for a newcomer's place.
    s.clients[cid(4)] = { ...s.clients[cid(1)], id: cid(4), status: 'joining', verifiedRounds: 0 };
    expect(standingOf(config, s, cid(4))).toMatchObject({ probation: true, waiting: true });
    expect(standingOf(config, { ...s, round: null }, cid(4))).toMatchObject({ waiting: false });
  });

  it('trusts committed members past probation with no strike, nobody else', () => {
    const config = parseRunConfig({ verification: { probationRounds: 3 } });
    const s = createRunState(config, 0);
    const member = (i: number, more: Partial<RunState['clients'][string]> = {}) => {
      s.clients[cid(i)] = { id: cid(i), status: 'member', joinSeq: i, missedRounds: 0, points: 0, agreedUpdates: 0, verifiedRounds: 3, strikes: 0, contradictions: 0, unvested: [], forfeited: 0, pace: null, ...more };
    };
    member(0);
    member(1, { verifiedRounds: 2 });
    member(2, { strikes: 1 });
    member(3, { status: 'ejected' });
    member(4);
    member(5);
    const r = { slots: [0, 1, 2, 3, 4, 5, 6].map(cid), commitments: ['a', 'b', 'c', 'd', null, 'f', 'g'] } as unknown as Round;
    // 1 on probation, 2 struck, 3 ejected, 4 did not commit, 6 is unknown to the state.
    expect(trustedSlots(config, s, r)).toEqual([0, 5]);
  });
});
