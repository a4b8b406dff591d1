/**
 * PeerMesh's own rules on the CPU, with an in-process fake standing in for
 * simple-peer (the real WebRTC path is e2e/peer-mesh.spec.ts): who offers,
 * which signals are refused, frame size from maxMessageSize, back-pressure,
 * hash checking, control messages, timeouts.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { type MeshPeer, PeerMesh, type PeerMeshError, type PeerOptions, type PeerState } from './peer-mesh';
import type { SignalData } from './peer-messages';

type Handler = (arg?: unknown) => void;

/** A fake data channel: sends add to bufferedAmount, a timer drains it and fires bufferedamountlow. */
class FakeChannel extends EventTarget {
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  readyState: RTCDataChannelState = 'open';
  maxSeenBeforeSend = 0;
  private draining: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly drainPerTick: number) {
    super();
  }

  add(n: number): void {
    this.maxSeenBeforeSend = Math.max(this.maxSeenBeforeSend, this.bufferedAmount);
    if (this.drainPerTick === 0) return;
    this.bufferedAmount += n;
    this.draining ??= setInterval(() => {
      const before = this.bufferedAmount;
      this.bufferedAmount = Math.max(0, this.bufferedAmount - this.drainPerTick);
      if (before > this.bufferedAmountLowThreshold && this.bufferedAmount <= this.bufferedAmountLowThreshold) this.dispatchEvent(new Event('bufferedamountlow'));
      if (this.bufferedAmount === 0) {
        clearInterval(this.draining);
        this.draining = undefined;
      }
    }, 1);
  }
}

const registry = new Map<string, FakePeer>();
let serial = 0;

class FakePeer implements MeshPeer {
  readonly id = `p${serial++}`;
  partner: FakePeer | null = null;
  destroyed = false;
  readonly sent: (Uint8Array | string)[] = [];
  readonly _channel: FakeChannel;
  readonly _pc: { sctp: { maxMessageSize: number } };
  private readonly handlers = new Map<string, Handler[]>();

  constructor(
    readonly options: PeerOptions,
    fake: { maxMessageSize: number; drainPerTick: number; answer: boolean },
  ) {
    this._channel = new FakeChannel(fake.drainPerTick);
    this._pc = { sctp: { maxMessageSize: fake.maxMessageSize } };
    registry.set(this.id, this);
    if (options.initiator) queueMicrotask(() => this.fire('signal', { type: 'offer', sdp: `offer ${this.id}` }));
    this.answers = fake.answer;
  }

  private readonly answers: boolean;

  /** `never` accepts every MeshPeer listener signature; each is called with what its event carries. */
  on(event: string, fn: (arg: never) => void): this {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), fn as Handler]);
    return this;
  }

  fire(event: string, arg?: unknown): void {
    for (const fn of this.handlers.get(event) ?? []) fn(arg);
  }

  signal(data: SignalData): void {
    if (this.destroyed) throw new Error('cannot signal after peer is destroyed');
    if (data.type === 'offer' && this.answers) {
      this.partner = registry.get(data.sdp.split(' ')[1])!;
      queueMicrotask(() => this.fire('signal', { type: 'answer', sdp: `answer ${this.id}` }));
    }
    if (data.type === 'answer') {
      this.partner = registry.get(data.sdp.split(' ')[1])!;
      queueMicrotask(() => {
        this.fire('connect');
        this.partner!.fire('connect');
      });
    }
  }

  send(data: Uint8Array | string): void {
    this.sent.push(data);
    this._channel.add(typeof data === 'string' ? data.length : data.length);
    const copy = typeof data === 'string' ? data : data.slice();
    const to = this.partner!;
    queueMicrotask(() => to.destroyed || to.fire('data', copy));
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    queueMicrotask(() => {
      this.fire('close');
      if (this.partner && !this.partner.destroyed) this.partner.destroy();
    });
  }
}

interface Side {
  mesh: PeerMesh;
  peers: FakePeer[];
  payloads: { from: string; hash: string; bytes: Uint8Array }[];
  errors: PeerMeshError[];
  states: [string, PeerState][];
  messages: unknown[];
  warnings: string[];
}

function pair(opts: { maxMessageSize?: number; drainPerTick?: number; answer?: boolean; connectTimeoutMs?: number; highWaterBytes?: number; lowWaterBytes?: number; admit?: (id: string) => boolean } = {}) {
  const sides: Record<string, Side> = {};
  const make = (id: string): Side => {
    const side: Side = { mesh: null as never, peers: [], payloads: [], errors: [], states: [], messages: [], warnings: [] };
    side.mesh = new PeerMesh({
      localId: id,
      sendSignal: (to, data) => queueMicrotask(() => sides[to]?.mesh.onSignal(id, JSON.parse(JSON.stringify(data)))),
      createPeer: (o) => {
        const p = new FakePeer(o, { maxMessageSize: opts.maxMessageSize ?? 1 << 18, drainPerTick: opts.drainPerTick ?? 0, answer: opts.answer ?? true });
        side.peers.push(p);
        return p;
      },
      log: { warn: (m: string) => side.warnings.push(m) },
      connectTimeoutMs: opts.connectTimeoutMs,
      highWaterBytes: opts.highWaterBytes,
      lowWaterBytes: opts.lowWaterBytes,
      admit: opts.admit,
    });
    side.mesh.on('payload', (from, hash, bytes) => side.payloads.push({ from, hash, bytes }));
    side.mesh.on('error', (e) => side.errors.push(e));
    side.mesh.on('state', (r, s) => side.states.push([r, s]));
    side.mesh.on('message', (_from, m) => side.messages.push(m));
    return side;
  };
  sides.a = make('a');
  sides.b = make('b');
  return { a: sides.a, b: sides.b };
}

const settle = (ms = 5) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await settle(1);
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);
const hex = (b: Uint8Array) => bytesToHex(sha256(b));

describe('PeerMesh', () => {
  it('lets the smaller id offer; the other side answers without calling connect', async () => {
    const { a, b } = pair();
    a.mesh.connect('b');
    await until(() => a.mesh.state('b') === 'connected' && b.mesh.state('a') === 'connected', 'connected');
    expect(a.peers.map((p) => p.options.initiator)).toEqual([true]);
    expect(b.peers.map((p) => p.options.initiator)).toEqual([false]);
    expect(a.peers[0].options.config).toEqual({ iceServers: [] });
    expect(a.states).toEqual([['b', 'connecting'], ['b', 'connected']]);
  });

  it('when the larger id connects first it waits for the offer instead of making one', async () => {
    const { a, b } = pair();
    b.mesh.connect('a');
    await settle();
    expect(b.peers[0].options.initiator).toBe(false);
    expect(a.peers).toHaveLength(0);
    a.mesh.connect('b');
    await until(() => b.mesh.state('a') === 'connected', 'connected');
    expect(b.peers).toHaveLength(1);
  });

  it('refuses an offer from the side that should answer, and malformed signals, changing nothing', async () => {
    const { a } = pair();
    a.mesh.onSignal('b', { type: 'offer', sdp: 'offer x' });
    a.mesh.onSignal('b', { type: 'transceiverRequest', transceiverRequest: { kind: 'video' } });
    a.mesh.onSignal('', { type: 'offer', sdp: 'x' });
    expect(a.errors.map((e) => e.code)).toEqual(['UNEXPECTED_OFFER', 'BAD_SIGNAL', 'BAD_ID']);
    expect(a.warnings).toHaveLength(3);
    expect(a.mesh.peers()).toEqual([]);
  });

  it('answers no offer from a peer it does not admit, unless it connected to that peer itself', async () => {
    const { a, b } = pair({ admit: () => false, connectTimeoutMs: 200 });
    a.mesh.connect('b');
    await until(() => b.errors.length === 1, 'refusal');
    expect(b.errors[0].code).toBe('NOT_ADMITTED');
    expect(b.peers).toHaveLength(0);
    expect(b.mesh.peers()).toEqual([]);
    await until(() => a.mesh.state('b') === 'closed', 'the offer times out');
    // Its own connect makes the peer one it waits for: the offer is answered whatever `admit` says.
    b.mesh.connect('a');
    a.mesh.connect('b');
    await until(() => a.mesh.state('b') === 'connected' && b.mesh.state('a') === 'connected', 'connected');
  });

  it('sends payloads in frames no larger than maxMessageSize and emits them with their hash', async () => {
    const { a, b } = pair({ maxMessageSize: 2048 });
    a.mesh.connect('b');
    const payload = bytesOf(10_000, 1);
    await a.mesh.send('b', payload, hex(payload)); // waits for the connection
    await until(() => b.payloads.length === 1, 'payload');
    expect(b.payloads[0].from).toBe('a');
    expect(b.payloads[0].hash).toBe(hex(payload));
    expect(b.payloads[0].bytes).toEqual(payload);
    const frames = a.peers[0].sent as Uint8Array[];
    expect(frames.length).toBe(Math.ceil(10_000 / (2048 - 60)));
    for (const f of frames) expect(f.length).toBeLessThanOrEqual(2048);
  });

  it('reports a payload whose bytes do not match its hash as an error, never as a payload', async () => {
    const { a, b } = pair();
    a.mesh.connect('b');
    const payload = bytesOf(3000, 2);
    const claimed = hex(bytesOf(3000, 3));
    await a.mesh.send('b', payload, claimed);
    await a.mesh.send('b', payload, hex(payload));
    await until(() => b.payloads.length === 1, 'the good payload');
    expect(b.payloads[0].hash).toBe(hex(payload));
    expect(b.errors.map((e) => [e.code, e.remoteId, e.hash])).toEqual([['HASH_MISMATCH', 'a', claimed]]);
    expect(b.warnings.join('\n')).toMatch(/HASH_MISMATCH/);
    expect(b.mesh.state('a')).toBe('connected');
  });

  it('waits while the channel buffers more than the high-water mark', async () => {
    const { a, b } = pair({ maxMessageSize: 2048, drainPerTick: 1000, highWaterBytes: 8192, lowWaterBytes: 4096 });
    a.mesh.connect('b');
    const payload = bytesOf(200_000, 4);
    await a.mesh.send('b', payload, hex(payload));
    await until(() => b.payloads.length === 1, 'payload');
    expect(b.payloads[0].bytes).toEqual(payload);
    const channel = a.peers[0]._channel;
    expect(channel.bufferedAmountLowThreshold).toBe(4096);
    expect(channel.maxSeenBeforeSend).toBeLessThanOrEqual(8192);
    expect(channel.maxSeenBeforeSend).toBeGreaterThan(0); // the buffer did fill, so the wait was exercised
  });

  it('carries control messages and rejects malformed ones', async () => {
    const { a, b } = pair();
    a.mesh.connect('b');
    await until(() => a.mesh.state('b') === 'connected', 'connected');
    a.mesh.sendMessage('b', { type: 'have', step: 2, hashes: ['00'.repeat(32)] });
    a.peers[0].send('{"type":"have","step":"two"}');
    await until(() => b.messages.length + b.errors.length === 2, 'messages');
    expect(b.messages).toEqual([{ type: 'have', step: 2, hashes: ['00'.repeat(32)] }]);
    expect(b.errors.map((e) => e.code)).toEqual(['BAD_MESSAGE']);
    expect(() => a.mesh.sendMessage('b', { type: 'want', step: 1, hash: 'x' })).toThrow(/hash/);
  });

  it('fails a connection that does not open in time, and rejects its pending send', async () => {
    const { a } = pair({ answer: false, connectTimeoutMs: 20 });
    a.mesh.connect('b');
    const payload = bytesOf(10, 5);
    await expect(a.mesh.send('b', payload, hex(payload))).rejects.toMatchObject({ code: 'CONNECT_TIMEOUT' });
    expect(a.mesh.state('b')).toBe('closed');
    expect(a.states).toEqual([['b', 'connecting'], ['b', 'failed']]);
    expect(a.errors.map((e) => e.code)).toEqual(['CONNECT_TIMEOUT']);
    expect(a.peers[0].destroyed).toBe(true);
  });

  it('rejects sends to unknown peers and bad arguments', async () => {
    const { a } = pair();
    const payload = bytesOf(10, 6);
    await expect(a.mesh.send('b', payload, hex(payload))).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    a.mesh.connect('b');
    await expect(a.mesh.send('b', payload, 'AB'.repeat(32))).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(a.mesh.send('b', new Uint8Array(0), hex(payload))).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    expect(() => a.mesh.connect('a')).toThrow(/ourselves/);
  });

  it('closing one side closes the other; destroy ends everything', async () => {
    const { a, b } = pair();
    a.mesh.connect('b');
    await until(() => b.mesh.state('a') === 'connected', 'connected');
    a.mesh.close('b');
    await until(() => b.mesh.state('a') === 'closed', 'closed');
    expect(b.states.at(-1)).toEqual(['a', 'closed']);
    a.mesh.destroy();
    expect(() => a.mesh.connect('b')).toThrow(/destroyed/);
  });
});
