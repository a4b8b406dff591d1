import { describe, expect, it } from 'vitest';
import { createRunState } from '../run/state-machine';
import { testConfig } from '../run/test-helpers';
import { appendBounded, composeView, emptyView, RunViewStore, type ViewSources } from './run-view';
import { cid, member } from './test-fakes';

const config = testConfig();
const me = cid(1);

function sources(over: Partial<ViewSources> = {}): ViewSources {
  return { id: me, config, server: null, checksum: null, appliedStep: -1, peers: [], bytesSent: 0, bytesReceived: 0, tokens: 0, trainMs: 0, utilization: { busyMs: 0, wallMs: 0, share: null }, payloadsFrom: { peer: 0, forwarded: 0, store: 0 }, ...over };
}

describe('composeView', () => {
  it('reads phase, step, members and this tab\'s points and standing from the coordinator state', () => {
    const s = createRunState(config, 0);
    s.phase = 'RoundTrain';
    s.epoch = 2;
    s.step = 17;
    s.clients[me] = member(me, 0, { points: 40 });
    s.clients[cid(2)] = member(cid(2), 1);
    s.clients[cid(3)] = member(cid(3), 2, { status: 'gone' });
    const v = composeView(emptyView(me), sources({ server: s, checksum: 'ab'.repeat(8), appliedStep: 17 }), {});
    expect(v).toMatchObject({ state: 'RoundTrain', epoch: 2, step: 17, members: 2, points: 40, checksum: 'ab'.repeat(8), appliedStep: 17 });
    expect(v.standing).toMatchObject({ vested: 40, strikes: 0 });
  });

  it('keeps the points a points message set while the state does not name this tab', () => {
    const s = createRunState(config, 0);
    const v = composeView({ ...emptyView(me), points: 70 }, sources({ server: s }), {});
    expect(v.points).toBe(70);
    expect(v.standing).toBeNull();
    expect(composeView(emptyView(me), sources(), {})).toMatchObject({ state: null, epoch: 0, step: 0, members: 0 });
  });

  it('derives throughput from tokens and training time, zero before any training', () => {
    expect(composeView(emptyView(me), sources({ tokens: 500, trainMs: 250 }), {}).tokensPerSec).toBe(2000);
    expect(composeView(emptyView(me), sources({ tokens: 500, trainMs: 0 }), {}).tokensPerSec).toBe(0);
  });

  it('lets the patch override what it assembled and keeps what it does not touch', () => {
    const before = { ...emptyView(me), lossHistory: [{ step: 1, loss: 3 }] };
    const v = composeView(before, sources({ peers: [{ id: cid(2), state: 'connected' }], bytesSent: 9 }), { status: 'left', peers: [] });
    expect(v).toMatchObject({ status: 'left', peers: [], bytesSent: 9, lossHistory: [{ step: 1, loss: 3 }] });
  });
});

describe('appendBounded', () => {
  it('keeps the newest entries', () => {
    expect(appendBounded([1, 2, 3], 4, 3)).toEqual([2, 3, 4]);
    expect(appendBounded([], 1, 3)).toEqual([1]);
  });
});

describe('RunViewStore', () => {
  it('tells its subscribers of every update until they unsubscribe', () => {
    let step = 0;
    const store = new RunViewStore(me, () => sources({ appliedStep: step }));
    const seen: number[] = [];
    const off = store.subscribe(() => seen.push(store.current.appliedStep));
    step = 4;
    store.update({});
    off();
    step = 5;
    store.update({});
    expect(seen).toEqual([4]);
    expect(store.current.appliedStep).toBe(5);
  });
});
