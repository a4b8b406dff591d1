/**
 * A rogue peer, as an attacker who read our source would write it: a full
 * member of the run with its own ed25519 key (the real CoordinatorSocket
 * authenticates it), that joins, takes its round assignment, commits and
 * uploads a well-formed payload for its slot (real codec bytes, its own step
 * and assigned batch range in the header, so every check of today's
 * coordinator passes), offers that payload over the real PeerMesh to every
 * peer in the round, and witnesses every round with a signed report. It has
 * no model and no GPU: its payloads come from e2e/rogue/payloads.ts.
 *
 * Kinds (what its payload is):
 * - random     random signs at random valid indices (distinct per block)
 * - constant   every sign the same
 * - copy       an established member's payload of this round, re-headed as its own
 * - replay     an update agreed in an earlier round (from /api/updates), re-headed;
 *              from nine rounds back (beyond the few recent rounds a cheaper check would cover)
 * - near-copy  a same-round copy with 10 % of its signs flipped
 * - colluder   one of a group that joins together: the first submits garbage, the
 *              others copies; each witnesses only the group's payloads as held,
 *              reports the group's one false checksum, and as a verifier scores
 *              the group +1000 and everyone else -1000
 *
 * A single rogue's witness is plausible: it holds every committed payload
 * (mesh or relay), copies the checksum the most established member reported
 * this round (round.witnesses is public in `state`), and scores at random.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { PeerMesh } from '../../src/net/peer-mesh';
import { decodeUpdateBundle } from '../../src/net/update-bundle';
import { commitment, generateKeyPair, signCommitment, type KeyPair } from '../../src/protocol/commitment';
import type { RunConfig } from '../../src/run/run-config';
import { witnessRound } from '../../src/run/state-machine';
import type { Round, RunState } from '../../src/run/types';
import { CoordinatorSocket } from '../../src/run-client/coordinator-socket';
import type { RunMessage, RunMessageOf } from '../../src/run-client/state-receiver';
import { constantUpdate, flipSigns, randomUpdate, reHead, rng, runShapes, type Head, type RunShapes } from './payloads';
import { slotsToVerify, witnessMessage, type Score } from './verification-wire';

export type RogueKind = 'random' | 'constant' | 'copy' | 'replay' | 'near-copy' | 'colluders';

export interface RogueOptions {
  /** ws(s)://host/ws of the coordinator. */
  socketUrl: string;
  kind: RogueKind;
  /** The key is derived from 32 bytes of this value (as server/test-client.ts does), so a test can come back with it. */
  seedByte: number;
  /** When given, the run the rogue expects (it refuses another). */
  runId?: string;
  /** For colluders: the seed bytes of the whole group, this one included. */
  colluderSeeds?: number[];
}

export interface RogueCommit {
  step: number;
  slot: number;
  hash: string;
  /** What the payload was made from: 'random', 'constant', 'copy of <id> <hash>', 'replay of step N <hash>'. */
  source: string;
  acked: boolean;
}

export interface RogueView {
  id: string;
  kind: RogueKind;
  status: 'connecting' | 'joining' | 'member' | 'ejected' | 'left';
  /** Steps of the rounds it had a slot in. */
  rounds: number[];
  committed: RogueCommit[];
  witnessed: { step: number; held: string; checksum: string; scores: Score[] }[];
  /** Errors the coordinator sent, in order. */
  errors: { code: string; message: string; step: number }[];
  resyncs: { step: number; checksum: string }[];
  points: number;
  /** Peers it sent its payloads to over WebRTC (count of completed sends). */
  meshSends: number;
  meshReceived: number;
  lastClose: string | null;
  log: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keyFor = (seedByte: number): KeyPair => generateKeyPair(new Uint8Array(32).fill(seedByte));
export const rogueId = (seedByte: number): string => bytesToHex(keyFor(seedByte).publicKey);

/** The false checksum every colluder of a group reports. */
const colluderChecksum = (group: string[]) => bytesToHex(sha256(new TextEncoder().encode(`colluders:${[...group].sort().join(',')}`)).slice(0, 8));

export class RogueClient {
  readonly id: string;
  private readonly keys: KeyPair;
  private readonly socket: CoordinatorSocket;
  private readonly rand: () => number;
  private readonly group: string[];
  private mesh: PeerMesh | null = null;
  private config: RunConfig | null = null;
  private shapes: RunShapes | null = null;
  private server: RunState | null = null;
  /** Payloads held, by hash (own, from the mesh, from the relay). */
  private readonly payloads = new Map<string, Uint8Array>();
  private readonly waiting = new Map<string, ((b: Uint8Array) => void)[]>();
  /** The step whose payload it is making or has sent, and the payload. */
  private producing = -1;
  private current: { step: number; hash: string; bytes: Uint8Array; signature: string } | null = null;
  private witnessing = -1;
  private lastChecksum: string | null = null;
  private stopped = false;
  readonly view: RogueView;

  constructor(private readonly opts: RogueOptions) {
    this.keys = keyFor(opts.seedByte);
    this.id = bytesToHex(this.keys.publicKey);
    this.rand = rng(opts.seedByte * 7919 + 17);
    this.group = opts.kind === 'colluders' ? (opts.colluderSeeds ?? [opts.seedByte]).map(rogueId) : [this.id];
    this.view = { id: this.id, kind: opts.kind, status: 'connecting', rounds: [], committed: [], witnessed: [], errors: [], resyncs: [], points: 0, meshSends: 0, meshReceived: 0, lastClose: null, log: [] };
    this.socket = new CoordinatorSocket(opts.socketUrl, this.keys, {
      open: () => this.note('authenticated'),
      close: (reason) => {
        this.view.lastClose = reason;
        if (reason === 'ejected') this.view.status = 'ejected';
      },
      message: (msg) => this.receive(msg),
      relayData: (hash, bytes) => this.got(hash, bytes),
    });
  }

  start(): void {
    this.socket.open();
  }

  stop(): void {
    this.stopped = true;
    this.socket.send({ type: 'leave' });
    this.socket.close();
    this.mesh?.destroy();
    this.mesh = null;
    if (this.view.status !== 'ejected') this.view.status = 'left';
  }

  private note(line: string): void {
    this.view.log.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
    if (this.view.log.length > 300) this.view.log.shift();
  }

  // ------------------------------------------------------------------ messages

  private receive(msg: RunMessage): void {
    if (this.stopped) return;
    switch (msg.type) {
      case 'welcome':
        return this.welcome(msg);
      case 'state':
        this.server = msg.state;
        this.view.points = msg.state.clients[this.id]?.points ?? this.view.points;
        if (msg.state.clients[this.id]?.status === 'member') this.view.status = 'member';
        return this.act();
      case 'round':
        return this.round(msg.round);
      case 'phase':
        return this.act();
      case 'ack':
        if (msg.of === 'commit') for (const c of this.view.committed) if (c.step === msg.step && c.hash === msg.hash) c.acked = true;
        return;
      case 'points':
        if (msg.clientId === this.id) this.view.points = msg.total;
        return;
      case 'resync':
        this.view.resyncs.push({ step: msg.step, checksum: msg.checksum });
        this.lastChecksum = msg.checksum;
        return;
      case 'signal':
        this.mesh?.onSignal(msg.from, msg.data);
        return;
      case 'error':
        this.view.errors.push({ code: msg.code, message: msg.message, step: this.server?.step ?? -1 });
        if (this.view.errors.length > 200) this.view.errors.shift();
        this.note(`error ${msg.code}: ${msg.message}`);
        if ((msg.code as string) === 'ejected') this.view.status = 'ejected';
        // Dropped for missing rounds: come straight back, as an honest tab does.
        if (msg.code === 'dropped') this.socket.send({ type: 'join' });
        return;
      case 'agreed':
      case 'hello':
        return;
    }
  }

  private welcome(msg: RunMessageOf<'welcome'>): void {
    if (this.opts.runId && msg.config.runId !== this.opts.runId) {
      this.note(`run ${msg.config.runId} is not the expected ${this.opts.runId}; leaving`);
      this.stop();
      return;
    }
    this.config = msg.config;
    this.shapes = runShapes(msg.config);
    this.server = msg.state;
    this.mesh ??= this.createMesh();
    const me = msg.state.clients[this.id];
    if (me?.status !== 'member' && me?.status !== 'joining') this.socket.send({ type: 'join' });
    this.view.status = me?.status === 'member' ? 'member' : 'joining';
    this.note(`welcome at step ${msg.state.step} (${msg.state.phase}); joining`);
    this.act();
  }

  private createMesh(): PeerMesh {
    const mesh = new PeerMesh({ localId: this.id, sendSignal: (to, data) => this.socket.send({ type: 'signal', to, data: data as never }) });
    mesh.on('payload', (_from, hash, bytes) => {
      this.view.meshReceived++;
      this.got(hash, bytes);
    });
    // A peer that connects late in the round still gets the round's payload offered.
    mesh.on('state', (peer, state) => {
      const c = this.current;
      if (state === 'connected' && c && this.server?.round?.step === c.step && this.server.round.slots.includes(peer)) this.offer(peer, c.bytes, c.hash);
    });
    mesh.on('error', (e) => this.note(`mesh: ${e.message}`));
    return mesh;
  }

  // ------------------------------------------------------------------ rounds

  private round(round: Round): void {
    if (!round.slots.includes(this.id)) return;
    this.view.rounds.push(round.step);
    this.view.status = 'member';
    for (const p of [...this.payloads.keys()]) if (this.payloads.size > 64) this.payloads.delete(p);
    for (const peer of round.slots) if (peer !== this.id && this.mesh && this.mesh.state(peer) === 'closed') this.mesh.connect(peer);
    this.act();
  }

  /** Looks at the latest state and does what the phase asks of a member: commit, then witness. */
  private act(): void {
    const s = this.server;
    const round = s?.round;
    if (!s || !round || this.stopped) return;
    // Pipelined, the round witnessed is the one before the training round.
    const witnessed = witnessRound(s);
    if (witnessed && witnessed.slots.includes(this.id) && this.witnessing < witnessed.step) {
      this.witnessing = witnessed.step;
      void this.witness(witnessed.step).catch((e: unknown) => this.note(`witnessing step ${witnessed.step}: ${String(e)}`));
    }
    const slot = round.slots.indexOf(this.id);
    if (slot < 0) return;
    if (s.phase === 'RoundTrain' && this.producing < round.step && round.commitments[slot] === null) {
      this.producing = round.step;
      void this.produce(round.step, slot).catch((e: unknown) => this.note(`producing step ${round.step}: ${String(e)}`));
    }
  }

  private async produce(step: number, slot: number): Promise<void> {
    const rs = this.shapes!;
    const a = this.server!.round!.assignments[slot];
    const head: Head = { step, start: a.start, count: a.count };
    let made: { bytes: Uint8Array; source: string } | null = null;
    try {
      made = await this.make(head, slot);
    } catch (e) {
      this.note(`step ${step}: ${String(e)}; sending random garbage instead`);
    }
    made ??= { bytes: randomUpdate(rs, head, this.rand), source: 'random (fallback)' };
    const round = this.server?.round;
    if (!round || round.step !== step || this.server!.phase !== 'RoundTrain') {
      this.note(`step ${step}: the round moved on before the payload was ready`);
      return;
    }
    this.commit(step, slot, made.bytes, made.source);
  }

  private async make(head: Head, slot: number): Promise<{ bytes: Uint8Array; source: string }> {
    const rs = this.shapes!;
    const kind = this.opts.kind;
    if (kind === 'random') return { bytes: randomUpdate(rs, head, this.rand), source: 'random' };
    if (kind === 'constant') return { bytes: constantUpdate(rs, head, this.rand, 1), source: 'constant +1' };
    if (kind === 'replay') return this.replay(head);
    if (kind === 'colluders' && this.group.indexOf(this.id) === 0) return { bytes: randomUpdate(rs, head, this.rand), source: 'colluder garbage' };
    const victim = await this.victimPayload(head.step, slot);
    if (kind === 'near-copy') return { bytes: flipSigns(rs, victim.bytes, head, 0.1, this.rand), source: `near-copy (10% flipped) of ${victim.author.slice(0, 8)} ${victim.hash}` };
    return { bytes: reHead(rs, victim.bytes, head), source: `copy of ${victim.author.slice(0, 8)} ${victim.hash}` };
  }

  /**
   * This round's payload of the most established other member: waits for its
   * commitment in `state` (round.commitments), then takes the bytes from the
   * mesh or the coordinator's relay.
   */
  private async victimPayload(step: number, mySlot: number): Promise<{ author: string; hash: string; bytes: Uint8Array }> {
    const deadline = Date.now() + (this.config?.maxRoundTrainTime ?? 45_000);
    for (;;) {
      const s = this.server!;
      const round = s.round;
      if (!round || round.step !== step || s.phase !== 'RoundTrain') throw new Error(`round ${step} closed before anyone committed`);
      const members = round.slots.filter((id, i) => i !== mySlot && !this.group.includes(id));
      const top = Math.max(0, ...members.map((id) => s.clients[id]?.agreedUpdates ?? 0));
      // Established: within two agreed updates of the most established member.
      const pick = round.slots.findIndex((id, i) => members.includes(id) && round.commitments[i] !== null && (s.clients[id]?.agreedUpdates ?? 0) >= top - 2);
      if (pick >= 0) {
        const hash = round.commitments[pick]!;
        return { author: round.slots[pick], hash, bytes: await this.payloadFor(hash, 10_000) };
      }
      if (Date.now() > deadline) throw new Error(`no established member committed in round ${step}`);
      await sleep(100);
    }
  }

  /** An update agreed nine rounds back (or the oldest there is), re-headed. */
  private async replay(head: Head): Promise<{ bytes: Uint8Array; source: string }> {
    const window = 8;
    const origin = this.opts.socketUrl.replace(/^ws/, 'http').replace(/\/ws$/, '');
    for (const from of [Math.max(0, head.step - window - 1), 0]) {
      const res = await fetch(`${origin}/api/updates?fromStep=${from}&limit=16`, { cache: 'no-store' });
      if (!res.ok) throw new Error(`GET /api/updates: HTTP ${res.status}`);
      const bundle = decodeUpdateBundle(new Uint8Array(await res.arrayBuffer()));
      for (const r of bundle.rounds) {
        const i = r.clients.findIndex((c) => c !== this.id);
        const j = i >= 0 ? i : r.clients.length - 1; // someone else's, or its own
        if (j < 0 || r.step >= head.step) continue;
        return { bytes: reHead(this.shapes!, r.payloads[j], head), source: `replay of step ${r.step} ${r.clients[j].slice(0, 8)} ${r.hashes[j]}` };
      }
    }
    throw new Error('no agreed update to replay yet');
  }

  private commit(step: number, slot: number, bytes: Uint8Array, source: string): void {
    const config = this.config!;
    const hash = commitment(bytes);
    const hashHex = bytesToHex(hash);
    const signature = bytesToHex(signCommitment(hash, this.keys.secretKey, { runId: hexToBytes(config.runId), step }));
    this.payloads.set(hashHex, bytes);
    this.current = { step, hash: hashHex, bytes, signature };
    this.socket.send({ type: 'commit', step, hash: hashHex, signature });
    this.socket.sendPayload({ type: 'relayPut', step, hash: hashHex }, bytes);
    this.view.committed.push({ step, slot, hash: hashHex, source, acked: false });
    this.note(`step ${step}: committed ${hashHex.slice(0, 12)} (${source})`);
    for (const peer of this.server!.round!.slots) if (peer !== this.id) this.offer(peer, bytes, hashHex);
  }

  private offer(peer: string, bytes: Uint8Array, hash: string): void {
    if (!this.mesh) return;
    if (this.mesh.state(peer) === 'closed') this.mesh.connect(peer);
    this.mesh
      .send(peer, bytes, hash)
      .then(() => this.view.meshSends++)
      .catch((e: unknown) => this.note(`offer to ${peer.slice(0, 8)}: ${String(e)}`));
  }

  // ------------------------------------------------------------------ witness

  private async witness(step: number): Promise<void> {
    const isColluder = this.opts.kind === 'colluders';
    let round = witnessRound(this.server!)!;
    const slots = round.slots.length;
    // Hold what there is to hold (a colluder only cares for the group's).
    const wanted = round.commitments.map((h, i) => (h !== null && (!isColluder || this.group.includes(round.slots[i])) ? h : null));
    await Promise.all(wanted.map((h) => (h ? this.payloadFor(h, 5_000).catch(() => null) : null)));
    const checksum = isColluder ? colluderChecksum(this.group) : await this.borrowedChecksum(step);
    round = witnessRound(this.server!) ?? round;
    if (round.step !== step || witnessRound(this.server!) === null) {
      this.note(`step ${step}: witness phase over before the report was ready`);
      return;
    }
    const held = new Uint8Array(Math.ceil(slots / 8));
    wanted.forEach((h, i) => {
      if (h !== null && this.payloads.has(h)) held[i >> 3] |= 1 << (i & 7);
    });
    const scores: Score[] = slotsToVerify(round, this.id).map((slot) => ({
      slot,
      score: isColluder ? (this.group.includes(round.slots[slot]) ? 1000 : -1000) : Math.floor(this.rand() * 2001) - 1000,
    }));
    const msg = witnessMessage({ round, runId: this.config!.runId, secretKey: this.keys.secretKey, held, checksum, scores });
    this.socket.send(msg);
    this.view.witnessed.push({ step, held: bytesToHex(held), checksum, scores });
    this.note(`step ${step}: witnessed held ${bytesToHex(held)} checksum ${checksum} scores ${JSON.stringify(scores)}`);
  }

  /** The checksum the most established other member reported this round (witness reports are public), waiting a while for one. */
  private async borrowedChecksum(step: number): Promise<string> {
    const deadline = Date.now() + Math.min(8_000, (this.config?.roundWitnessTime ?? 15_000) / 2);
    for (;;) {
      const s = this.server!;
      const round = witnessRound(s);
      if (round && round.step === step) {
        let best: { checksum: string; weight: number } | null = null;
        round.witnesses.forEach((w, i) => {
          const author = round.slots[i];
          if (!w || author === this.id) return;
          const weight = s.clients[author]?.agreedUpdates ?? 0;
          if (!best || weight > best.weight) best = { checksum: w.checksum, weight };
        });
        const top = Math.max(0, ...round.slots.filter((id) => id !== this.id).map((id) => s.clients[id]?.agreedUpdates ?? 0));
        const found = best as { checksum: string; weight: number } | null;
        if (found && (found.weight >= top - 2 || Date.now() > deadline)) {
          this.lastChecksum = found.checksum;
          return found.checksum;
        }
      }
      if (Date.now() > deadline) return this.lastChecksum ?? '0'.repeat(16);
      await sleep(100);
    }
  }

  // ------------------------------------------------------------------ payloads

  private got(hash: string, bytes: Uint8Array): void {
    if (bytesToHex(commitment(bytes)) !== hash) return;
    this.payloads.set(hash, bytes);
    for (const f of this.waiting.get(hash) ?? []) f(bytes);
    this.waiting.delete(hash);
  }

  private payloadFor(hash: string, timeoutMs: number): Promise<Uint8Array> {
    const held = this.payloads.get(hash);
    if (held) return Promise.resolve(held);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`payload ${hash.slice(0, 12)} did not arrive within ${timeoutMs} ms`)), timeoutMs);
      const list = this.waiting.get(hash) ?? [];
      list.push((b) => {
        clearTimeout(timer);
        resolve(b);
      });
      this.waiting.set(hash, list);
      this.socket.send({ type: 'relayGet', hash });
    });
  }
}
