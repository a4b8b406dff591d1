import { afterEach, describe, expect, it, vi } from 'vitest';
import { meshGraph } from '../net/mesh-links';
import type { PeerState } from '../net/peer-mesh';
import type { PeerMessage } from '../net/peer-messages';
import { createRunState } from '../run/state-machine';
import { testConfig } from '../run/test-helpers';
import type { RunState } from '../run/types';
import { MeshGossip, MESH_STORE_DELAY_MS } from './mesh-gossip';
import { PayloadInbox } from './payload-inbox';
import { FakeMesh, hashOf, makeRound, payload } from './test-fakes';

const RUN = testConfig().runId;

/** Tabs joined by links that carry payloads and messages on the next microtask, as a data channel would, counting every payload carried. */
class Net {
  readonly nodes = new Map<string, { gossip: MeshGossip; inbox: PayloadInbox; mesh: LinkedMesh; storeAsks: string[] }>();
  readonly carried: { from: string; to: string; hash: string }[] = [];
  server: RunState = createRunState(testConfig(), 0) as RunState;

  add(id: string, partial = true): void {
    const storeAsks: string[] = [];
    // Wired as RunClient wires them: the inbox asks the gossip how long to leave a missing payload to the mesh.
    const inbox: PayloadInbox = new PayloadInbox((h) => storeAsks.push(h), 10_000, () => gossip.storeDelayMs());
    const mesh = new LinkedMesh(id, this);
    const gossip: MeshGossip = new MeshGossip({ id, mesh: () => mesh, server: () => this.server, inbox, partial: () => partial, log: { warn: () => {} } });
    this.nodes.set(id, { gossip, inbox, mesh, storeAsks });
  }

  link(a: string, b: string): void {
    this.node(a).mesh.links.set(b, 'connected');
    this.node(b).mesh.links.set(a, 'connected');
    this.node(a).gossip.onPeerState(b, 'connected');
    this.node(b).gossip.onPeerState(a, 'connected');
  }

  cut(a: string, b: string): void {
    this.node(a).mesh.links.delete(b);
    this.node(b).mesh.links.delete(a);
    this.node(a).gossip.onPeerState(b, 'closed');
    this.node(b).gossip.onPeerState(a, 'closed');
  }

  node(id: string) {
    return this.nodes.get(id)!;
  }

  /** The coordinator's state changed: every tab hears it. */
  setState(s: RunState): void {
    this.server = s;
    for (const n of this.nodes.values()) n.gossip.onState();
  }
}

class LinkedMesh {
  readonly links = new Map<string, PeerState>();
  /** Links that take messages but never deliver payloads (a stalled forwarder). */
  readonly mute = new Set<string>();

  constructor(
    private readonly id: string,
    private readonly net: Net,
  ) {}

  state(peer: string): PeerState {
    return this.links.get(peer) ?? 'closed';
  }

  peers(): string[] {
    return [...this.links.keys()];
  }

  send(to: string, bytes: Uint8Array, hash: string): Promise<void> {
    if (this.state(to) !== 'connected') return Promise.reject(new Error('not connected'));
    if (this.mute.has(to)) return Promise.resolve();
    this.net.carried.push({ from: this.id, to, hash });
    queueMicrotask(() => this.net.node(to).gossip.receive(hash, bytes, this.id));
    return Promise.resolve();
  }

  sendMessage(to: string, message: PeerMessage): void {
    if (this.state(to) !== 'connected') throw new Error('not connected');
    queueMicrotask(() => this.net.node(to).gossip.onMessage(this.id, message));
  }
}

const flush = async () => {
  for (let i = 0; i < 50; i++) await Promise.resolve();
};

/** A round of `slots` in which slot i committed payload(10 + i). */
function committed(step: number, slots: string[]): { state: RunState; payloads: Uint8Array[] } {
  const payloads = slots.map((_, i) => payload(10 + i + 16 * step));
  const s = createRunState(testConfig(), 0) as RunState;
  s.phase = 'RoundTrain';
  s.step = step;
  s.round = makeRound(step, slots, { commitments: payloads.map(hashOf) });
  return { state: s, payloads };
}

describe('MeshGossip', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('over a ring of five, every tab gets every payload once: pushed by its author to its links, forwarded by pull beyond', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const net = new Net();
    ids.forEach((id) => net.add(id));
    const graph = meshGraph(ids, 2, RUN);
    for (const [a, links] of graph) for (const b of links) if (a < b) net.link(a, b);
    const { state, payloads } = committed(3, ids);
    net.setState(state);
    ids.forEach((id, i) => {
      const h = hashOf(payloads[i]);
      net.node(id).inbox.keep(h, 3, payloads[i]);
      for (const peer of graph.get(id)!) void net.node(id).gossip.send(peer, payloads[i], h);
    });
    await flush();
    for (const id of ids) {
      for (const p of payloads) expect(net.node(id).inbox.has(hashOf(p)), `${id} holds ${hashOf(p).slice(0, 6)}`).toBe(true);
      // Two authors are its links, two are not.
      expect(net.node(id).gossip.payloadsFrom).toEqual({ peer: 2, forwarded: 2, store: 0 });
      expect(net.node(id).storeAsks).toEqual([]);
    }
    // Each tab received each of the four foreign payloads exactly once: 20 transfers, none back to its sender.
    expect(net.carried).toHaveLength(20);
    const perLink = new Set(net.carried.map((c) => `${c.from}>${c.to}:${c.hash}`));
    expect(perLink.size).toBe(20);
    for (const c of net.carried) expect(net.carried.some((d) => d.from === c.to && d.to === c.from && d.hash === c.hash)).toBe(false);
    // What the ring forwarded counts as bytes sent by the forwarders.
    const forwardedBytes = ids.reduce((n, id) => n + net.node(id).gossip.bytesForwarded, 0);
    expect(forwardedBytes).toBe(10 * payloads[0].length);
  });

  it('neither announces, asks for nor serves a payload that is not a commitment on record', async () => {
    const net = new Net();
    ['a', 'b', 'c'].forEach((id) => net.add(id));
    net.link('a', 'b');
    net.link('b', 'c');
    const { state } = committed(1, ['a', 'b', 'c']);
    net.setState(state);
    const junk = payload(99);
    const junkHash = hashOf(junk);
    // a pushes bytes nobody committed: b holds them as a peer's payload (as before), tells c nothing.
    await net.node('a').gossip.send('b', junk, junkHash);
    await flush();
    expect(net.node('b').inbox.has(junkHash)).toBe(true);
    // a asks c for them after a fake `have`, and asks b to serve them: neither moves.
    net.node('c').gossip.onMessage('b', { type: 'have', step: 1, hashes: [junkHash] });
    net.node('b').gossip.onMessage('c', { type: 'want', step: 1, hash: junkHash });
    await flush();
    expect(net.carried.filter((c) => c.hash === junkHash)).toEqual([{ from: 'a', to: 'b', hash: junkHash }]);
    expect(net.node('c').inbox.has(junkHash)).toBe(false);
  });

  it('announces a payload that came before its commitment was on record once the state shows it', async () => {
    const net = new Net();
    ['a', 'b', 'c'].forEach((id) => net.add(id));
    net.link('a', 'b');
    net.link('b', 'c');
    const { state, payloads } = committed(2, ['a', 'b', 'c']);
    const early = structuredClone(state);
    early.round!.commitments = [null, null, null];
    net.setState(early);
    const h = hashOf(payloads[0]);
    await net.node('a').gossip.send('b', payloads[0], h);
    await flush();
    expect(net.node('c').inbox.has(h)).toBe(false);
    net.setState(state);
    await flush();
    expect(net.node('c').inbox.has(h)).toBe(true);
    expect(net.node('c').gossip.payloadsFrom.forwarded).toBe(1);
  });

  it('serves a payload to a link once, and not to the link that announced it', async () => {
    const net = new Net();
    ['a', 'b'].forEach((id) => net.add(id));
    net.link('a', 'b');
    const { state, payloads } = committed(1, ['a', 'b']);
    net.setState(state);
    const h = hashOf(payloads[0]);
    net.node('a').inbox.keep(h, 1, payloads[0]);
    const a = net.node('a').gossip;
    a.onMessage('b', { type: 'want', step: 1, hash: h });
    a.onMessage('b', { type: 'want', step: 1, hash: h });
    await flush();
    expect(net.carried).toHaveLength(1);
    // It announced the other's payload: asking a for it later gets nothing back either.
    const h2 = hashOf(payloads[1]);
    net.node('a').inbox.keep(h2, 1, payloads[1]);
    a.onMessage('b', { type: 'have', step: 1, hashes: [h2] });
    a.onMessage('b', { type: 'want', step: 1, hash: h2 });
    await a.send('b', payloads[1], h2);
    await flush();
    expect(net.carried).toHaveLength(1);
  });

  it('asks the next holder when one does not deliver in time or drops, and leaves the rest to the store', async () => {
    vi.useFakeTimers();
    const net = new Net();
    ['x', 'p', 'q', 'r'].forEach((id) => net.add(id));
    for (const peer of ['p', 'q', 'r']) net.link('x', peer);
    const { state, payloads } = committed(4, ['x', 'p', 'q', 'r', 'author']);
    net.setState(state);
    const h = hashOf(payloads[4]);
    for (const peer of ['p', 'q', 'r']) {
      net.node(peer).inbox.keep(h, 4, payloads[4]);
      net.node(peer).mesh.mute.add('x');
    }
    const wants: string[] = [];
    const x = net.node('x');
    const sendMessage = x.mesh.sendMessage.bind(x.mesh);
    x.mesh.sendMessage = (to, m) => (m.type === 'want' && wants.push(to), sendMessage(to, m));
    x.gossip.onMessage('p', { type: 'have', step: 4, hashes: [h] });
    x.gossip.onMessage('q', { type: 'have', step: 4, hashes: [h] });
    x.gossip.onMessage('r', { type: 'have', step: 4, hashes: [h] });
    expect(wants).toEqual(['p']);
    await vi.advanceTimersByTimeAsync(3000);
    expect(wants).toEqual(['p', 'q']);
    net.cut('x', 'q');
    expect(wants).toEqual(['p', 'q', 'r']);
    await vi.advanceTimersByTimeAsync(3000);
    expect(wants).toEqual(['p', 'q', 'r']);
    // The inbox waits the mesh's grace, then asks the store.
    const arrived = x.inbox.want(h);
    expect(x.storeAsks).toEqual([]);
    await vi.advanceTimersByTimeAsync(MESH_STORE_DELAY_MS);
    expect(x.storeAsks).toEqual([h]);
    x.gossip.receive(h, payloads[4], 'relay');
    await expect(arrived).resolves.toEqual(payloads[4]);
    expect(x.gossip.payloadsFrom).toEqual({ peer: 0, forwarded: 0, store: 1 });
  });

  it('tells a new link what it holds, and forgets rounds older than the one before the newest', async () => {
    const net = new Net();
    ['a', 'b'].forEach((id) => net.add(id));
    const { state, payloads } = committed(5, ['a', 'b', 'c']);
    net.setState(state);
    const h = hashOf(payloads[2]);
    net.node('a').inbox.keep(h, 5, payloads[2]);
    net.link('a', 'b');
    await flush();
    expect(net.node('b').inbox.has(h)).toBe(true);
    // Two rounds on, step 5's commitments are off record: a want for one is not served.
    net.node('b').gossip.onPeerState('a', 'closed');
    net.setState(committed(6, ['a', 'b']).state);
    net.setState(committed(7, ['a', 'b']).state);
    net.node('a').gossip.onMessage('b', { type: 'want', step: 5, hash: h });
    await flush();
    expect(net.carried).toHaveLength(1);
  });

  it('waits for the author’s push before asking a forwarder, and asks the forwarder if the push does not come', async () => {
    vi.useFakeTimers();
    const net = new Net();
    ['a', 'b', 'c'].forEach((id) => net.add(id));
    net.link('a', 'b');
    net.link('a', 'c');
    net.link('b', 'c');
    const { state, payloads } = committed(1, ['a', 'b', 'c', 'd']);
    net.setState(state);
    const h = hashOf(payloads[0]);
    await net.node('a').gossip.send('b', payloads[0], h);
    await flush();
    // b announced it to c, which expects a's own push: no second copy.
    await net.node('a').gossip.send('c', payloads[0], h);
    await flush();
    expect(net.carried.map((c) => `${c.from}>${c.to}`)).toEqual(['a>b', 'a>c']);
    // Next round a pushes to b only (its push to c was lost): c asks b once the wait is over.
    const next = committed(2, ['a', 'b', 'c', 'd']);
    net.setState(next.state);
    const h2 = hashOf(next.payloads[0]);
    await net.node('a').gossip.send('b', next.payloads[0], h2);
    await flush();
    expect(net.node('c').inbox.has(h2)).toBe(false);
    await vi.advanceTimersByTimeAsync(3000);
    expect(net.node('c').inbox.has(h2)).toBe(true);
    expect(net.carried.slice(2).map((c) => `${c.from}>${c.to}`)).toEqual(['a>b', 'b>c']);
  });

  it('asks an author at once when it announces its update instead of pushing it', async () => {
    vi.useFakeTimers();
    const net = new Net();
    ['a', 'b', 'c'].forEach((id) => net.add(id));
    net.link('a', 'b');
    net.link('b', 'c');
    const { state, payloads } = committed(1, ['a', 'b', 'c', 'd']);
    net.setState(state);
    const h = hashOf(payloads[0]);
    net.node('a').inbox.keep(h, 1, payloads[0]);
    // The link a–c is open on c's side only when a pushes (to b alone): c hears b's `have` and awaits a's push.
    net.node('c').mesh.links.set('a', 'connected');
    await net.node('a').gossip.send('b', payloads[0], h);
    await flush();
    expect(net.node('c').inbox.has(h)).toBe(false);
    // Then it opens on a's side too: a announces, and c asks a without waiting out the 3 s.
    net.node('a').mesh.links.set('c', 'connected');
    net.node('a').gossip.onPeerState('c', 'connected');
    await flush();
    expect(net.node('c').inbox.has(h)).toBe(true);
    expect(net.carried.map((c) => `${c.from}>${c.to}`)).toEqual(['a>b', 'a>c']);
  });

  it('announces nothing in the full mesh: every author reaches every member itself', async () => {
    const net = new Net();
    ['a', 'b', 'c'].forEach((id) => net.add(id, false));
    net.link('a', 'b');
    net.link('a', 'c');
    net.link('b', 'c');
    const { state, payloads } = committed(1, ['a', 'b', 'c']);
    net.setState(state);
    const h = hashOf(payloads[0]);
    await net.node('a').gossip.send('b', payloads[0], h);
    await flush();
    expect(net.node('c').inbox.has(h)).toBe(false);
    expect(net.carried).toHaveLength(1);
  });

  it('gives the inbox a grace before the store only when the mesh is partial', () => {
    const net = new Net();
    net.add('a', true);
    net.add('b', false);
    expect(net.node('a').gossip.storeDelayMs()).toBe(MESH_STORE_DELAY_MS);
    expect(net.node('b').gossip.storeDelayMs()).toBe(0);
  });
});

describe('MeshGossip with the run client fakes', () => {
  it('pushes the author’s update through the duties to its connected links only, once each', async () => {
    const mesh = new FakeMesh();
    mesh.states.set('l1', 'connected');
    mesh.states.set('l2', 'connecting');
    const { state, payloads } = committed(0, ['me', 'l1', 'l2']);
    const inbox = new PayloadInbox(() => {});
    const gossip = new MeshGossip({ id: 'me', mesh: () => mesh, server: () => state, inbox, partial: () => true });
    gossip.onState();
    const h = hashOf(payloads[0]);
    await gossip.send('l1', payloads[0], h);
    await gossip.send('l1', payloads[0], h);
    expect(mesh.sends.map((s) => s.to)).toEqual(['l1']);
    // l2 connects later: it hears a `have` and pulls.
    inbox.keep(h, 0, payloads[0]);
    mesh.states.set('l2', 'connected');
    gossip.onPeerState('l2', 'connected');
    expect(mesh.messages).toEqual([{ to: 'l2', message: { type: 'have', step: 0, hashes: [h] } }]);
  });
});
