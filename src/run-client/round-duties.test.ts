import { hexToBytes } from '@noble/hashes/utils.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ClientMessage, ServerMessageOf } from '../net/messages';
import { verifyWitness } from '../net/witness-signature';
import { verifyCheckpoint, verifyCommitment } from '../protocol/commitment';
import type { Round } from '../run/types';
import { heldBitmap } from './round-duties';
import { afterStep, agreedRound, cid, hashOf, makeRound, makeTab, member, payload } from './test-fakes';

type Sent<T extends ClientMessage['type']> = Extract<ClientMessage, { type: T }>;

/** A member tab caught up to `step`, in round `step` with three peers after it in slot order. */
async function memberAt(step: number, opts: { relayTimeoutMs?: number; viaBucket?: () => boolean } = {}) {
  const tab = makeTab(opts);
  tab.source.checkpoint = { ...tab.source.checkpoint, step, checksum: afterStep(step - 1) };
  tab.worker.handlers.load = () => ({ type: 'loaded', checksum: afterStep(step - 1), parameters: 1, adapter: 'fake' });
  tab.server.step = step;
  await tab.replica.catchUp(2 ** 30);
  const slots = [tab.id, cid(2), cid(3), cid(4)];
  slots.forEach((id, i) => (tab.server.clients[id] = member(id, i)));
  tab.server.phase = 'RoundTrain';
  tab.server.round = makeRound(step, slots);
  return tab;
}

type Tab = Awaited<ReturnType<typeof memberAt>>;

/** The coordinator's view after commits closed: every slot committed `hashes`, checks drawn. */
function commitsClosed(tab: Tab, hashes: (string | null)[], checks: Round['checks'] = []) {
  const round = tab.server.round as Round;
  tab.server.round = { ...round, commitments: hashes, checks };
  tab.server.phase = 'RoundWitness';
}

const agreed = (step: number, hashes: string[]): ServerMessageOf<'agreed'> => ({
  type: 'agreed',
  step,
  epoch: 0,
  slots: hashes.map((_, i) => i),
  clients: hashes.map((_, i) => cid(i + 1)),
  hashes,
  lrBits: 0x3a83126f,
  excluded: [],
  checksum: null,
  base: step,
});

/** Lets the fakes' promise chains run (they answer within a few microtasks). */
const flush = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('RoundDuties', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  describe('train', () => {
    it('trains its assigned range, then commits before it uploads, with a valid signature', async () => {
      const tab = await memberAt(5);
      await tab.duties.train(tab.server.round as Round, 0);
      const t = tab.worker.calls.find((c) => c.type === 'train');
      expect(t).toMatchObject({ step: 5, start: 0, count: 4, lrBits: 0x3a83126f });
      const update = payload(105);
      const hash = hashOf(update);
      expect(tab.socket.types()).toEqual(['commit']);
      const commit = tab.socket.sent[0] as Sent<'commit'>;
      expect(commit).toMatchObject({ step: 5, hash });
      expect(verifyCommitment(hexToBytes(hash), hexToBytes(commit.signature), tab.identity.publicKey, { runId: hexToBytes(tab.config.runId), step: 5 })).toBe(true);
      expect(tab.socket.uploads).toEqual([{ header: { type: 'relayPut', step: 5, hash }, bytes: update }]);
      expect(tab.socket.order).toEqual(['commit', 'relayPut']);
      expect(tab.inbox.get(hash)).toEqual(update);
      expect(tab.view.current.lossHistory).toEqual([{ step: 5, loss: 2.5 }]);
      expect(tab.view.current).toMatchObject({ trainMs: 100, tokensPerSec: 640 });
    });

    it('commits without a relayPut when the coordinator keeps payloads in a bucket (the bytes go up on its uploadUrl)', async () => {
      const tab = await memberAt(5, { viaBucket: () => true });
      await tab.duties.train(tab.server.round as Round, 0);
      expect(tab.socket.order).toEqual(['commit']);
      expect(tab.socket.uploads).toEqual([]);
      expect(tab.duties.lastUpdate).toMatchObject({ step: 5, hash: hashOf(payload(105)), bytes: payload(105) });
    });

    it("reports this round's loss and train time, and the previous round's apply time, with the commit", async () => {
      const tab = await memberAt(5);
      await tab.duties.train(tab.server.round as Round, 0);
      // Joined from the checkpoint of step 5: no apply of round 4 to report.
      expect((tab.socket.sent[0] as Sent<'commit'>).stats).toEqual({ loss: 2.5, trainMs: 100 });
      await tab.duties.applyAgreed(agreed(5, []));
      tab.worker.handlers.train = (m) => ({ type: 'trained', step: m.step, update: payload(200), loss: 2.25, gradNorm: 1, count: m.count as number, tokens: 64, ms: 80 });
      tab.server.step = 6;
      tab.server.round = makeRound(6, tab.server.round!.slots);
      await tab.duties.train(tab.server.round, 0);
      expect((tab.socket.sent[1] as Sent<'commit'>).stats).toEqual({ loss: 2.25, trainMs: 80, applyMs: 1 });
    });

    it('with a time box, asks the worker to train until it ends and commits the count it reached', async () => {
      const tab = await memberAt(5);
      tab.worker.handlers.train = (m) => ({ type: 'trained', step: m.step, update: payload(105), loss: 2.5, gradNorm: 1, count: 3, tokens: 3 * 64, ms: 100 });
      await tab.duties.train(tab.server.round as Round, 0, 1_900_000_000_000);
      const req = tab.worker.calls.find((c) => c.type === 'train')!;
      expect(req).toMatchObject({ start: 0, count: 4, until: 1_900_000_000_000 });
      expect(tab.socket.sent[0]).toMatchObject({ type: 'commit', step: 5, count: 3 });
      // Without one, the whole assignment and no deadline.
      const plain = await memberAt(5);
      await plain.duties.train(plain.server.round as Round, 0);
      expect(plain.worker.calls.find((c) => c.type === 'train')).not.toHaveProperty('until');
      expect(plain.socket.sent[0]).toMatchObject({ type: 'commit', count: 4 });
    });

    it('commits without stats when the loss is not a number the coordinator accepts', async () => {
      const tab = await memberAt(5);
      tab.worker.handlers.train = (m) => ({ type: 'trained', step: m.step, update: payload(105), loss: NaN, gradNorm: 1, count: m.count as number, tokens: 64, ms: 100 });
      await tab.duties.train(tab.server.round as Round, 0);
      expect(tab.socket.types()).toEqual(['commit']);
      expect(tab.socket.sent[0]).not.toHaveProperty('stats');
    });

    it('sits the round out and replays when it is behind', async () => {
      const tab = await memberAt(5);
      tab.source.rounds = [agreedRound(5)];
      tab.server.round = makeRound(6, tab.server.round!.slots);
      vi.spyOn(console, 'warn').mockImplementation(() => {});
      await tab.duties.train(tab.server.round, 0);
      expect(tab.worker.types()).not.toContain('train');
      expect(tab.worker.applied()).toEqual([5]);
      expect(tab.socket.sent).toEqual([]);
    });

    it('sends the update again after a reconnect, unless the coordinator has it or commits closed', async () => {
      const tab = await memberAt(5);
      tab.socket.up = false;
      await tab.duties.train(tab.server.round as Round, 0);
      expect(tab.socket.sent).toEqual([]);
      tab.socket.up = true;
      tab.duties.sendUpdate();
      expect(tab.socket.types()).toEqual(['commit']);
      expect(tab.socket.uploads).toHaveLength(1);
      const hash = (tab.socket.sent[0] as Sent<'commit'>).hash;
      // The coordinator has the commit now: nothing to send.
      tab.server.round = { ...tab.server.round!, commitments: [hash, null, null, null] };
      tab.duties.sendUpdate();
      tab.server.round = { ...tab.server.round, commitments: [null, null, null, null] };
      tab.server.phase = 'RoundWitness';
      tab.duties.sendUpdate();
      // A later round: the old update is stale.
      tab.server.phase = 'RoundTrain';
      tab.server.round = makeRound(6, tab.server.round.slots);
      tab.duties.sendUpdate();
      expect(tab.socket.types()).toEqual(['commit']);
    });
  });

  describe('sendUpdate on later states', () => {
    it('commits an update whose training ended before the state that opens its round, once, and again only after a reconnect', async () => {
      const tab = await memberAt(5);
      const round = tab.server.round as Round;
      // The tab still holds the previous round's state when its training ends.
      tab.server.round = makeRound(4, round.slots);
      await tab.duties.train(round, 0);
      expect(tab.socket.sent).toEqual([]);
      // The state of round 5 arrives: the commit goes out.
      tab.server.round = round;
      tab.duties.sendUpdate();
      expect(tab.socket.types()).toEqual(['commit']);
      // Other states of the round (other tabs' commits, before the coordinator's own shows this one): not sent twice.
      tab.duties.sendUpdate();
      tab.duties.sendUpdate();
      expect(tab.socket.types()).toEqual(['commit']);
      // After a reconnect the coordinator may have lost it: sent again.
      tab.duties.sendUpdate(true);
      expect(tab.socket.types()).toEqual(['commit', 'commit']);
    });
  });

  describe('offerToPeers', () => {
    it('offers the update to connected peers once the commit of that round is acknowledged, once', async () => {
      const tab = await memberAt(5);
      tab.mesh.states.set(cid(2), 'connected');
      tab.mesh.states.set(cid(3), 'connecting');
      tab.mesh.states.set(cid(4), 'connected');
      await tab.duties.train(tab.server.round as Round, 0);
      expect(tab.mesh.sends).toEqual([]);
      tab.duties.offerToPeers(4);
      tab.duties.offerToPeers(undefined);
      expect(tab.mesh.sends).toEqual([]);
      tab.duties.offerToPeers(5);
      const hash = hashOf(payload(105));
      expect(tab.mesh.sends.map((s) => [s.to, s.hash])).toEqual([
        [cid(2), hash],
        [cid(4), hash],
      ]);
      tab.duties.offerToPeers(5);
      expect(tab.mesh.sends).toHaveLength(2);
      expect(tab.duties.meshBytesSent).toBe(2 * payload(105).length);
    });
  });

  describe('witness', () => {
    it('reports the payloads it holds, fetching missing ones from the relay, with its checksum and verifier scores', async () => {
      vi.useFakeTimers();
      const tab = await memberAt(5, { relayTimeoutMs: 1000 });
      vi.spyOn(console, 'info').mockImplementation(() => {});
      await tab.duties.train(tab.server.round as Round, 0);
      const own = payload(105);
      const [b2, b3, b4] = [payload(2), payload(3), payload(4)];
      tab.inbox.receive(hashOf(b2), b2, 'peer', 5);
      commitsClosed(tab, [hashOf(own), hashOf(b2), hashOf(b3), hashOf(b4)], [{ slot: 1, verifiers: [tab.id, cid(3)], units: [7, 8] }]);
      tab.duties.maybeWitness();
      await flush();
      expect(tab.relayAsks).toEqual([hashOf(b3), hashOf(b4)]);
      tab.inbox.receive(hashOf(b3), b3, 'relay', 5);
      // b4 never comes: the witness goes without it once the relay times out.
      await vi.advanceTimersByTimeAsync(1000);
      await tab.settle();
      const verify = tab.worker.calls.find((c) => c.type === 'verify');
      expect(verify).toMatchObject({ step: 5, checks: [{ slot: 1, update: b2, unit: 7 }], maxReferences: 4 });
      expect(verify!.references).toEqual([
        { slot: 0, update: own },
        { slot: 1, update: b2 },
        { slot: 2, update: b3 },
      ]);
      expect(tab.socket.types()).toEqual(['commit', 'witness']);
      const w = tab.socket.sent[1] as Sent<'witness'>;
      expect(w).toMatchObject({ step: 5, held: '07', checksum: afterStep(4), scores: [{ slot: 1, score: 900 }] });
      const content = { runId: hexToBytes(tab.config.runId), step: 5, held: hexToBytes(w.held), checksum: hexToBytes(w.checksum), scores: w.scores };
      expect(verifyWitness(content, hexToBytes(w.signature), tab.identity.publicKey)).toBe(true);
      expect(tab.view.current.verified).toEqual({ checks: 1, ms: 7, recomputeMs: 3, maxRoundMs: 7 });
    });

    it('does not witness a round this tab is not at the step of', async () => {
      const tab = await memberAt(5);
      const slots = tab.server.round!.slots;
      tab.server.round = makeRound(6, slots);
      const b = payload(2);
      tab.inbox.receive(hashOf(b), b, 'peer', 6);
      commitsClosed(tab, [null, hashOf(b), null, null]);
      tab.duties.maybeWitness();
      await tab.settle();
      await flush();
      expect(tab.socket.sent).toEqual([]);
      expect(tab.worker.types()).not.toContain('verify');
    });

    it('waits for the draw, skips rounds without this tab, and witnesses once unless the socket was down', async () => {
      const tab = await memberAt(5);
      const b = payload(2);
      tab.inbox.receive(hashOf(b), b, 'peer', 5);
      commitsClosed(tab, [null, hashOf(b), null, null], null);
      tab.duties.maybeWitness();
      await tab.settle();
      expect(tab.socket.sent).toEqual([]);

      tab.server.round = { ...tab.server.round!, checks: [], slots: [cid(2), cid(3), cid(4), cid(5)] };
      tab.duties.maybeWitness();
      await tab.settle();
      expect(tab.socket.sent).toEqual([]);

      commitsClosed(tab, [null, hashOf(b), null, null]);
      tab.server.round = { ...tab.server.round!, slots: [tab.id, cid(2), cid(3), cid(4)] };
      tab.socket.up = false;
      tab.duties.maybeWitness();
      await tab.settle();
      await flush();
      tab.socket.up = true;
      tab.duties.maybeWitness();
      await tab.settle();
      await flush();
      tab.duties.maybeWitness();
      await tab.settle();
      await flush();
      expect(tab.socket.sent).toMatchObject([{ type: 'witness', step: 5, held: '02', scores: [] }]);
    });
  });

  describe('pipelined rounds', () => {
    /** Round `step` trains from `step - 1` while round `step - 1` is witnessed; this tab applied rounds before `step - 1`. */
    async function pipelinedAt(step: number) {
      const tab = await memberAt(step - 1);
      const slots = tab.server.round!.slots;
      tab.server.witnessing = { ...makeRound(step - 1, slots, { base: step - 2 }), closedAt: 1, checks: [] };
      tab.server.round = makeRound(step, slots, { base: step - 1 });
      return tab;
    }

    it('trains a round from the parameters one round stale', async () => {
      const tab = await pipelinedAt(6);
      await tab.duties.train(tab.server.round as Round, 0);
      expect(tab.worker.calls.find((c) => c.type === 'train')).toMatchObject({ step: 6 });
      expect(tab.socket.types()).toEqual(['commit']);
    });

    it('verifies and witnesses its round at the parameters it trained from before the apply that changes them', async () => {
      const tab = await pipelinedAt(6);
      vi.spyOn(console, 'info').mockImplementation(() => {});
      const round6 = tab.server.round as Round;
      tab.chain.enqueue(() => tab.duties.train(round6, 0));
      const prev = payload(40);
      tab.inbox.receive(hashOf(prev), prev, 'peer', 5);
      tab.chain.enqueue(() => tab.duties.applyAgreed(agreed(5, [hashOf(prev)])));
      await flush();
      // Round 6's commits are still open: its checks are unknown, so round 5's apply waits.
      expect(tab.worker.types()).toContain('train');
      expect(tab.worker.applied()).toEqual([]);
      const own = payload(106);
      const others = [payload(2), payload(3), payload(4)];
      for (const b of others) tab.inbox.receive(hashOf(b), b, 'peer', 6);
      tab.server.witnessing = { ...round6, commitments: [hashOf(own), ...others.map(hashOf)], closedAt: 2, checks: [{ slot: 2, verifiers: [tab.id], units: [0] }] };
      tab.server.round = makeRound(7, round6.slots, { base: 6 });
      tab.duties.onState();
      await tab.settle();
      await flush();
      expect(tab.worker.types().filter((t) => t !== 'plan' && t !== 'resume' && t !== 'load')).toEqual(['train', 'verify', 'apply']);
      expect(tab.worker.calls.find((c) => c.type === 'verify')).toMatchObject({ step: 6, checks: [{ slot: 2, update: others[1], unit: 0 }] });
      const w = tab.socket.sent.find((m) => m.type === 'witness') as Sent<'witness'>;
      // The checksum of the parameters round 6 trained from (after round 4), not of those after round 5.
      expect(w).toMatchObject({ step: 6, held: '0f', checksum: afterStep(4), scores: [{ slot: 2, score: 900 }] });
      expect(tab.replica.appliedStep).toBe(6);
    });

    it('verifies the round before first when the next one trains from the same parameters (the first round of a run)', async () => {
      const tab = await memberAt(0);
      vi.spyOn(console, 'info').mockImplementation(() => {});
      const slots = tab.server.round!.slots;
      await tab.duties.train(tab.server.round as Round, 0);
      const own = payload(100);
      const others = [payload(2), payload(3), payload(4)];
      for (const b of others) tab.inbox.receive(hashOf(b), b, 'peer', 0);
      // Round 0's commits closed: round 1 starts from the same parameters, and round 0's draw comes a moment later.
      const round0 = { ...(tab.server.round as Round), commitments: [hashOf(own), ...others.map(hashOf)], closedAt: 5 };
      tab.server.witnessing = round0;
      tab.server.round = makeRound(1, slots, { base: 0 });
      const training = tab.duties.train(tab.server.round, 0);
      await flush();
      expect(tab.worker.calls.filter((c) => c.type === 'train')).toHaveLength(1);
      tab.server.witnessing = { ...round0, checks: [{ slot: 1, verifiers: [tab.id], units: [0] }] };
      tab.duties.onState();
      await training;
      await flush();
      expect(tab.worker.types().filter((t) => t === 'train' || t === 'verify')).toEqual(['train', 'verify', 'train']);
      // Scored with its own round-0 update as a reference, not the round-1 update it trains next.
      expect(tab.worker.calls.find((c) => c.type === 'verify')!.references).toContainEqual({ slot: 0, update: own });
      expect(tab.socket.sent.find((m) => m.type === 'witness')).toMatchObject({ step: 0, scores: [{ slot: 1, score: 900 }] });
    });

    it('applies at once when it is no member of the round trained from those parameters', async () => {
      const tab = await pipelinedAt(6);
      tab.server.round = makeRound(6, [cid(2), cid(3)], { base: 5 });
      const prev = payload(41);
      tab.inbox.receive(hashOf(prev), prev, 'peer', 5);
      await tab.duties.applyAgreed(agreed(5, [hashOf(prev)]));
      expect(tab.worker.applied()).toEqual([5]);
    });

    it('stops waiting when the tab leaves', async () => {
      const tab = await pipelinedAt(6);
      await tab.duties.train(tab.server.round as Round, 0);
      const prev = payload(42);
      tab.inbox.receive(hashOf(prev), prev, 'peer', 5);
      const applying = tab.duties.applyAgreed(agreed(5, [hashOf(prev)]));
      await flush();
      expect(tab.worker.applied()).toEqual([]);
      tab.duties.stop();
      await applying;
      expect(tab.worker.applied()).toEqual([5]);
    });
  });

  describe('applyAgreed', () => {
    it('applies the agreed set with payloads it holds or gets from the relay, one round after the other', async () => {
      const tab = await memberAt(5);
      const [a, b] = [payload(20), payload(21)];
      tab.inbox.receive(hashOf(a), a, 'peer', 5);
      tab.chain.enqueue(() => tab.duties.applyAgreed(agreed(5, [hashOf(a), hashOf(b)])));
      const c = payload(22);
      tab.inbox.receive(hashOf(c), c, 'peer', 6);
      tab.chain.enqueue(() => tab.duties.applyAgreed(agreed(6, [hashOf(c)])));
      await flush();
      // Round 6's payload is here, but its apply waits for round 5's, which waits for the relay.
      expect(tab.relayAsks).toEqual([hashOf(b)]);
      expect(tab.worker.applied()).toEqual([]);
      tab.inbox.receive(hashOf(b), b, 'relay', 5);
      await tab.settle();
      expect(tab.worker.applied()).toEqual([5, 6]);
      expect(tab.worker.calls.filter((x) => x.type === 'apply').map((x) => x.updates)).toEqual([[a, b], [c]]);
      expect(tab.view.current).toMatchObject({ appliedStep: 7, checksum: afterStep(6) });
      expect(tab.errors).toEqual([]);
    });

    it('reads an agreed round from the coordinator (catch-up) when a payload of it never arrives, instead of failing', async () => {
      const tab = await memberAt(5, { relayTimeoutMs: 20 });
      vi.spyOn(console, 'warn').mockImplementation(() => {});
      const [held, lost] = [payload(40), payload(41)];
      tab.inbox.receive(hashOf(held), held, 'peer', 5);
      // The bucket's copy of `lost` failed its hash, and no peer sent it: the inbox never gets it.
      tab.source.rounds = [agreedRound(5, [held, lost])];
      tab.chain.enqueue(() => tab.duties.applyAgreed(agreed(5, [hashOf(held), hashOf(lost)])));
      await tab.settle();
      expect(tab.relayAsks).toEqual([hashOf(lost)]);
      expect(tab.source.agreedFrom).toContain(5);
      expect(tab.worker.calls.filter((x) => x.type === 'apply').map((x) => x.updates)).toEqual([[held, lost]]);
      expect(tab.view.current).toMatchObject({ appliedStep: 6 });
      expect(tab.errors).toEqual([]);
    });

    it('ignores rounds it has applied and any before it has parameters; replays missed rounds first', async () => {
      const tab = await memberAt(5);
      await tab.duties.applyAgreed(agreed(4, []));
      expect(tab.worker.applied()).toEqual([]);
      tab.source.rounds = [5, 6].map((s) => agreedRound(s));
      const live = payload(30);
      tab.inbox.receive(hashOf(live), live, 'peer', 7);
      await tab.duties.applyAgreed(agreed(7, [hashOf(live)]));
      expect(tab.worker.applied()).toEqual([5, 6, 7]);
      tab.replica.forget();
      await tab.duties.applyAgreed(agreed(8, []));
      expect(tab.worker.applied()).toEqual([5, 6, 7]);
    });
  });

  describe('uploadCheckpoint', () => {
    it('uploads a signed export when this tab is an uploader at that step, and only then', async () => {
      const tab = await memberAt(5);
      vi.spyOn(console, 'info').mockImplementation(() => {});
      await tab.duties.uploadCheckpoint(4);
      expect(tab.source.puts).toEqual([]);
      await tab.duties.uploadCheckpoint(5);
      expect(tab.source.puts).toMatchObject([{ step: 5, clientId: tab.id, bytes: payload(9, 64) }]);
      tab.server.clients[tab.id].joinSeq = 9; // two members joined before it
      await tab.duties.uploadCheckpoint(5);
      expect(tab.source.puts).toHaveLength(1);
      expect(tab.worker.types().filter((t) => t === 'export')).toHaveLength(1);
    });

    it('signs the checkpoint for its run and step, and only logs a refused upload', async () => {
      const tab = await memberAt(5);
      tab.source.putAnswer = () => Promise.reject(new Error('HTTP 409 already stored'));
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      await tab.duties.uploadCheckpoint(5);
      expect(verifyCheckpoint(payload(9, 64), tab.source.puts[0].signature, tab.identity.publicKey, { runId: hexToBytes(tab.config.runId), step: 5 })).toBe(true);
      expect(warn).toHaveBeenCalledWith('run client: could not upload the checkpoint of step 5: HTTP 409 already stored');
    });
  });
});

describe('heldBitmap', () => {
  it('sets bit i of byte i/8, LSB first, for each held commitment', () => {
    const hashes = Array.from({ length: 10 }, (_, i) => `h${i}`);
    const held = new Set(['h0', 'h3', 'h8']);
    expect([...heldBitmap([...hashes.slice(0, 9), null], (h) => held.has(h))]).toEqual([0b1001, 0b1]);
  });
});
