import { describe, expect, it } from 'vitest';
import { emptyView, type RunView } from '../run-client/run-view';
import { progressOf, writeJsonLines, type ProgressLine, type ViewSource } from './progress';

const ID = 'c0ffee'.repeat(10) + 'abcd';
const CK = (n: number) => n.toString(16).padStart(16, '0');
const HASH = (n: number) => n.toString(16).padStart(64, '0');

/** A view source like RunViewStore: a current view and its subscribers. */
class FakeSource implements ViewSource {
  view: RunView = emptyView(ID);
  readonly listeners = new Set<() => void>();
  state(): RunView {
    return this.view;
  }
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  update(patch: Partial<RunView>): void {
    this.view = { ...this.view, ...patch };
    for (const fn of this.listeners) fn();
  }
}

/** A clock that moves one second per call, from a fixed instant. */
function clock() {
  let t = Date.UTC(2025, 0, 2, 3, 4, 5);
  const times: string[] = [];
  const now = () => {
    const d = new Date(t);
    times.push(d.toISOString());
    t += 1000;
    return d;
  };
  return { now, times };
}

describe('progressOf', () => {
  it('summarises an empty view', () => {
    const p = progressOf(emptyView(ID));
    expect(p).toEqual({
      status: 'idle',
      phase: null,
      epoch: 0,
      step: 0,
      appliedStep: 0,
      clientId: ID,
      checksum: null,
      points: 0,
      loss: null,
      tokensPerSec: 0,
      members: 0,
      peers: { connected: 0, total: 0 },
      error: null,
      resumedFrom: null,
    });
  });

  it('takes the last loss, counts connected peers and rounds tokens/s', () => {
    const v: RunView = {
      ...emptyView(ID),
      status: 'training',
      state: 'RoundTrain',
      epoch: 2,
      step: 41,
      appliedStep: 40,
      checksum: CK(7),
      points: 12.5,
      lossHistory: [
        { step: 38, loss: 3.5 },
        { step: 39, loss: 2.25 },
        { step: 40, loss: 1.125 },
      ],
      tokensPerSec: 1234.56,
      members: 3,
      peers: [
        { id: 'a', state: 'connected' },
        { id: 'b', state: 'connecting' },
        { id: 'c', state: 'connected' },
        { id: 'd', state: 'failed' },
        { id: 'e', state: 'closed' },
      ],
      error: 'something broke',
      resume: { from: 'record', step: 30, momentumStep: 29, ms: 12, saved: null },
    };
    expect(progressOf(v)).toEqual({
      status: 'training',
      phase: 'RoundTrain',
      epoch: 2,
      step: 41,
      appliedStep: 40,
      clientId: ID,
      checksum: CK(7),
      points: 12.5,
      loss: 1.125,
      tokensPerSec: 1235,
      members: 3,
      peers: { connected: 2, total: 5 },
      error: 'something broke',
      resumedFrom: 'record',
    });
    expect(progressOf({ ...v, tokensPerSec: 1234.49 }).tokensPerSec).toBe(1234);
    // A loss of 0 is a loss, not "none".
    expect(progressOf({ ...v, lossHistory: [{ step: 1, loss: 0 }] }).loss).toBe(0);
  });
});

describe('writeJsonLines', () => {
  it('writes one line at once, and one more per change of the summary', () => {
    const src = new FakeSource();
    const lines: string[] = [];
    const { now, times } = clock();
    writeJsonLines(src, (l) => lines.push(l), now);
    expect(lines).toHaveLength(1);
    const first = JSON.parse(lines[0]) as ProgressLine;
    expect(first.at).toBe(times[0]);
    expect(first.status).toBe('idle');
    expect(first.applied).toEqual([]);

    src.update({ status: 'connecting' });
    expect(lines).toHaveLength(2);
    const second = JSON.parse(lines[1]) as ProgressLine;
    expect(second.status).toBe('connecting');
    expect(second.at).toBe(times[times.length - 1]);
    expect(second.at).not.toBe(first.at);

    src.update({ points: 3 });
    expect(lines).toHaveLength(3);
    expect((JSON.parse(lines[2]) as ProgressLine).points).toBe(3);
  });

  it('writes nothing for an update that changes nothing it reports', () => {
    const src = new FakeSource();
    const lines: string[] = [];
    writeJsonLines(src, (l) => lines.push(l), clock().now);
    src.update({});
    src.update({ bytesSent: 1000, bytesReceived: 2000, trainMs: 55, timeline: [{ step: 0, phase: 'Warmup', at: 1 }] });
    // tokens/s that rounds to the same integer.
    src.update({ tokensPerSec: 0.2 });
    expect(lines).toHaveLength(1);
    src.update({ tokensPerSec: 0.7 });
    expect(lines).toHaveLength(2);
  });

  it('reports each applied round exactly once, in step order', () => {
    const src = new FakeSource();
    const lines: string[] = [];
    writeJsonLines(src, (l) => lines.push(l), clock().now);
    const round = (step: number) => ({ step, hashes: [HASH(step), HASH(step + 100)], checksum: CK(step) });
    let applied: RunView['applied'] = [];

    applied = [...applied, round(0)];
    src.update({ applied, appliedStep: 1, checksum: CK(0) });
    applied = [...applied, round(1), round(2)];
    src.update({ applied, appliedStep: 3, checksum: CK(2) });
    // A change elsewhere: a line without new rounds.
    src.update({ status: 'training' });
    // Only the list grows (the summary is the same): still a line, carrying the new round.
    applied = [...applied, round(3)];
    src.update({ applied });
    // Nothing new at all.
    src.update({ applied: [...applied] });
    // The list is bounded: old rounds fall off the front, and are not reported again.
    applied = [...applied.slice(2), round(4)];
    src.update({ applied, appliedStep: 5, checksum: CK(4) });

    const parsed = lines.map((l) => JSON.parse(l) as ProgressLine);
    expect(parsed.map((p) => p.applied.map((a) => a.step))).toEqual([[], [0], [1, 2], [], [3], [4]]);
    const all = parsed.flatMap((p) => p.applied);
    expect(all).toEqual([0, 1, 2, 3, 4].map(round));
    expect(parsed[2].appliedStep).toBe(3);
    expect(parsed[2].checksum).toBe(CK(2));
  });

  it('writes lines that are JSON with the injected clock’s time and the summary', () => {
    const src = new FakeSource();
    const lines: string[] = [];
    const { now, times } = clock();
    writeJsonLines(src, (l) => lines.push(l), now);
    src.update({ status: 'training', lossHistory: [{ step: 5, loss: 2.5 }], peers: [{ id: 'p', state: 'connected' }] });
    src.update({ error: 'boom', status: 'error' });
    expect(lines).toHaveLength(3);
    for (const l of lines) {
      expect(l).not.toContain('\n');
      const p = JSON.parse(l) as ProgressLine;
      expect(times).toContain(p.at);
      expect(Object.keys(p).sort()).toEqual([...Object.keys(progressOf(emptyView(ID))), 'at', 'applied'].sort());
    }
    const last = JSON.parse(lines[2]) as ProgressLine;
    expect(last).toMatchObject({ status: 'error', error: 'boom', loss: 2.5, peers: { connected: 1, total: 1 }, clientId: ID });
    expect(JSON.parse(lines[1]).at < last.at).toBe(true);
  });

  it('stops writing once unsubscribed', () => {
    const src = new FakeSource();
    const lines: string[] = [];
    const stop = writeJsonLines(src, (l) => lines.push(l), clock().now);
    expect(src.listeners.size).toBe(1);
    src.update({ status: 'joining' });
    expect(lines).toHaveLength(2);
    stop();
    expect(src.listeners.size).toBe(0);
    src.update({ status: 'training', points: 9 });
    expect(lines).toHaveLength(2);
  });
});
