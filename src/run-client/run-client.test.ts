/**
 * RunClient end to end over fakes: a fake global WebSocket carries the
 * coordinator's frames (validated by CoordinatorSocket as real ones are), a
 * FakeWorker answers the GPU requests and a FakeSource serves the catch-up.
 * The focus is the join flow and leaveAtRoundBoundary().
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { verifyAuth } from '../net/auth-signature';
import { parseClientMessage, type ClientMessage, type ServerMessageOf } from '../net/messages';
import { messageFrames } from '../net/message-parts';
import { generateKeyPair } from '../protocol/commitment';
import { createRunState } from '../run/state-machine';
import { testConfig } from '../run/test-helpers';
import type { Phase, RunState } from '../run/types';
import { RunClient } from './run-client';
import type { RunMessage } from './state-receiver';
import { FakeSource, FakeWorker, hashOf, makeRound, member, payload, type Req } from './test-fakes';
import type { RunWorkerLink } from './worker-link';

/** What the client did, in order, across the socket and the worker: 'sent:join', 'worker:apply:0', … */
let events: string[] = [];

/** The browser's WebSocket, as much of it as CoordinatorSocket uses. Open from the start (it waits for `hello`, not `open`). */
class FakeWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static instances: FakeWebSocket[] = [];

  readyState = FakeWebSocket.OPEN;
  binaryType = 'blob';
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  /** Text frames, parsed (and so validated) as the coordinator parses them. */
  readonly sent: ClientMessage[] = [];
  /** Binary frames (relayPut). */
  readonly binary: Uint8Array[] = [];
  readonly closes: { code?: number; reason?: string }[] = [];
  /** The version of the last whole state delivered. */
  private stateVersion = 0;

  constructor(readonly url: string) {
    FakeWebSocket.instances.push(this);
  }

  send(data: string | Uint8Array): void {
    if (this.readyState !== FakeWebSocket.OPEN) throw new Error('send on a closed fake socket');
    if (typeof data === 'string') {
      const msg = parseClientMessage(data);
      this.sent.push(msg);
      events.push(`sent:${msg.type}`);
    } else {
      this.binary.push(data);
      events.push('sent:binary');
    }
  }

  close(code?: number, reason?: string): void {
    this.closes.push({ code, reason });
    this.readyState = FakeWebSocket.CLOSED;
    // As a browser does, the close event comes later.
    queueMicrotask(() => this.onclose?.({ code: code ?? 1005, reason: reason ?? '' }));
  }

  /** What the coordinator sends for `msg`: a welcome is followed by the whole state, and a state is a whole state. */
  deliver(msg: RunMessage): void {
    const onmessage = this.onmessage;
    if (!onmessage) throw new Error('no message handler on the fake socket');
    if (msg.type !== 'welcome' && msg.type !== 'state') return onmessage({ data: JSON.stringify(msg) });
    const { state, ...rest } = msg;
    if (rest.type === 'welcome') onmessage({ data: JSON.stringify(rest) });
    for (const data of messageFrames(JSON.stringify({ type: 'state', serverEpoch: '00'.repeat(8), version: ++this.stateVersion, state }))) onmessage({ data });
  }

  types(): string[] {
    return this.sent.map((m) => m.type);
  }
}

/** Event-loop turns until `cond` holds; fails after `turns` (the fakes answer within a few). */
async function until(cond: () => boolean, what: string, turns = 200): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await new Promise<void>((r) => setImmediate(r));
  }
  throw new Error(`still waiting for ${what} after ${turns} event-loop turns`);
}

/** Lets whatever is queued run (for asserting that something did NOT happen). */
async function settle(turns = 30): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A promise's settled state, observable without awaiting it. */
function track(p: Promise<void>): { resolved: boolean; rejected: unknown } {
  const t = { resolved: false, rejected: undefined as unknown };
  p.then(
    () => (t.resolved = true),
    (e: unknown) => (t.rejected = e ?? 'rejected'),
  );
  return t;
}

const CHALLENGE = 'c3'.repeat(32);
const LR_BITS = 0x3a83126f;

function setup() {
  const identity = generateKeyPair(new Uint8Array(32).fill(7));
  const id = bytesToHex(identity.publicKey);
  const config = testConfig({ verification: { probationRounds: 0, vestingRounds: 0, sampleRate: 0, references: 4 } });
  const worker = new FakeWorker();
  for (const type of Object.keys(worker.handlers) as Req['type'][]) {
    const inner = worker.handlers[type];
    worker.handlers[type] = (m) => {
      events.push(m.step === undefined ? `worker:${type}` : `worker:${type}:${String(m.step)}`);
      return inner(m);
    };
  }
  const source = new FakeSource();
  const client = new RunClient({
    socketUrl: 'ws://127.0.0.1:1/ws',
    identity,
    worker: worker as unknown as RunWorkerLink,
    catchUp: source,
    createPeer: () => {
      throw new Error('no peers in this test');
    },
  });

  const socket = (): FakeWebSocket => {
    const ws = FakeWebSocket.instances.at(-1);
    if (!ws) throw new Error('the client opened no socket');
    return ws;
  };

  /** The coordinator's state: phase and step as given, this client a member when `member`, round `step` with `slots`. */
  const state = (o: { phase: Phase; step?: number; member?: boolean; slots?: string[] | null }): RunState => {
    const s = createRunState(config, 0);
    const step = o.step ?? 0;
    s.phase = o.phase;
    s.step = step;
    if (o.member) {
      s.clients[id] = member(id, 0);
      s.nextJoinSeq = 1;
    }
    s.round = o.slots ? makeRound(step, o.slots) : null;
    return s;
  };

  /** join(), the handshake, and `welcome` with `s`; resolves once the welcome's catch-up and join have run. */
  const joinWith = async (s: RunState) => {
    client.join();
    socket().deliver({ type: 'hello', runId: config.runId, challenge: CHALLENGE });
    socket().deliver({ type: 'welcome', clientId: id, config, state: s });
    await until(() => client.state().status === 'joining' || client.state().status === 'training', 'the welcome chain');
  };

  const agreed = (step: number, hashes: string[] = []): ServerMessageOf<'agreed'> => ({
    type: 'agreed',
    step,
    epoch: 0,
    slots: hashes.map((_, i) => i),
    clients: hashes.map(() => id),
    hashes,
    lrBits: LR_BITS,
    excluded: [],
    checksum: null,
    base: step,
  });

  return { id, identity, config, worker, source, client, socket, state, joinWith, agreed };
}

type Setup = ReturnType<typeof setup>;

/**
 * A member that joined during Warmup, then got round 0 (phase, round, state as
 * the coordinator sends them), trained it and committed: the round in flight
 * holds its update.
 */
async function trainedRound0(t: Setup) {
  await t.joinWith(t.state({ phase: 'Warmup', member: true }));
  const ws = t.socket();
  ws.deliver({ type: 'phase', from: 'Warmup', to: 'RoundTrain', step: 0, epoch: 0 });
  ws.deliver({ type: 'round', epoch: 0, round: makeRound(0, [t.id]) });
  ws.deliver({ type: 'state', state: t.state({ phase: 'RoundTrain', member: true, slots: [t.id] }) });
  await until(() => ws.types().includes('commit'), 'the commit of round 0');
  return ws;
}

/** The coordinator's batch after round 0: agreed (this client's update), the next round with this client in it, the new state. */
function endRound0(t: Setup, ws: FakeWebSocket) {
  const own = hashOf(payload(100)); // FakeWorker's update for step 0
  ws.deliver(t.agreed(0, [own]));
  ws.deliver({ type: 'phase', from: 'RoundWitness', to: 'RoundTrain', step: 1, epoch: 0 });
  ws.deliver({ type: 'round', epoch: 0, round: makeRound(1, [t.id]) });
  ws.deliver({ type: 'state', state: t.state({ phase: 'RoundTrain', step: 1, member: true, slots: [t.id] }) });
  return own;
}

let consoleError: ReturnType<typeof vi.spyOn>;

beforeEach(() => {
  events = [];
  FakeWebSocket.instances = [];
  vi.stubGlobal('WebSocket', FakeWebSocket);
  consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  vi.spyOn(console, 'info').mockImplementation(() => {});
});

afterEach(() => {
  const errors = [...consoleError.mock.calls];
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  // A rejected frame or a failed chain step is logged with console.error: none is expected here.
  expect(errors).toEqual([]);
});

describe('RunClient join flow', () => {
  it('answers hello with a valid auth, catches up after welcome and asks to join', async () => {
    const t = setup();
    t.client.join();
    expect(t.client.state().status).toBe('connecting');
    expect(FakeWebSocket.instances).toHaveLength(1);
    const ws = t.socket();
    expect(ws.url).toBe('ws://127.0.0.1:1/ws');
    expect(ws.binaryType).toBe('arraybuffer');

    ws.deliver({ type: 'hello', runId: t.config.runId, challenge: CHALLENGE });
    expect(ws.types()).toEqual(['auth']);
    const auth = ws.sent[0] as Extract<ClientMessage, { type: 'auth' }>;
    expect(auth.publicKey).toBe(t.id);
    expect(verifyAuth(hexToBytes(t.config.runId), hexToBytes(CHALLENGE), hexToBytes(auth.signature), t.identity.publicKey)).toBe(true);
    // Signed for this run and challenge only.
    expect(verifyAuth(hexToBytes(t.config.runId), hexToBytes('c4'.repeat(32)), hexToBytes(auth.signature), t.identity.publicKey)).toBe(false);

    // Not a member yet: the run waits for members.
    ws.deliver({ type: 'welcome', clientId: t.id, config: t.config, state: t.state({ phase: 'WaitingForMembers' }) });
    expect(t.client.state().clientId).toBe(t.id);
    await until(() => ws.types().includes('join'), 'join');

    expect(t.worker.types()).toEqual(['plan', 'resume', 'load']);
    const load = t.worker.calls[2];
    expect(load.step).toBe(0);
    expect(load.runId).toBe(t.config.runId);
    expect(t.source.downloads).toBe(1);
    // Caught up before asking to join, and asked once.
    expect(events).toEqual(['sent:auth', 'worker:plan', 'worker:resume', 'worker:load:0', 'sent:join']);
    const view = t.client.state();
    expect(view.status).toBe('joining');
    expect(view.clientId).toBe(t.id);
    expect(view.appliedStep).toBe(0);
    expect(view.checksum).toBe(t.source.checkpoint.checksum);
    expect(view.error).toBeNull();
  });

  it('does not ask to join when the welcome already lists it as a member', async () => {
    const t = setup();
    await t.joinWith(t.state({ phase: 'Warmup', member: true }));
    await settle();
    expect(t.worker.types()).toEqual(['plan', 'resume', 'load']);
    expect(t.socket().types()).toEqual(['auth']);
    expect(t.client.state().status).toBe('training');
  });

  it('trains a round it holds a slot in and commits the update (the control for the leave tests)', async () => {
    const t = setup();
    const ws = await trainedRound0(t);
    const own = endRound0(t, ws);
    await until(() => t.worker.calls.some((c) => c.type === 'train' && c.step === 1), 'the train of round 1');
    expect(t.worker.calls.filter((c) => c.type === 'train').map((c) => c.step)).toEqual([0, 1]);
    expect(t.worker.applied()).toEqual([0]);
    expect(t.worker.calls.find((c) => c.type === 'apply')?.hashes).toEqual([own]);
    expect(ws.types()).not.toContain('leave');
    expect(t.client.state().status).toBe('training');
  });
});

describe('RunClient.leaveAtRoundBoundary', () => {
  it('resolves at once, sending nothing, before join()', async () => {
    const t = setup();
    await expect(t.client.leaveAtRoundBoundary()).resolves.toBeUndefined();
    expect(FakeWebSocket.instances).toHaveLength(0);
    expect(t.client.state().status).toBe('idle');
  });

  const notInRound: [string, (t: Setup) => RunState][] = [
    ['not a member, waiting for members', (t) => t.state({ phase: 'WaitingForMembers' })],
    ['a member during warmup', (t) => t.state({ phase: 'Warmup', member: true })],
    ['a member holding no slot of the round in training', (t) => t.state({ phase: 'RoundTrain', member: true, slots: [] })],
    ['in the slots but not yet a member', (t) => t.state({ phase: 'RoundTrain', slots: [t.id] })],
    ['a member in the slots during cooldown', (t) => t.state({ phase: 'Cooldown', member: true, slots: [t.id] })],
  ];

  it.each(notInRound)('leaves at once when it is %s', async (_, make) => {
    const t = setup();
    await t.joinWith(make(t));
    const ws = t.socket();
    const before = ws.sent.length;
    const left = track(t.client.leaveAtRoundBoundary());
    // Synchronously: the leave is sent and the socket closed before the promise is even awaited.
    expect(ws.sent.slice(before).map((m) => m.type)).toEqual(['leave']);
    expect(ws.closes).toEqual([{ code: 1000, reason: 'client left' }]);
    expect(t.client.state().status).toBe('left');
    await settle(2);
    expect(left.resolved).toBe(true);
    expect(t.client.state().status).toBe('left');
    // Closed by the client: no reconnect follows.
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it.each(['RoundTrain', 'RoundWitness'] as const)('waits while it holds a slot in %s, then leaves after the agreed set is applied', async (phase) => {
    const t = setup();
    await t.joinWith(t.state({ phase, member: true, slots: [t.id] }));
    const ws = t.socket();
    await settle();
    const callsBefore = t.worker.calls.length;

    const left = track(t.client.leaveAtRoundBoundary());
    await settle();
    expect(left.resolved).toBe(false);
    expect(ws.types()).not.toContain('leave');
    expect(ws.closes).toEqual([]);
    expect(t.client.state().status).toBe('training');

    // The agreed set of the round in flight (empty: nothing to fetch), then the next round, which lists it.
    // Hold the apply to see the leave wait for it.
    let finishApply = () => {};
    const applyInner = t.worker.handlers.apply;
    t.worker.handlers.apply = (m) => new Promise((resolve) => (finishApply = () => resolve(applyInner(m))));
    ws.deliver(t.agreed(0));
    ws.deliver({ type: 'round', epoch: 0, round: makeRound(1, [t.id]) });
    await until(() => t.worker.applied().length === 1, 'the apply of round 0');
    await settle();
    expect(t.worker.calls.length).toBe(callsBefore + 1);
    expect(t.source.agreedFrom).toEqual([]);
    expect(left.resolved).toBe(false);
    expect(ws.types()).not.toContain('leave');

    finishApply();
    await until(() => left.resolved, 'leaveAtRoundBoundary to resolve');
    const apply = t.worker.calls.find((c) => c.type === 'apply') as Req;
    expect(apply).toMatchObject({ step: 0, hashes: [], updates: [], lrBits: LR_BITS });
    expect(t.worker.types().filter((x) => x === 'train')).toEqual([]);
    expect(ws.types().filter((x) => x === 'leave')).toHaveLength(1);
    expect(events.indexOf('worker:apply:0')).toBeGreaterThanOrEqual(0);
    expect(events.indexOf('worker:apply:0')).toBeLessThan(events.indexOf('sent:leave'));
    expect(ws.closes).toEqual([{ code: 1000, reason: 'client left' }]);
    const view = t.client.state();
    expect(view.status).toBe('left');
    expect(view.appliedStep).toBe(1);
  });

  it('keeps its update in the round in flight: trains and commits it, applies the agreed set with it, then leaves without training the next round', async () => {
    const t = setup();
    const ws = await trainedRound0(t);
    const left = track(t.client.leaveAtRoundBoundary());
    await settle();
    expect(left.resolved).toBe(false);

    // The coordinator's batch after round 0, delivered before the client's chain runs: agreed, then round 1 with this client.
    const own = endRound0(t, ws);
    await until(() => left.resolved, 'leaveAtRoundBoundary to resolve');
    await settle();

    expect(t.worker.calls.filter((c) => c.type === 'train').map((c) => c.step)).toEqual([0]);
    const apply = t.worker.calls.find((c) => c.type === 'apply') as Req;
    expect(apply.step).toBe(0);
    expect(apply.hashes).toEqual([own]);
    expect(apply.updates).toEqual([payload(100)]);
    expect(ws.types()).toEqual(['auth', 'commit', 'leave']);
    expect(ws.binary).toHaveLength(1); // the relayPut of the committed update
    expect(events.indexOf('worker:apply:0')).toBeLessThan(events.indexOf('sent:leave'));
    expect(t.client.state().status).toBe('left');
    expect(t.client.state().appliedStep).toBe(1);
  });

  it('pipelined: leaves when the next round starts beside its own, which stays committed, without training it', async () => {
    const t = setup();
    const ws = await trainedRound0(t);
    const left = track(t.client.leaveAtRoundBoundary());
    // Round 0's commits closed: round 1 starts at once from the same parameters, round 0 is witnessed beside it.
    const own = hashOf(payload(100));
    const closed = t.state({ phase: 'RoundTrain', step: 1, member: true, slots: [t.id] });
    closed.round = makeRound(1, [t.id], { base: 0 });
    closed.witnessing = { ...makeRound(0, [t.id]), commitments: [own], closedAt: 1, checks: [] };
    ws.deliver({ type: 'round', epoch: 0, round: closed.round });
    ws.deliver({ type: 'state', state: closed });
    await until(() => left.resolved, 'leaveAtRoundBoundary to resolve');
    expect(t.worker.calls.filter((c) => c.type === 'train').map((c) => c.step)).toEqual([0]);
    expect(ws.types()).toEqual(['auth', 'commit', 'leave']);
    expect(t.client.state().status).toBe('left');
  });

  it('resolves a pending leave when leave() is called', async () => {
    const t = setup();
    await t.joinWith(t.state({ phase: 'RoundTrain', member: true, slots: [t.id] }));
    const ws = t.socket();
    const pending = track(t.client.leaveAtRoundBoundary());
    await settle();
    expect(pending.resolved).toBe(false);

    t.client.leave();
    expect(ws.types().filter((x) => x === 'leave')).toHaveLength(1);
    expect(ws.closes).toHaveLength(1);
    await until(() => pending.resolved, 'the pending leave to resolve');
    expect(t.client.state().status).toBe('left');

    // The agreed set it was waiting for, arriving late, sends no second leave.
    ws.deliver(t.agreed(0));
    await settle();
    expect(ws.types().filter((x) => x === 'leave')).toHaveLength(1);
    expect(t.client.state().status).toBe('left');
  });

  it('leaves at once when a round it was not in flight for begins (the run must not wait for its commit)', async () => {
    const t = setup();
    await t.joinWith(t.state({ phase: 'RoundWitness', member: true, slots: [t.id] }));
    const ws = t.socket();
    await settle();
    const left = track(t.client.leaveAtRoundBoundary());
    await settle();
    expect(left.resolved).toBe(false);
    // A new round that lists it, before any agreed set this client waited for: it leaves rather than sit in the slot.
    ws.deliver({ type: 'round', epoch: 0, round: makeRound(1, [t.id]) });
    await until(() => left.resolved, 'the leave');
    expect(t.worker.types().filter((x) => x === 'train')).toEqual([]);
    expect(ws.types().filter((x) => x === 'leave')).toHaveLength(1);
  });

  it('gives a second call while pending a promise that resolves with the first', async () => {
    const t = setup();
    await t.joinWith(t.state({ phase: 'RoundTrain', member: true, slots: [t.id] }));
    const ws = t.socket();
    const p1 = t.client.leaveAtRoundBoundary();
    const p2 = t.client.leaveAtRoundBoundary();
    const first = track(p1);
    const second = track(p2);
    await settle();
    expect(first.resolved).toBe(false);
    expect(second.resolved).toBe(false);
    expect(ws.types()).not.toContain('leave');

    ws.deliver(t.agreed(0));
    await until(() => first.resolved || second.resolved, 'a leave to resolve');
    // Both in the same turn: the one leave resolves them together.
    expect(first.resolved).toBe(true);
    expect(second.resolved).toBe(true);
    expect(ws.types().filter((x) => x === 'leave')).toHaveLength(1);
    expect(ws.closes).toHaveLength(1);
    expect(t.client.state().status).toBe('left');
  });

  it('resolves a pending leave when the coordinator ejects the client', async () => {
    const t = setup();
    await t.joinWith(t.state({ phase: 'RoundTrain', member: true, slots: [t.id] }));
    const ws = t.socket();
    const pending = track(t.client.leaveAtRoundBoundary());
    await settle();
    expect(pending.resolved).toBe(false);
    ws.deliver({ type: 'error', code: 'ejected', message: '3 strikes' });
    await until(() => pending.resolved, 'the pending leave to resolve');
    expect(t.client.state().status).toBe('error');
    expect(t.client.state().error).toMatch(/ejected/);
    expect(ws.closes).toHaveLength(1);
  });

  it('stays left when it leaves while catching up: no join is sent and the status does not go back to joining', async () => {
    const t = setup();
    t.client.join();
    const ws = t.socket();
    ws.deliver({ type: 'hello', runId: t.config.runId, challenge: CHALLENGE });
    ws.deliver({ type: 'welcome', clientId: t.id, config: t.config, state: t.state({ phase: 'WaitingForMembers' }) });
    t.client.leave();
    await settle(100);
    expect(ws.types()).not.toContain('join');
    expect(t.client.state().status).toBe('left');
  });

  it('ignores a resync that arrives after it has left', async () => {
    const t = setup();
    await t.joinWith(t.state({ phase: 'RoundTrain', member: true, slots: [t.id] }));
    const ws = t.socket();
    const loads = () => t.worker.types().filter((x) => x === 'load' || x === 'plan').length;
    const before = loads();
    const done = t.client.leaveAtRoundBoundary();
    ws.deliver(t.agreed(0));
    ws.deliver({ type: 'resync', step: 1, checksum: '0123456789abcdef' });
    await done;
    await settle(100);
    expect(loads()).toBe(before);
    expect(t.client.state().status).toBe('left');
  });
});
