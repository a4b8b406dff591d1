/**
 * The client's copy of the state against a scripted server stream: whole states in parts, diffs in order, and every
 * way a diff can fail to apply (lost, foreign, not fitting, a refused frame) ending in one stateGet and a copy equal
 * to the server's. Every frame goes through the socket's reader (parts joined, everything validated).
 */
import { describe, expect, it } from 'vitest';
import { messageFrames, ServerFrameReader } from '../net/message-parts';
import { MAX_TEXT_FRAME_BYTES, MessageError, parseServerMessage, type ServerMessage } from '../net/messages';
import { diffState } from '../run/state-diff';
import { createRunState } from '../run/state-machine';
import { cid, hash, testConfig } from '../run/test-helpers';
import type { RunState } from '../run/types';
import { StateReceiver, type RunMessage } from './state-receiver';
import { makeRound, member } from './test-fakes';

const config = testConfig();

/** A run of `n` members in a round, with long client records (so states and diffs need several frames). */
function bigState(n: number): RunState {
  const s = createRunState(config, 0);
  const ids = Array.from({ length: n }, (_, i) => cid(i + 1));
  for (const [i, id] of ids.entries()) s.clients[id] = member(id, i, { unvested: [{ step: 1, amount: 5 }] });
  s.round = makeRound(0, ids);
  return s;
}

class ScriptedServer {
  serverEpoch = 'aa'.repeat(8);
  version = 0;
  constructor(public state: RunState) {}

  /** The server's frames after `change` was stored. */
  step(change: (s: RunState) => void): string[] {
    const next = structuredClone(this.state);
    change(next);
    const changes = diffState(this.state, next);
    this.state = next;
    if (changes === null) return [];
    this.version++;
    return frames({ type: 'stateDelta', serverEpoch: this.serverEpoch, version: this.version, prev: this.version - 1, changes });
  }

  full(): string[] {
    return frames({ type: 'state', serverEpoch: this.serverEpoch, version: this.version, state: this.state });
  }
}

function frames(msg: ServerMessage): string[] {
  const out = messageFrames(JSON.stringify(msg));
  for (const f of out) expect(new TextEncoder().encode(f).length).toBeLessThanOrEqual(MAX_TEXT_FRAME_BYTES);
  return out;
}

function setup(n = 500) {
  const server = new ScriptedServer(bigState(n));
  let asked = 0;
  const receiver = new StateReceiver(() => asked++);
  const reader = new ServerFrameReader();
  const seen: string[] = [];
  let last: RunMessage | null = null;
  // As CoordinatorSocket: parts joined and validated, a refused frame told to the receiver.
  const feed = (texts: string[]) => {
    for (const text of texts) {
      let whole;
      try {
        whole = reader.read(text);
      } catch (e) {
        receiver.frameRefused();
        throw e;
      }
      const out = whole === null ? null : receiver.receive(whole);
      if (out) {
        seen.push(out.type);
        last = out;
      }
    }
  };
  const welcome = JSON.stringify({ type: 'welcome', clientId: cid(1), config });
  return { server, receiver, seen, feed, welcome, asked: () => asked, last: () => last };
}

const commit = (slot: number, h: number) => (s: RunState) => {
  s.round!.commitments[slot] = hash(h);
};

describe('StateReceiver', () => {
  it('joins a 500-member run: the welcome waits for the whole state, which comes in frames under the limit', () => {
    const t = setup(500);
    const full = t.server.full();
    expect(full.length).toBeGreaterThan(3);
    t.feed([t.welcome, ...full]);
    expect(t.seen).toEqual(['welcome']);
    const welcome = t.last();
    expect(welcome !== null && welcome.type === 'welcome' ? welcome.state : null).toEqual(t.server.state);
    expect(t.asked()).toBe(0);
  });

  it('applies diffs in order, including one too large for a frame, and ends equal', () => {
    const t = setup(500);
    t.feed([t.welcome, ...t.server.full()]);
    for (let i = 0; i < 20; i++) t.feed(t.server.step(commit(i, i)));
    // An agreed round changes every member's record: more than a frame, so it travels in parts.
    const agreed = t.server.step((s) => {
      for (const c of Object.values(s.clients)) c.points += 10;
    });
    expect(agreed.length).toBeGreaterThan(1);
    expect(agreed.every((f) => parseServerMessage(f).type === 'part')).toBe(true);
    t.feed(agreed);
    expect(t.seen).toEqual(['welcome', ...Array(21).fill('state')]);
    expect(t.receiver.state).toEqual(t.server.state);
    expect(t.receiver.version).toBe(t.server.version);
    expect(t.asked()).toBe(0);
  });

  it('a lost diff: the next one asks for the whole state once, diffs until it comes are dropped, and the copy ends equal', () => {
    const t = setup(50);
    t.feed([t.welcome, ...t.server.full()]);
    t.feed(t.server.step(commit(0, 1)));
    t.server.step(commit(1, 2)); // lost
    t.feed(t.server.step(commit(2, 3)));
    expect(t.asked()).toBe(1);
    t.feed(t.server.step(commit(3, 4)));
    expect(t.asked()).toBe(1);
    expect(t.receiver.state?.round?.commitments[3]).toBeNull();
    t.feed(t.server.full());
    t.feed(t.server.step(commit(4, 5)));
    expect(t.receiver.state).toEqual(t.server.state);
    expect(t.asked()).toBe(1);
  });

  it('ignores a diff it already holds; asks again for a diff of another server process or one that does not fit', () => {
    const t = setup(10);
    t.feed([t.welcome, ...t.server.full()]);
    const frames = t.server.step(commit(0, 1));
    t.feed(frames);
    t.feed(frames);
    expect(t.asked()).toBe(0);
    t.server.serverEpoch = 'bb'.repeat(8);
    t.feed(t.server.step(commit(1, 2)));
    expect(t.asked()).toBe(1);
    t.feed(t.server.full());
    expect(t.receiver.state).toEqual(t.server.state);
    // Claims to follow the version held but patches a slot the round lacks.
    const misfit = JSON.stringify({ type: 'stateDelta', serverEpoch: t.server.serverEpoch, version: t.server.version + 1, prev: t.server.version, changes: { patch: { round: { at: { commitments: [[4000, hash(1)]] } } } } });
    t.feed([misfit]);
    expect(t.asked()).toBe(2);
  });

  it('refuses parts out of order, then asks for the whole state at the next diff', () => {
    const t = setup(500);
    t.feed([t.welcome]);
    const full = t.server.full();
    expect(() => t.feed([full[0], full[2]])).toThrow(MessageError);
    expect(t.seen).toEqual([]);
    t.feed(t.server.step(commit(0, 1)));
    expect(t.asked()).toBe(1);
    t.feed(t.server.full());
    expect(t.seen).toEqual(['welcome']);
    expect(t.receiver.state).toEqual(t.server.state);
  });
});
